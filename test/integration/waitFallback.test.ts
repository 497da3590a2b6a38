/**
 * `ci-images wait --fallback latest` and `status --max-age` against the real registry: a checkout
 * whose content tag is not built gets the promoted `-latest` pinned to the digest the registry reports
 * (manifest HEADs on registry:2), and the promotion's age comes from the real image config.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { planStackFile } from "../../lib/stackPlan";
import { CLI_BIN, ensureBuiltCli } from "../builtCli";
import { build, IntegrationEnv, PROJECT_ROOT, push, registryDigest, useIntegrationEnv } from "./env";
import { FIXTURES, fixtureStackYaml, parentFamily, registryPort } from "./fixtureStack";

/** One weekly-rebuilt family from the parent fixture, in its own namespace. */
function fallbackStack(env: IntegrationEnv): string {
    return fixtureStackYaml({
        pythonVersion: env.pythonVersion,
        families: [{ ...parentFamily("nightly", "hello"), dateRebuilt: true }],
        prefix: `${env.namespace}-fb`,
        port: registryPort(env),
        smokeTest: false,
    });
}

describe("integration: wait --fallback latest and status --max-age on the real registry", function () {
    this.timeout(10 * 60_000);
    const getEnv = useIntegrationEnv();
    before(() => ensureBuiltCli());

    function cli(env: IntegrationEnv, root: string, args: string[]) {
        const r = spawnSync(process.execPath, [CLI_BIN, ...args, "--stack", "it", "--registry", env.registry], {
            cwd: root,
            encoding: "utf8",
            timeout: 5 * 60_000,
            env: { ...env.processEnv, XDG_CACHE_HOME: path.join(root, ".xdg"), MLCI_REGISTRY_AUTH: "" },
        });
        return { code: r.status, stdout: r.stdout, stderr: r.stderr };
    }

    it("falls back to the promoted -latest by digest; without the flag it fails; the promotion is dated by its config", async () => {
        const env = getEnv();
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "mlci-fallback-"));
        try {
            for (const rel of ["Pulumi.yaml", FIXTURES]) fs.cpSync(path.join(PROJECT_ROOT, rel), path.join(root, rel), { recursive: true });
            fs.writeFileSync(path.join(root, "Pulumi.it.yaml"), fallbackStack(env));
            const plan = await planStackFile(root, "it", { env: {}, useHashCache: false });
            assert.equal(plan.images.length, 1);
            const image = plan.images[0];
            // Last week's promotion: a build of other content, under -latest only (this checkout's tag is absent).
            const dockerfile = path.join(root, "Dockerfile.older");
            fs.writeFileSync(dockerfile, `FROM ${env.busyboxImage}\nRUN echo older > /older\n`);
            const latestRef = `${env.registry}/${image.repositoryName}:${image.latestTag}`;
            build(env, { context: root, dockerfile, tag: latestRef });
            const digest = push(env, latestRef);
            assert.equal(await registryDigest(env, image.repositoryName, image.tag), undefined, "the content tag is not built");

            const fell = cli(env, root, ["wait", image.name, "--fallback", "latest"]);
            assert.equal(fell.code, 0, fell.stderr);
            assert.equal(fell.stdout, `${latestRef}@${digest}\n`);
            assert.match(fell.stderr, /ci-images: warning: .*is not built and tested yet; using the promoted/);

            const strict = cli(env, root, ["wait", image.name, "--timeout", "2s", "--interval", "1s"]);
            assert.equal(strict.code, 1);
            assert.equal(strict.stdout, "");

            const fresh = cli(env, root, ["status", "--max-age", "8d", "--json"]);
            assert.equal(fresh.code, 0, fresh.stderr);
            const [promotion] = JSON.parse(fresh.stdout).promotions;
            assert.equal(promotion.digest, digest);
            assert.ok(promotion.ageSeconds !== null && promotion.ageSeconds < 3600, JSON.stringify(promotion));
            const tooOld = cli(env, root, ["status", "--max-age", "1ms"]);
            assert.equal(tooOld.code, 1, tooOld.stdout);
            assert.match(tooOld.stderr, /the promoted \S+-latest was built \S+ ago, over --max-age 1ms/);
        } finally {
            fs.rmSync(root, { recursive: true, force: true });
        }
    });
});
