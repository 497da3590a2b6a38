/**
 * The mocks harness applies every GitHub resource to a model of the organisation (test/githubModel.ts): a variable of
 * an environment nobody created fails with the provider's 404, and a repository variable that exists already fails
 * with 409 (terraform-provider-github v6.13 does not upsert), which `ci-images github-import` resolves.
 */
import * as assert from "assert";
import { GithubModel } from "./githubModel";
import { runProgram, runProgramExpectingError } from "./harness";

const ENV = { MLCI_REBUILD_EPOCH: "2026-11-22" };

describe("the program against a GitHub organisation model (#27 seam 3, provider trackers)", function () {
    this.timeout(120_000);

    it("an empty organisation: prod creates its environments before writing into them", async () => {
        const run = await runProgram({ stack: "prod", env: ENV, github: new GithubModel() });
        assert.deepStrictEqual([...run.github.environments].sort(), ["ml-ci-images@prod"]);
        assert.strictEqual(run.github.variables.get("ml-ci-images@prod:CI_IMAGES_PIPELINE_SESSION_SECONDS"), "21600");
        assert.ok(run.github.variables.has("rl:CI_IMAGES_REGISTRY"));
    });

    it("the model refuses what GitHub refuses: a value of a missing environment (404), an existing repository variable (409)", () => {
        const org = new GithubModel("pytorch", { variables: { "rl:CI_IMAGES_REGISTRY": "by hand" } });
        assert.throws(() => org.apply("github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable", { repository: "rl", environment: "dev", variableName: "X", value: "1" }), /^Error: POST https:\/\/api\.github\.com\/repos\/pytorch\/rl\/environments\/dev\/variables: 404 Not Found \[\]$/);
        assert.throws(() => org.apply("github:index/actionsVariable:ActionsVariable", { repository: "rl", variableName: "CI_IMAGES_REGISTRY", value: "x" }), /409/);
    });

    it("a consumer repository with a hand-set CI_IMAGES_REGISTRY: the first up fails with 409, as the import procedure expects", async () => {
        const github = new GithubModel("pytorch", { variables: { "rl:CI_IMAGES_REGISTRY": "set by hand" } });
        const { error } = await runProgramExpectingError({ stack: "prod", env: ENV, github });
        assert.match(error.message, /POST https:\/\/api\.github\.com\/repos\/pytorch\/rl\/actions\/variables: 409/);
    });
});
