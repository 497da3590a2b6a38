/**
 * terraform-provider-github v6.13 (bundled by pulumi-github 6.15) creates a repository Actions variable with a POST and
 * does not upsert: one that someone set by hand answers 409, and the first `up` against that repository fails. The
 * bootstrap imports it: `ci-images github-import` prints the `pulumi import --file` for exactly the resources the
 * program declares (type, name, parent, provider), with the provider's import IDs (`<repo>:<name>`, util.go buildID).
 */
import * as assert from "assert";
import { githubImportFile } from "../lib/github/imports";
import { planStackFile } from "../lib/stackPlan";
import { runCli } from "./cliContext";
import { PROJECT_ROOT, runProgram } from "./harness";

describe("ci-images github-import: adopting Actions variables that already exist (409 on create)", function () {
    this.timeout(120_000);

    it("names exactly the variables the program declares for prod, under its component and provider", async () => {
        const run = await runProgram({ stack: "prod", env: { MLCI_REBUILD_EPOCH: "2026-11-22" } });
        const plan = await planStackFile(PROJECT_ROOT, "prod", { env: { MLCI_REBUILD_EPOCH: "2026-11-22" } });
        const file = githubImportFile(plan.config, "prod", plan.images.map((i) => i.name));
        const declared = [...run.byType("github:index/actionsVariable:ActionsVariable"), ...run.byType("github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable")];
        assert.deepStrictEqual(file.resources.map((r) => `${r.type} ${r.name}`).sort(), declared.map((r) => `${r.type} ${r.name}`).sort());
        const component = run.one("mlci:github:GithubActionsConfig", "github");
        const provider = run.one("pulumi:providers:github", "github-provider");
        assert.deepStrictEqual(file.nameTable, { component: component.urn, provider: provider.urn });
        for (const r of declared) assert.strictEqual(r.parentUrn, component.urn, r.urn);
        const registry = file.resources.find((r) => r.name === "github-rl-CI_IMAGES_REGISTRY")!;
        assert.deepStrictEqual(registry, { type: "github:index/actionsVariable:ActionsVariable", name: "github-rl-CI_IMAGES_REGISTRY", id: "rl:CI_IMAGES_REGISTRY", parent: "component", provider: "provider" });
        const envVar = file.resources.find((r) => r.name === "github-ml-ci-images@prod-CI_IMAGES_AWS_REGION")!;
        assert.strictEqual(envVar.id, "ml-ci-images:prod:CI_IMAGES_AWS_REGION");
    });

    it("the CLI prints the import file, restricted to the variables the failed up named", async () => {
        const r = await runCli(["github-import", "--stack", "prod", "--root", PROJECT_ROOT, "--variables", "CI_IMAGES_REGISTRY,CI_IMAGES_AWS_REGION"]);
        assert.strictEqual(r.code, 0, r.stderr);
        const file = JSON.parse(r.stdout);
        assert.deepStrictEqual([...new Set(file.resources.map((x: any) => x.id.split(":").pop()))].sort(), ["CI_IMAGES_AWS_REGION", "CI_IMAGES_REGISTRY"]);
        assert.ok(file.resources.some((x: any) => x.id === "rl:CI_IMAGES_REGISTRY"));
    });
});
