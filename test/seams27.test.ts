/**
 * #27 seams 2-6 under mocks, each against the rule of the real provider it meets:
 * - GitHub: an environment variable or secret of a missing environment fails with terraform-provider-github's 404
 *   (`resource_github_actions_environment_variable.go` POSTs to /repos/{o}/{r}/environments/{env}/variables; go-github
 *   renders the error as "POST <url>: 404 Not Found []"), so each must depend on its RepositoryEnvironment;
 * - ECR: "Any repositories that don't match a scan on push filter are set to the manual scan frequency" (ECR User
 *   Guide, scanning filters): the account-wide filters decide, whatever a repository's own scanOnPush says.
 */
import * as assert from "assert";
import { accessProblems } from "../lib/access/accessChecks";
import { workflowRepositoryProblems } from "../lib/github/access";
import { plain, RecordedResource, runProgram, RunResult } from "./harness";

const ENV = { MLCI_REBUILD_EPOCH: "2026-11-22" };

/** GitHub's world for the environment endpoints: environments exist once created; values need their environment. */
function applyGithub(run: RunResult): string[] {
    const environments = new Map<string, string>(); // URN → "repo@env"
    const errors: string[] = [];
    for (const r of run.resources) {
        if (r.type === "github:index/repositoryEnvironment:RepositoryEnvironment") environments.set(r.urn, `${r.inputs.repository}@${r.inputs.environment}`);
        if (r.type === "github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable" || r.type === "github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret") {
            const key = `${r.inputs.repository}@${r.inputs.environment}`;
            // The engine creates a resource only after those it depends on: the environment must be one of them.
            const created = r.dependencies.some((d) => environments.get(d) === key);
            const kind = r.type.includes("Variable") ? "variables" : "secrets";
            if (!created) errors.push(`${r.name}: POST https://api.github.com/repos/pytorch/${r.inputs.repository}/environments/${r.inputs.environment}/${kind}: 404 Not Found []`);
        }
    }
    return errors;
}

describe("#27 seam 3/4: GitHub environments exist before their values, prod deploys from main only", function () {
    this.timeout(120_000);
    let prod: RunResult;
    let dev: RunResult;
    before(async () => {
        prod = await runProgram({ stack: "prod", env: ENV });
        dev = await runProgram({ stack: "dev", env: ENV });
    });

    it("every environment variable and secret depends on its created environment (no 404)", () => {
        assert.deepStrictEqual(applyGithub(prod), []);
        assert.deepStrictEqual(applyGithub(dev), []);
        const envValues = [...prod.byType("github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable"), ...dev.byType("github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret")];
        assert.ok(envValues.length > 0, "the check above is not vacuous");
    });

    it("prod's environment of the workflow repository admits main only (custom deployment-branch policy)", () => {
        const env = prod.one("github:index/repositoryEnvironment:RepositoryEnvironment", "github-ml-ci-images@prod-environment");
        assert.deepStrictEqual([env.inputs.repository, env.inputs.environment, env.inputs.deploymentBranchPolicy], ["ml-ci-images", "prod", { protectedBranches: false, customBranchPolicies: true }]);
        const policies = prod.byType("github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy");
        assert.deepStrictEqual(policies.map((p) => [p.inputs.repository, p.inputs.environment, p.inputs.branchPattern]), [["ml-ci-images", "prod", "main"]]);
        assert.ok(policies[0].dependencies.includes(env.urn));
        const devEnv = dev.one("github:index/repositoryEnvironment:RepositoryEnvironment", "github-ml-ci-images@dev-environment");
        assert.strictEqual(devEnv.inputs.deploymentBranchPolicy, undefined, "PR branches run pr-images in dev");
    });

    it("the workflow repository gets what its workflows read: prod environment (role secret, session) and repository level (preview role, region)", () => {
        const wr = (r: RecordedResource) => r.inputs.repository === "ml-ci-images";
        const envSecrets = prod.byType("github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret").filter(wr).map((r) => `${r.inputs.environment}:${r.inputs.secretName}`);
        assert.ok(envSecrets.includes("prod:CI_IMAGES_PIPELINE_ROLE_ARN"), envSecrets.join(", "));
        const envVars = prod.byType("github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable").filter(wr).map((r) => r.inputs.variableName);
        assert.ok(envVars.includes("CI_IMAGES_PIPELINE_SESSION_SECONDS") && envVars.includes("CI_IMAGES_AWS_REGION"));
        const repoVars = prod.byType("github:index/actionsVariable:ActionsVariable").filter(wr).map((r) => r.inputs.variableName);
        assert.ok(repoVars.includes("CI_IMAGES_PREVIEW_ROLE_ARN") && repoVars.includes("CI_IMAGES_AWS_REGION"), repoVars.join(", "));
        const devSecrets = dev.byType("github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret").filter(wr).map((r) => `${r.inputs.environment}:${r.inputs.secretName}`);
        assert.deepStrictEqual(devSecrets, ["dev:CI_IMAGES_PIPELINE_ROLE_ARN"]);
    });

    it("the roles trust the workflow repository's subjects: prod environment, dev environment, pull requests", () => {
        const subs = (run: RunResult, name: string) => JSON.parse(plain(run.one("aws:iam/role:Role", name).inputs.assumeRolePolicy)).Statement.flatMap((s: any) => [s.Condition.StringEquals["token.actions.githubusercontent.com:sub"] ?? []].flat());
        assert.deepStrictEqual(subs(prod, "pipeline-access-role"), ["repo:pytorch/ml-ci-images:environment:prod"]);
        assert.deepStrictEqual(subs(dev, "pipeline-access-role"), ["repo:pytorch/ml-ci-images:environment:dev"]);
        assert.deepStrictEqual(subs(prod, "preview-access-role"), ["repo:pytorch/ml-ci-images:pull_request"]);
    });

    it("config refuses a branch subject on a role that runs pulumi up, and an unwired workflow repository", () => {
        const problems = accessProblems({ pipeline: { enabled: true, runsPulumiUp: true, subjects: [{ repo: "pytorch/ml-ci-images", branches: ["main"], environments: ["prod"] }] } });
        assert.deepStrictEqual(problems.map((p) => p.path), ["access.pipeline.subjects[0]"]);
        assert.match(problems[0].message, /trusts branches \(main\), but this role runs `pulumi up`/);
        const github = { enabled: true, owner: "pytorch", workflowRepository: "ml-ci-images", secretRoleArn: true, repositories: [{ name: "ml-ci-images", environment: "prod" }] };
        const access = { runner: { enabled: false, createRole: true, existingRoleNames: [] }, pipeline: { enabled: true, runsPulumiUp: true, subjects: [{ repo: "pytorch/ml-ci-images", branches: [], environments: ["prod"], pullRequests: false }], deployPolicyArns: [] }, preview: { enabled: true, repositories: ["pytorch/rl"] } };
        assert.deepStrictEqual(workflowRepositoryProblems({ github, access } as never).map((p) => `${p.path}: ${p.message.split(",")[0]}`), [
            "github.repositories[0].deploymentBranches: is not set",
            "access.preview.repositories: does not list the workflow repository pytorch/ml-ci-images",
            "github.repositories: has no repository-level entry for the workflow repository ml-ci-images: the preview job (no environment) would read an empty CI_IMAGES_PREVIEW_ROLE_ARN",
        ]);
    });
});

describe("#27 seam 2: the account-wide scan-on-push filters cover every stack of the account", function () {
    this.timeout(120_000);
    /** ECR's WILDCARD filter: `*` matches any characters (ECR API RegistryScanningRule). */
    const matches = (filter: string, name: string) => new RegExp(`^${filter.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\/]/g, "\\$&")).join(".*")}$`).test(name);

    it("prod owns the configuration, and its filters match dev's and dev's cache's repositories (shipped stack files)", async () => {
        const prod = await runProgram({ stack: "prod", env: ENV });
        const dev = await runProgram({ stack: "dev", env: ENV });
        assert.strictEqual(dev.byType("aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration").length, 0, "only one stack owns it");
        const [config] = prod.byType("aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration");
        const filters: string[] = config.inputs.rules.filter((r: any) => r.scanFrequency === "SCAN_ON_PUSH").flatMap((r: any) => r.repositoryFilters.map((f: any) => f.filter));
        const repositories = [...dev.byType("aws:ecr/repository:Repository"), ...prod.byType("aws:ecr/repository:Repository")].map((r) => r.inputs.name as string);
        assert.ok(repositories.some((n) => n.startsWith("ml-ci-dev/")));
        for (const name of [...repositories, "docker-hub/library/ubuntu", "docker-hub-dev/library/ubuntu"]) {
            assert.ok(filters.some((f) => matches(f, name)), `${name} matches no scan-on-push filter (${filters.join(", ")}): it would be scanned manually only, and dev's scan gate would refuse it`);
        }
    });
});

describe("#27 seam 6: the shared GPU runner role pulls dev images too", function () {
    this.timeout(120_000);
    it("dev attaches its own, stack-scoped pull policy to gh-runner-gpu-linux, next to prod's", async () => {
        const arns: string[] = [];
        for (const stack of ["prod", "dev"]) {
            const run = await runProgram({ stack, env: ENV });
            const attachment = run.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "runner-access-pull-gh-runner-gpu-linux");
            assert.strictEqual(attachment.inputs.role, "gh-runner-gpu-linux");
            arns.push(plain(attachment.inputs.policyArn));
        }
        assert.deepStrictEqual(arns, ["arn:aws:iam::123456789012:policy/ml-ci-images/prod/runner-access-pull-policy-a1b2c3d", "arn:aws:iam::123456789012:policy/ml-ci-images/dev/runner-access-pull-policy-a1b2c3d"]);
    });
});

describe("#27 seam 5: a pull request can obtain no long-lived secret", function () {
    this.timeout(120_000);
    it("a stack that runs in CI refuses a Docker Hub token in config (it would land in the state the preview decrypts)", async () => {
        const { runProgramExpectingError } = await import("./harness");
        const { error, resources } = await runProgramExpectingError({
            stack: "prod",
            overrides: { registry: { pullThroughCache: { credentialSecretArn: undefined, dockerHubUsername: "mlci-bot" } } },
            extraConfig: { "mlci:dockerHubAccessToken": "dckr_pat_x" },
            secretKeys: ["mlci:dockerHubAccessToken"],
        });
        assert.match(error.message, /config mlci:dockerHubAccessToken: is set in a stack that runs in CI: the stack would store the Docker Hub token in its state, which the PR preview may decrypt\. Fix: create the ecr-pullthroughcache\/ secret once/);
        assert.deepStrictEqual(resources, []);
    });

    it("the preview role decrypts the state's data key only, and gets no Secrets Manager, no push, no GitHub token", async () => {
        const prod = await runProgram({ stack: "prod", env: ENV });
        const doc = JSON.parse(plain(prod.one("aws:iam/policy:Policy", "preview-access-read-policy").inputs.policy));
        const actions: string[] = doc.Statement.flatMap((s: any) => [s.Action].flat());
        assert.ok(!actions.some((a) => a.startsWith("secretsmanager:") || a === "ecr:PutImage" || a === "kms:Encrypt"), actions.join(", "));
        assert.strictEqual(prod.byType("pulumi:providers:github")[0].inputs.token, undefined, "no GitHub token in the state");
    });
});

describe("#27 seam 5: prod's state secrets use the awskms key its roles are granted", () => {
    it("Pulumi.prod.yaml's secretsprovider is the key of mlci:access.secretsKeyArn, so no workflow needs a passphrase", () => {
        const fs = require("fs") as typeof import("fs");
        const YAML = require("yaml") as typeof import("yaml");
        const doc = YAML.parse(fs.readFileSync(require("path").join(__dirname, "..", "Pulumi.prod.yaml"), "utf8"));
        const key: string = doc.config["mlci:access"].secretsKeyArn;
        const provider = new URL(doc.secretsprovider);
        assert.strictEqual(provider.protocol, "awskms:");
        assert.strictEqual(`${provider.host}`, key.split("/").pop());
        assert.strictEqual(provider.searchParams.get("region"), key.split(":")[3]);
    });
});

describe("#27 seam 2 in the shared ECR model: prod's account-wide filters decide whether dev's pushes are scanned", function () {
    this.timeout(120_000);
    it("prod then dev in one account: every image dev pushes starts a scan (its own scanOnPush alone would not count)", async () => {
        const { EcrModel } = await import("./ecrModel");
        const ecr = new EcrModel();
        await runProgram({ stack: "prod", env: ENV, ecr });
        assert.ok(ecr.registryScanningRules !== undefined, "prod owns the account-wide configuration");
        await runProgram({ stack: "dev", env: ENV, ecr });
        const devPushes = [...ecr.repositories].filter(([name]) => name.startsWith("ml-ci-dev/")).flatMap(([name, r]) => r.images.map((i) => `${name}@${i.digest}`));
        assert.ok(devPushes.length > 0);
        assert.deepStrictEqual(devPushes.filter((p) => !ecr.scannedOnPush.has(p)), [], "dev images left on MANUAL: dev's scan gate would wait 30 minutes and refuse them");
    });
});
