/**
 * Dropping the GitHub block deletes its resources through the provider as the STATE holds it (pulumi/pulumi#20404,
 * pulumi/pulumi-github#203), and `retainOnDelete` is read from the state too (pulumi/pulumi#13428). With no token in
 * the provider's state (#27 seam 5), the deletes use the GITHUB_TOKEN of the run that removes the block; the
 * environments (App key, reviewers, branch policy) are retained from their first create. docs/pipelines.md spells out
 * the two steps.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { PROJECT_ROOT, RecordedResource, runProgram } from "./harness";

const ENV = { MLCI_REBUILD_EPOCH: "2026-11-22" };
const isGithub = (r: RecordedResource) => r.type.startsWith("github:") || r.type === "pulumi:providers:github";

describe("removing the GitHub wiring in two steps (pulumi/pulumi#20404, #13428)", function () {
    this.timeout(120_000);

    it("step 1 (github.enabled: false) needs no token in config or state, deletes the values and retains the environments", async () => {
        const before = await runProgram({ stack: "prod", env: ENV });
        const state = before.resources.filter(isGithub);
        assert.strictEqual(state.find((r) => r.type === "pulumi:providers:github")!.inputs.token, undefined, "no token in the provider's state to replay");
        const after = await runProgram({ stack: "prod", env: { ...ENV, GITHUB_TOKEN: undefined }, githubToken: null, overrides: { github: { enabled: false } } });
        assert.deepStrictEqual(after.resources.filter(isGithub).map((r) => r.urn), [], "the program registers no GitHub resource");
        // The engine deletes what is no longer registered, unless its state says retainOnDelete.
        const gone = state.filter((r) => r.custom && r.type !== "pulumi:providers:github");
        const retained = gone.filter((r) => r.retainOnDelete).map((r) => r.type.split(":").pop()).sort();
        assert.deepStrictEqual([...new Set(retained)], ["RepositoryEnvironment", "RepositoryEnvironmentDeploymentPolicy"]);
        const deleted = gone.filter((r) => !r.retainOnDelete).map((r) => r.type.split(":").pop());
        assert.deepStrictEqual([...new Set(deleted)].sort(), ["ActionsEnvironmentSecret", "ActionsEnvironmentVariable", "ActionsSecret", "ActionsVariable"]);
    });

    it("docs/pipelines.md gives the two steps and --run-program for refresh and destroy", () => {
        const doc = fs.readFileSync(path.join(PROJECT_ROOT, "docs", "pipelines.md"), "utf8");
        const section = doc.slice(doc.indexOf("### Removing the GitHub wiring"));
        assert.ok(doc.includes("### Removing the GitHub wiring"), "the section exists");
        for (const text of ["mlci:github.enabled: false", "GITHUB_TOKEN", "pulumi refresh --run-program", "pulumi destroy --run-program", "pulumi/pulumi#20404", "retainOnDelete"]) {
            assert.ok(section.includes(text), `the section mentions ${text}`);
        }
    });
});
