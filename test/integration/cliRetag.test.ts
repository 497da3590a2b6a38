import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { CLI_BIN, ensureBuiltCli } from "../builtCli";
import { docker, push, registryDigest, useIntegrationEnv } from "./env";

describe("integration: ci-images retag on a real registry (the promotion step)", function () {
    this.timeout(5 * 60_000);
    const getEnv = useIntegrationEnv();
    before(() => ensureBuiltCli());

    function retag(...args: string[]) {
        const r = spawnSync(process.execPath, [CLI_BIN, "retag", ...args], { encoding: "utf8", env: { ...process.env, MLCI_REGISTRY_AUTH: "" }, timeout: 60_000 });
        return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    }

    it("puts the marker and -latest on the pushed digest without changing it, and a re-run changes nothing", async () => {
        const env = getEnv();
        const repository = `${env.namespace}/retag`;
        const content = `${env.registry}/${repository}:cuda13.2-py3.12-h0123456789ab`;
        docker(env, ["tag", env.busyboxImage, content]);
        const digest = push(env, content);
        const ref = `${env.registry}/${repository}@${digest}`;
        const first = retag(ref, "cuda13.2-py3.12-ok0123456789ab", "cuda13.2-py3.12-latest");
        assert.equal(first.status, 0, first.stderr);
        assert.equal(await registryDigest(env, repository, "cuda13.2-py3.12-ok0123456789ab"), digest);
        assert.equal(await registryDigest(env, repository, "cuda13.2-py3.12-latest"), digest);
        assert.match(first.stdout, /^tagged .*:cuda13\.2-py3\.12-latest -> sha256:/m);
        const second = retag(ref, "cuda13.2-py3.12-latest");
        assert.equal(second.status, 0, second.stderr);
        assert.match(second.stdout, /^unchanged /m);
    });

    it("a digest the registry does not have exits 1 naming the reference", () => {
        const env = getEnv();
        const missing = `sha256:${"0".repeat(64)}`;
        const r = retag(`${env.registry}/${env.namespace}/retag@${missing}`, "x-latest");
        assert.equal(r.status, 1, r.stdout + r.stderr);
        assert.match(r.stderr, new RegExp(`ci-images: retag ${env.registry}/${env.namespace}/retag@${missing}: `));
    });
});
