import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

const SCRIPT = path.resolve(__dirname, "..", "scripts", "with-registry-auth.sh");

/** Runs the wrapper around a probe that prints its DOCKER_CONFIG, the config file and whether the secret reached it. */
function run(env: Record<string, string>, probe = 'echo "dir=$DOCKER_CONFIG"; cat "$DOCKER_CONFIG/config.json"; echo "auth-env=${MLCI_REGISTRY_AUTH:-unset}"') {
    const r = spawnSync("sh", [SCRIPT, "sh", "-c", probe], { env: { PATH: "/usr/bin:/bin", ...env }, encoding: "utf8" });
    const dir = /^dir=(.*)$/m.exec(r.stdout)?.[1];
    return { ...r, dir };
}

describe("scripts/with-registry-auth.sh: the smoke test's own registry login", () => {
    it("writes a throwaway DOCKER_CONFIG with the login, hides the secret from the command, and removes the dir", () => {
        const r = run({ MLCI_REGISTRY_HOST: "123456789012.dkr.ecr.us-east-1.amazonaws.com", MLCI_REGISTRY_AUTH: "AWS:secret-token" });
        assert.equal(r.status, 0, r.stderr);
        const config = JSON.parse(r.stdout.split("\n")[1]);
        assert.deepEqual(config, { auths: { "123456789012.dkr.ecr.us-east-1.amazonaws.com": { auth: Buffer.from("AWS:secret-token").toString("base64") } } });
        assert.match(r.stdout, /^auth-env=unset$/m);
        assert.ok(!r.stdout.includes("secret-token") && !r.stderr.includes("secret-token"));
        assert.ok(r.dir && !fs.existsSync(r.dir), `${r.dir} must be removed`);
    });

    it("without a login (localhost) the config is empty and HOME's docker config is not used", () => {
        const r = run({ MLCI_REGISTRY_HOST: "localhost:5000", MLCI_REGISTRY_AUTH: "" });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(JSON.parse(r.stdout.split("\n")[1]), { auths: {} });
        assert.ok(r.dir && !r.dir.includes(".docker"));
    });

    it("passes the command's exit status through and still removes the dir", () => {
        const r = run({ MLCI_REGISTRY_HOST: "h", MLCI_REGISTRY_AUTH: "u:p" }, 'echo "dir=$DOCKER_CONFIG"; exit 3');
        assert.equal(r.status, 3);
        assert.ok(r.dir && !fs.existsSync(r.dir));
    });
});
