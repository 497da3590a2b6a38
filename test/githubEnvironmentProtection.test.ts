/**
 * #27 review, finding 4: terraform-provider-github creates AND updates an environment with one PUT that replaces its
 * protection (resource_github_repository_environment.go createUpdateEnvironmentData; go-github: "API expects null
 * values for reviewers and deployment_branch_policy to clear them"). Reviewers an admin set by hand are therefore
 * cleared by the next `up`. The program owns them: `reviewers`, `preventSelfReview` from the github target entries,
 * `canAdminsBypass: false` always. test/githubModel.ts models the PUT; the program's registrations are applied to it.
 */
import * as assert from "assert";
import { GithubModel } from "./githubModel";
import { parseStackConfig } from "../lib/config/config";
import { readStackConfigFile } from "../lib/stackPlan";
import { plain, PROJECT_ROOT, runProgram } from "./harness";

const ENV_TYPE = "github:index/repositoryEnvironment:RepositoryEnvironment";
const HAND_SET = { reviewers: { teams: [7], users: [] }, deploymentBranchPolicy: { protectedBranches: false, customBranchPolicies: true }, canAdminsBypass: true, preventSelfReview: false };

describe("environment protection is the program's: the PUT replaces it (#27 review, finding 4)", function () {
    this.timeout(120_000);

    it("the model: a PUT without reviewers clears hand-set reviewers (what the old program did to prod)", () => {
        const gh = new GithubModel("pytorch", { protection: { "ml-ci-images@prod": HAND_SET } });
        gh.apply(ENV_TYPE, { repository: "ml-ci-images", environment: "prod", deploymentBranchPolicy: { protectedBranches: false, customBranchPolicies: true } });
        assert.strictEqual(gh.protection.get("ml-ci-images@prod")!.reviewers, null);
        assert.strictEqual(gh.protection.get("ml-ci-images@prod")!.canAdminsBypass, true, "the provider's default");
    });

    it("prod's environment carries the configured reviewers, preventSelfReview and canAdminsBypass: false, and keeps them after the PUT", async () => {
        const prodTargets = [
            { name: "rl" }, { name: "ml-ci-images" },
            { name: "ml-ci-images", environment: "prod", deploymentBranches: ["main"], reviewers: { teams: [1234567], users: [89] }, preventSelfReview: true },
        ];
        const run = await runProgram({ stack: "prod", env: { MLCI_REBUILD_EPOCH: "2026-11-22" }, overrides: { github: { repositories: prodTargets } } });
        const env = run.byType(ENV_TYPE).find((r) => r.inputs.environment === "prod")!;
        assert.deepStrictEqual(plain(env.inputs.reviewers), [{ teams: [1234567], users: [89] }]);
        assert.strictEqual(env.inputs.preventSelfReview, true);
        assert.strictEqual(env.inputs.canAdminsBypass, false);
        const gh = new GithubModel("pytorch", { protection: { "ml-ci-images@prod": HAND_SET } });
        gh.apply(ENV_TYPE, plain(env.inputs));
        assert.deepStrictEqual(gh.protection.get("ml-ci-images@prod"), { reviewers: { teams: [1234567], users: [89] }, deploymentBranchPolicy: { protectedBranches: false, customBranchPolicies: true }, canAdminsBypass: false, preventSelfReview: true });
    });

    it("every environment the program creates denies the admin bypass, dev's included", async () => {
        const run = await runProgram({ stack: "dev", env: { MLCI_REBUILD_EPOCH: "2026-11-22" } });
        const envs = run.byType(ENV_TYPE);
        assert.ok(envs.length > 0);
        for (const e of envs) assert.strictEqual(e.inputs.canAdminsBypass, false, e.urn);
    });

    it("config: reviewers need an environment and at most 6 IDs", () => {
        const withTargets = (repositories: unknown[]) => {
            const raw = readStackConfigFile(PROJECT_ROOT, "dev");
            return () => parseStackConfig({ ...raw, github: { ...(raw.github as object), repositories } }, { projectRoot: PROJECT_ROOT, env: {} });
        };
        assert.throws(withTargets([{ name: "rl", reviewers: { teams: [1] } }]), /github\.repositories\[0\]\.reviewers.*need an environment/);
        assert.throws(withTargets([{ name: "rl", environment: "dev", reviewers: { teams: [1, 2, 3, 4], users: [5, 6, 7] } }]), /1 to 6 team and user IDs/);
    });
});
