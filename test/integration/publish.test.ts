/**
 * `ci-images publish` for real: the built CLI builds a parent → child fixture on the real engine
 * (docker buildx bake where buildx exists, else `DOCKER_BUILDKIT=1 docker build --network host`),
 * pushes to the real registry, runs docker/test_image.sh by digest and marks the builds; a second
 * run builds nothing; `status` and `wait` see the builds; the program under mocks then adopts both
 * builds instead of building them.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { markerTag, parseTag } from "../../lib/images/tags";
import { CLI_BIN, ensureBuiltCli } from "../builtCli";
import { FakeRegistry } from "../fakeRegistry";
import { runProgram } from "../harness";
import { docker, IntegrationEnv, PROJECT_ROOT, registryDigest, useIntegrationEnv } from "./env";
import { FIXTURES, fixtureStackYaml, parentFamily, registryPort, smokeFamily } from "./fixtureStack";

/** A stack whose `base` is the parent fixture and whose `stable` is the fake-torch fixture built FROM it. */
function publishStack(env: IntegrationEnv): string {
    return fixtureStackYaml({
        pythonVersion: env.pythonVersion,
        families: [parentFamily("base", "hello from the parent"), smokeFamily("stable", "base")],
        prefix: `${env.namespace}-pub`,
        port: registryPort(env),
    });
}

/** A checkout with just what publish reads: the project file, the fixtures, the smoke test and its login wrapper. */
function fixtureCheckout(env: IntegrationEnv): string {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "mlci-publish-"));
    for (const rel of ["Pulumi.yaml", FIXTURES, "docker/test_image.sh", "scripts/with-registry-auth.sh"]) {
        fs.cpSync(path.join(PROJECT_ROOT, rel), path.join(root, rel), { recursive: true });
    }
    fs.writeFileSync(path.join(root, "Pulumi.it.yaml"), publishStack(env));
    return root;
}

interface Published {
    name: string;
    action: string;
    tag: string;
    ref: string | null;
    smokeTested: boolean;
}

describe("integration: ci-images publish on a real engine and registry", function () {
    this.timeout(15 * 60_000);
    const getEnv = useIntegrationEnv();
    before(() => ensureBuiltCli());

    function cli(env: IntegrationEnv, root: string, args: string[]) {
        const r = spawnSync(process.execPath, [CLI_BIN, ...args], {
            cwd: root,
            encoding: "utf8",
            timeout: 10 * 60_000,
            env: { ...env.processEnv, MLCI_DOCKER: env.dockerClient, DOCKER: env.dockerClient, XDG_CACHE_HOME: path.join(root, ".xdg"), PULUMI_STACK: "it", MLCI_REGISTRY_AUTH: "" },
        });
        return { code: r.status, stdout: r.stdout, stderr: r.stderr };
    }

    it("builds and tests what is missing, parents first; a second run builds nothing; pulumi up adopts both", async () => {
        const env = getEnv();
        const root = fixtureCheckout(env);
        const py = env.pythonVersion;
        const first = cli(env, root, ["publish", "--registry", env.registry, "--json"]);
        assert.equal(first.code, 0, `${first.stderr}\n${first.stdout}`);
        const report = JSON.parse(first.stdout) as { images: Published[]; builder: string };
        assert.deepEqual(report.images.map((i) => [i.name, i.action, i.smokeTested]), [[`base-py${py}`, "built", true], [`stable-py${py}`, "built", true]]);
        assert.match(first.stderr, /PASS torch/, "the smoke test ran docker/test_image.sh");

        const tags = JSON.parse(cli(env, root, ["tags", "--json"]).stdout).images as { name: string; repository: string; tag: string }[];
        for (const image of tags) {
            const built = report.images.find((i) => i.name === image.name)!;
            assert.equal(built.tag, image.tag, "the first build pushes the content tag");
            const digest = await registryDigest(env, image.repository, image.tag);
            assert.equal(built.ref, `${env.registry}/${image.repository}:${image.tag}@${digest}`);
            const parsed = parseTag(image.tag)!;
            assert.equal(await registryDigest(env, image.repository, markerTag(parsed.cell, parsed.hash!)), digest, `${image.name}: marked tested on the same digest`);
            assert.equal(await registryDigest(env, image.repository, `${parsed.cell}-latest`), undefined, "-latest is left to pulumi up");
        }
        // The child really is built FROM the parent: the parent's file is in it.
        const stable = report.images[1].ref!;
        assert.equal(docker(env, ["run", "--rm", "--network", "none", stable, "cat", "/opt/parent/greeting"]).trim(), "hello from the parent");

        // status and wait see publish's builds in the real registry.
        const status = cli(env, root, ["status", "--registry", env.registry, "--json"]);
        assert.equal(status.code, 0, status.stderr);
        assert.deepEqual(
            JSON.parse(status.stdout).images.map((i: { name: string; state: string; latest: boolean; build: { digest: string; ageSeconds: number } }) => [i.name, i.state, i.latest, `${i.build.digest}`, i.build.ageSeconds < 3600]),
            report.images.map((i) => [i.name, "tested", false, i.ref!.split("@")[1], true]),
        );
        const waited = cli(env, root, ["wait", `stable-py${py}`, "--registry", env.registry, "--timeout", "1m"]);
        assert.equal(waited.code, 0, waited.stderr);
        assert.equal(waited.stdout, `${report.images[1].ref}\n`, "wait prints only the tested build's digest-pinned ref");

        const second = cli(env, root, ["publish", "--registry", env.registry, "--json"]);
        assert.equal(second.code, 0, second.stderr);
        const again = JSON.parse(second.stdout) as { images: Published[] };
        assert.deepEqual(again.images.map((i) => [i.name, i.action, i.ref]), report.images.map((i) => [i.name, "skipped", i.ref]), "a second run builds nothing");
        assert.doesNotMatch(second.stderr, /^build /m);

        // `pulumi up` (the program under mocks, its lookup against the real registry) adopts both builds.
        const realRegistry = { fetch: (url: string, init?: unknown) => fetch(url, init as RequestInit) } as unknown as FakeRegistry;
        const program = await runProgram({ configYaml: publishStack(env), env: { MLCI_REBUILD_EPOCH: "2026-11-22" }, localRegistry: realRegistry });
        assert.deepEqual(program.byType("docker-build:index:Image"), [], "nothing to build: publish's builds are adopted");
        assert.deepEqual(program.outputs.builtImages, []);
        for (const image of report.images) assert.equal(`${env.registry}/${program.outputs.images[image.name].ref.split("/").slice(1).join("/")}`, image.ref, `${image.name}: the program's ref is publish's build`);
    });

    it("a failing smoke test fails publish naming the image and leaves that build pushed but unmarked", async () => {
        const env = getEnv();
        const root = fixtureCheckout(env);
        const file = path.join(root, "Pulumi.it.yaml");
        fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace(`prefix: ${env.namespace}-pub`, `prefix: ${env.namespace}-fail`));
        // The family's smoke-test import is broken in the child's context.
        fs.writeFileSync(path.join(root, FIXTURES, "smoke", "site", "goodmod", "__init__.py"), "raise ImportError('broken on purpose')\n");
        const r = cli(env, root, ["publish", "--registry", env.registry]);
        assert.equal(r.code, 1, r.stdout);
        assert.match(r.stderr, new RegExp(`ci-images publish: smoke test of stable-py${env.pythonVersion.replace(".", "\\.")} \\(.*\\) failed: .*without its marker`));
        const tags = JSON.parse(cli(env, root, ["tags", "--json"]).stdout).images as { name: string; repository: string; tag: string }[];
        for (const image of tags) {
            const parsed = parseTag(image.tag)!;
            const digest = await registryDigest(env, image.repository, image.tag);
            assert.ok(digest, `${image.name} pushed`);
            const marker = await registryDigest(env, image.repository, markerTag(parsed.cell, parsed.hash!));
            if (image.name.startsWith("base-")) assert.equal(marker, digest, "the parent passed and stays published, tested");
            else assert.equal(marker, undefined, "the child is not marked: pulumi up or the next publish rebuilds it");
        }
    });
});
