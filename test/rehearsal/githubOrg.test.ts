/**
 * The rehearsal's GitHub organisation applies GitHub's documented rules (githubOrg.ts names each source):
 * these tests pin the rules themselves, so a rehearsal verdict never rests on a world that drifted.
 */
import { strict as assert } from "assert";
import { GITHUB_LIMITS, GithubApiError, GithubOrg } from "./githubOrg";

const org = () => new GithubOrg("pytorch", ["ml-ci-images", "rl"]);

describe("rehearsal world: the GitHub organisation's rules", () => {
    it("[ENV-404] an environment variable or secret of an environment that does not exist is 404", () => {
        const o = org();
        assert.throws(() => o.setEnvironmentVariable("rl", "dev", "A", "1"), (e: GithubApiError) => e.status === 404);
        assert.throws(() => o.setEnvironmentSecret("rl", "dev", "S", "1", "admin"), (e: GithubApiError) => e.status === 404);
        o.createEnvironment("rl", "dev");
        o.setEnvironmentVariable("rl", "dev", "A", "1");
    });

    it("[VAR-409] creating a variable that exists is 409 (no upsert)", () => {
        const o = org();
        o.setRepositoryVariable("rl", "CI_IMAGES_REGISTRY", "x");
        assert.throws(() => o.setRepositoryVariable("rl", "CI_IMAGES_REGISTRY", "y"), (e: GithubApiError) => e.status === 409);
    });

    it("[LIMITS] 100 variables per environment, 48 KB per value", () => {
        const o = org();
        o.createEnvironment("rl", "dev");
        for (let i = 0; i < GITHUB_LIMITS.variablesPerEnvironment; i++) o.setEnvironmentVariable("rl", "dev", `V${i}`, "x");
        assert.throws(() => o.setEnvironmentVariable("rl", "dev", "ONE_MORE", "x"), /limit 100/);
        assert.throws(() => o.setRepositoryVariable("rl", "BIG", "x".repeat(48 * 1024 + 1)), /48 KB/);
        o.setRepositoryVariable("rl", "FITS", "x".repeat(48 * 1024));
    });

    it("[BRANCH-POLICY] a custom policy admits only its branches; [ENV-AUTO] a missing environment is created unprotected", () => {
        const o = org();
        o.createEnvironment("ml-ci-images", "prod", { protectedBranches: false, customBranchPolicies: true });
        o.addDeploymentBranchPolicy("ml-ci-images", "prod", "main");
        const job = { repository: "pytorch/ml-ci-images", event: "push" as const, environment: "prod", idToken: true };
        assert.equal(o.startJob({ ...job, ref: "refs/heads/feature" }).started, false);
        const main = o.startJob({ ...job, ref: "refs/heads/main" });
        assert.ok(main.started && main.claims?.sub === "repo:pytorch/ml-ci-images:environment:prod");
        const auto = o.startJob({ ...job, repository: "pytorch/rl", ref: "refs/heads/feature" });
        assert.ok(auto.started && o.environment("rl", "prod")?.autoCreated);
        assert.throws(() => o.addDeploymentBranchPolicy("rl", "prod", "main"), (e: GithubApiError) => e.status === 404);
    });

    it("[OIDC-SUB] sub per event; [FORK] a fork's pull request gets neither secrets nor a token; [SECRET-SCOPE] environment secrets only in that environment", () => {
        const o = org();
        o.setRepositorySecret("ml-ci-images", "REPO_SECRET", "r", "admin");
        o.createEnvironment("ml-ci-images", "prod");
        o.setEnvironmentSecret("ml-ci-images", "prod", "ENV_SECRET", "e", "admin");
        const pr = o.startJob({ repository: "pytorch/ml-ci-images", event: "pull_request", ref: "refs/heads/x", idToken: true });
        assert.ok(pr.started && pr.claims?.sub === "repo:pytorch/ml-ci-images:pull_request" && pr.secrets.has("REPO_SECRET") && !pr.secrets.has("ENV_SECRET"));
        const schedule = o.startJob({ repository: "pytorch/ml-ci-images", event: "schedule", ref: "refs/heads/main", idToken: true });
        assert.ok(schedule.started && schedule.claims?.sub === "repo:pytorch/ml-ci-images:ref:refs/heads/main");
        const fork = o.startJob({ repository: "pytorch/ml-ci-images", event: "pull_request", ref: "refs/heads/x", fromFork: true, idToken: true });
        assert.ok(fork.started && fork.secrets.size === 0 && fork.claims === undefined);
        const inProd = o.startJob({ repository: "pytorch/ml-ci-images", event: "schedule", ref: "refs/heads/main", environment: "prod", idToken: true });
        assert.ok(inProd.started && inProd.secrets.get("ENV_SECRET") === "e" && inProd.secrets.get("REPO_SECRET") === "r");
    });
});
