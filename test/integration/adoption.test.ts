/**
 * Adoption for real: the program's local-registry lookup (one tags/list per repository, then the
 * digest) runs against the real registry, and the program under mocks adopts a pushed build only
 * when it carries its smoke-test marker; an unmarked or missing build is built.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { FakeRegistry } from "../fakeRegistry";
import { runProgram, RunResult } from "../harness";
import { CLI_BIN, ensureBuiltCli } from "../builtCli";
import { markerTag, parseTag } from "../../lib/images/tags";
import { docker, IntegrationEnv, push, useIntegrationEnv } from "./env";
import { fixtureStack } from "./fixtureStack";

const IMAGE = "docker-build:index:Image";

describe("integration: adoption through the program's lookup against a real registry", function () {
    this.timeout(10 * 60_000);
    const getEnv = useIntegrationEnv();
    before(() => ensureBuiltCli());

    /** The real network for the program's local-registry client (the unit harness injects an in-memory one). */
    const realRegistry = { fetch: (url: string, init?: unknown) => fetch(url, init as RequestInit) } as unknown as FakeRegistry;
    const program = (env: IntegrationEnv) => runProgram({ configYaml: fixtureStack(env), env: { MLCI_REBUILD_EPOCH: "2026-11-22" }, localRegistry: realRegistry });
    const builtNames = (r: RunResult) => r.byType(IMAGE).map((b) => b.name).sort();

    it("a missing tag builds, an unmarked build is rebuilt under a forced tag, a marked build is adopted", async () => {
        const env = getEnv();
        const py = env.pythonVersion;
        const first = await program(env);
        assert.deepEqual(builtNames(first), [`child-py${py}-build`, `parent-py${py}-build`], "an empty registry: everything builds");
        const parent = first.outputs.images[`parent-py${py}`];
        const contentTag: string = parent.contentTag;
        const parsed = parseTag(contentTag)!;
        assert.equal(parsed.shape, "content");

        // Pushed under its content tag but never smoke-tested (no marker): not adopted.
        const repository = `${env.namespace}/parent`;
        const pushed = `${env.registry}/${repository}:${contentTag}`;
        docker(env, ["tag", env.busyboxImage, pushed]);
        const digest = push(env, pushed);
        const unmarked = await program(env);
        const parentBuild = unmarked.one(IMAGE, `parent-py${py}-build`);
        assert.match(parentBuild.inputs.tags[0], new RegExp(`:${parsed.cell.replace(/\./g, "\\.")}-f${parsed.hash}-r1$`), "rebuilt under the next forced tag, never onto the content tag");

        // The marker on the same digest (what promotion does after a passing smoke test): adopted.
        const r = spawnSync(process.execPath, [CLI_BIN, "retag", `${env.registry}/${repository}@${digest}`, markerTag(parsed.cell, parsed.hash!)], { encoding: "utf8", env: { ...process.env, MLCI_REGISTRY_AUTH: "" } });
        assert.equal(r.status, 0, r.stderr);
        const marked = await program(env);
        assert.deepEqual(builtNames(marked), [`child-py${py}-build`], "the parent is adopted, only the child builds");
        assert.equal(marked.outputs.images[`parent-py${py}`].digest, digest, "the adopted digest is the registry's");
        const child = marked.one(IMAGE, `child-py${py}-build`);
        assert.equal(child.inputs.buildArgs.BASE_IMAGE, `localhost:${env.registry.split(":")[1]}/${repository}:${contentTag}@${digest}`, "the child builds FROM the adopted parent's digest");
    });
});
