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

    it("without a login (localhost) the config has no auths and is a throwaway dir, not the caller's", () => {
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

describe("scripts/with-registry-auth.sh keeps the caller's Docker context (#27 seam 7)", () => {
    const HOST = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
    /** A caller's Docker config as Docker Desktop or colima leave it: a current context, helpers, a store, a plugin dir. */
    function callerConfig(): string {
        const dir = fs.mkdtempSync(path.join(require("os").tmpdir(), "mlci-caller-docker-"));
        fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify({
            currentContext: "colima",
            credsStore: "desktop",
            credHelpers: { "gcr.io": "gcloud", [HOST]: "ecr-login" },
            auths: { "ghcr.io": { auth: "b3RoZXI6dG9rZW4=" }, [HOST]: {} },
            features: { buildkit: true },
        }));
        fs.mkdirSync(path.join(dir, "contexts", "meta", "abc"), { recursive: true });
        fs.writeFileSync(path.join(dir, "contexts", "meta", "abc", "meta.json"), '{"Name":"colima"}');
        fs.mkdirSync(path.join(dir, "cli-plugins"));
        fs.writeFileSync(path.join(dir, "cli-plugins", "docker-buildx"), "#!/bin/sh\n");
        return dir;
    }
    const probe = 'echo "dir=$DOCKER_CONFIG"; cat "$DOCKER_CONFIG/config.json"; cat "$DOCKER_CONFIG/contexts/meta/abc/meta.json"; echo; ls "$DOCKER_CONFIG/cli-plugins"; echo "host=${DOCKER_HOST:-} context=${DOCKER_CONTEXT:-}"';

    it("keeps currentContext, the contexts and plugins, other registries' helpers and logins; only this registry's auth is added", () => {
        const caller = callerConfig();
        const before = fs.readFileSync(path.join(caller, "config.json"), "utf8");
        const r = run({ DOCKER_CONFIG: caller, MLCI_REGISTRY_HOST: HOST, MLCI_REGISTRY_AUTH: "AWS:secret-token", DOCKER_HOST: "unix:///tmp/colima.sock", DOCKER_CONTEXT: "colima" }, probe);
        assert.equal(r.status, 0, r.stderr);
        const lines = r.stdout.split("\n");
        const config = JSON.parse(lines[1]);
        assert.equal(config.currentContext, "colima");
        assert.deepEqual(config.credHelpers, { "gcr.io": "gcloud" }, "this registry's helper would win over the inline auth; the others stay");
        assert.equal(config.credsStore, undefined, "a credsStore would be asked instead of the inline auth");
        assert.deepEqual(config.auths, { "ghcr.io": { auth: "b3RoZXI6dG9rZW4=" }, [HOST]: { auth: Buffer.from("AWS:secret-token").toString("base64") } });
        assert.deepEqual(config.features, { buildkit: true });
        assert.equal(lines[2], '{"Name":"colima"}', "the contexts store is reachable");
        assert.match(r.stdout, /^docker-buildx$/m, "the CLI plugins (buildx) are reachable");
        assert.match(r.stdout, /^host=unix:\/\/\/tmp\/colima.sock context=colima$/m);
        assert.ok(r.dir !== caller && !fs.existsSync(r.dir!), "a throwaway dir, removed");
        assert.equal(fs.readFileSync(path.join(caller, "config.json"), "utf8"), before, "the caller's config is untouched");
        assert.ok(fs.existsSync(path.join(caller, "contexts", "meta", "abc", "meta.json")), "removing the throwaway dir keeps the caller's contexts");
        assert.ok(!r.stdout.includes("secret-token"));
        fs.rmSync(caller, { recursive: true, force: true });
    });

    it("reads $HOME/.docker when DOCKER_CONFIG is unset, and works with no caller config at all", () => {
        const home = fs.mkdtempSync(path.join(require("os").tmpdir(), "mlci-home-"));
        fs.mkdirSync(path.join(home, ".docker"));
        fs.writeFileSync(path.join(home, ".docker", "config.json"), JSON.stringify({ currentContext: "desktop-linux" }));
        const r = run({ HOME: home, MLCI_REGISTRY_HOST: HOST, MLCI_REGISTRY_AUTH: "AWS:t" });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(JSON.parse(r.stdout.split("\n")[1]).currentContext, "desktop-linux");
        const none = run({ HOME: path.join(home, "missing"), MLCI_REGISTRY_HOST: HOST, MLCI_REGISTRY_AUTH: "AWS:t" });
        assert.equal(none.status, 0, none.stderr);
        assert.deepEqual(JSON.parse(none.stdout.split("\n")[1]), { auths: { [HOST]: { auth: Buffer.from("AWS:t").toString("base64") } } });
        fs.rmSync(home, { recursive: true, force: true });
    });

    it("a caller config that is not JSON fails with one line naming it, before the command runs", () => {
        const caller = fs.mkdtempSync(path.join(require("os").tmpdir(), "mlci-caller-bad-"));
        fs.writeFileSync(path.join(caller, "config.json"), "{not json");
        const r = run({ DOCKER_CONFIG: caller, MLCI_REGISTRY_HOST: HOST, MLCI_REGISTRY_AUTH: "AWS:t" }, "echo ran");
        assert.notEqual(r.status, 0);
        assert.ok(!r.stdout.includes("ran"));
        assert.match(r.stderr, new RegExp(`${caller}/config.json`));
        fs.rmSync(caller, { recursive: true, force: true });
    });
});
