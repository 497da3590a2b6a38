/**
 * The weekly job can assume its role (#14 item 3) and the PR preview gets a read-only role (#15): read from the
 * workflow YAML and from what the program really declares for prod under mocks, with STS's session rule modelled
 * in test/iamModel.ts.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";
import { PROJECT_ROOT, RunResult, plain, runProgram } from "./harness";
import { assumeRoleWithWebIdentity, IAM_DEFAULT_MAX_SESSION_SECONDS } from "./iamModel";

const WORKFLOWS = path.join(PROJECT_ROOT, ".github", "workflows");
const readWorkflow = (file: string): any => YAML.parse(fs.readFileSync(path.join(WORKFLOWS, file), "utf8"));
const PROD = { stack: "prod", env: { MLCI_REBUILD_EPOCH: "2026-11-22" } };

/** The step of a job that uses an action (`uses: owner/name@sha`). */
function actionStep(job: any, action: string): any {
    const step = (job.steps as any[]).find((s) => typeof s.uses === "string" && s.uses.startsWith(`${action}@`));
    assert.ok(step, `no ${action} step`);
    return step;
}

/** `${{ vars.X }}` → the value the program wrote as the repository variable X (undefined when it writes none). */
function resolveVars(expression: string, run: RunResult): string | undefined {
    const m = /^\$\{\{\s*vars\.([A-Z0-9_]+)\s*\}\}$/.exec(String(expression));
    assert.ok(m, `expected a single vars reference, got ${expression}`);
    const written = run.byType("github:index/actionsVariable:ActionsVariable").find((r) => r.inputs.variableName === m[1]);
    return written === undefined ? undefined : String(plain(written.inputs.value));
}

describe("the weekly job's session fits the pipeline role (one value, #14.3)", () => {
    let run: RunResult;
    before(async function () {
        this.timeout(120_000);
        run = await runProgram(PROD);
    });

    it("declares the pipeline role with a 6-hour maxSessionDuration and writes the same 21600 as CI_IMAGES_PIPELINE_SESSION_SECONDS", () => {
        const role = run.one("aws:iam/role:Role", "pipeline-access-role");
        assert.strictEqual(role.inputs.maxSessionDuration, 21600);
        assert.strictEqual(resolveVars("${{ vars.CI_IMAGES_PIPELINE_SESSION_SECONDS }}", run), "21600");
    });

    it("the workflow's role-duration-seconds, resolved from what the program wrote, is granted by STS against the recorded role", () => {
        const job = readWorkflow("weekly-rebuild.yml").jobs.up;
        const requested = Number(resolveVars(actionStep(job, "aws-actions/configure-aws-credentials").with["role-duration-seconds"], run));
        const role = run.one("aws:iam/role:Role", "pipeline-access-role").inputs;
        assert.deepStrictEqual(assumeRoleWithWebIdentity(role, requested), { durationSeconds: 21600 });
        // The job cannot outlive its credentials: its timeout fits inside the session.
        assert.ok(job["timeout-minutes"] * 60 <= requested, `timeout-minutes ${job["timeout-minutes"]} outlasts a ${requested}s session`);
    });

    it("the old pair (role left at IAM's 3600 default, workflow asking 21600) fails with STS's real text", () => {
        assert.strictEqual(IAM_DEFAULT_MAX_SESSION_SECONDS, 3600);
        assert.throws(() => assumeRoleWithWebIdentity({}, 21600), (e: Error) => e.message === "Could not assume role with OIDC: The requested DurationSeconds exceeds the MaxSessionDuration set for this role.");
        assert.throws(() => assumeRoleWithWebIdentity({ maxSessionDuration: 21600 }, 21601), /exceeds the MaxSessionDuration/);
        assert.throws(() => assumeRoleWithWebIdentity({ maxSessionDuration: 21600 }, 600), /greater than or equal to 900/);
    });
});

describe("the read-only PR preview role (#15)", () => {
    let run: RunResult;
    before(async function () {
        this.timeout(120_000);
        run = await runProgram(PROD);
    });

    const previewPolicy = () => JSON.parse(plain(run.one("aws:iam/policy:Policy", "preview-access-read-policy").inputs.policy));

    it("is trusted for the pull_request subject of the configured repository only, through the account's provider", () => {
        const trust = JSON.parse(plain(run.one("aws:iam/role:Role", "preview-access-role").inputs.assumeRolePolicy));
        assert.deepStrictEqual(trust, {
            Version: "2012-10-17",
            Statement: [{
                Sid: "GithubActionsExactSubjects",
                Effect: "Allow",
                Principal: { Federated: "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com" },
                Action: "sts:AssumeRoleWithWebIdentity",
                Condition: { StringEquals: { "token.actions.githubusercontent.com:sub": ["repo:pytorch/ml-ci-images:pull_request"], "token.actions.githubusercontent.com:aud": "sts.amazonaws.com" } },
            }],
        });
    });

    it("reads the S3 state and describes the stack's repositories, roles and policies, with exactly these actions", () => {
        const doc = previewPolicy();
        const byAction = (sid: string) => doc.Statement.find((s: any) => s.Sid === sid);
        assert.deepStrictEqual(byAction("StateList"), {
            Sid: "StateList", Effect: "Allow", Action: "s3:ListBucket", Resource: "arn:aws:s3:::ml-ci-pulumi-state",
            Condition: { StringLike: { "s3:prefix": ["ml-ci-images/.pulumi/*"] } },
        });
        // prod's checkpoint and meta.yaml only: no history or backups (#27 review, finding 3; test/previewStateScope.test.ts).
        const state = "arn:aws:s3:::ml-ci-pulumi-state/ml-ci-images/.pulumi";
        assert.deepStrictEqual(byAction("StateRead"), { Sid: "StateRead", Effect: "Allow", Action: ["s3:GetObject"], Resource: [`${state}/meta.yaml`, `${state}/stacks/ml-ci-images/prod.json`, `${state}/stacks/ml-ci-images/prod.json.gz`, `${state}/stacks/ml-ci-images/prod.json.zst`] });
        assert.deepStrictEqual(byAction("EcrLogin"), { Sid: "EcrLogin", Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" });
        const repos = byAction("DescribeStackRepositories");
        assert.deepStrictEqual(repos.Action, ["ecr:DescribeImages", "ecr:DescribeRepositories", "ecr:GetLifecyclePolicy", "ecr:GetRepositoryPolicy", "ecr:ListImages", "ecr:ListTagsForResource"]);
        assert.deepStrictEqual(repos.Resource, ["base", "cpu", "habitat", "nightly", "stable"].map((f) => `arn:aws:ecr:us-east-1:123456789012:repository/ml-ci/${f}`));
        assert.deepStrictEqual(byAction("ReadStackRoles").Action, ["iam:GetRole", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies", "iam:ListRolePolicies"]);
        assert.ok(byAction("ReadStackRoles").Resource.every((r: string) => /^arn:aws:iam::123456789012:role\//.test(r)));
        assert.deepStrictEqual(byAction("ReadStackPolicies").Action, ["iam:GetOpenIDConnectProvider", "iam:GetPolicy", "iam:GetPolicyVersion"]);
        // Decrypts the awskms data key of the state (nothing long-lived is in it: ciSecretProblems), nothing else of KMS.
        assert.deepStrictEqual(byAction("DecryptStateSecrets"), { Sid: "DecryptStateSecrets", Effect: "Allow", Action: "kms:Decrypt", Resource: "arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b" });
        assert.strictEqual(doc.Statement.length, 7);
    });

    it("cannot push, change anything, or read secrets: no write-shaped action at all", () => {
        const actions: string[] = previewPolicy().Statement.flatMap((s: any) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
        const writes = actions.filter((a) => !/^(ecr|iam|s3):(Get|List|Describe)/.test(a) && a !== "kms:Decrypt");
        assert.deepStrictEqual(writes, []);
        for (const forbidden of ["ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:BatchGetImage", "s3:PutObject", "secretsmanager:GetSecretValue"]) {
            assert.ok(!actions.includes(forbidden), forbidden);
        }
    });

    it("its ARN is written as the repository variable CI_IMAGES_PREVIEW_ROLE_ARN, which preview.yml assumes", () => {
        const job = readWorkflow("preview.yml").jobs.preview;
        const roleArn = resolveVars(actionStep(job, "aws-actions/configure-aws-credentials").with["role-to-assume"], run);
        assert.match(roleArn ?? "", /^arn:aws:iam::123456789012:role\/ml-ci-images\/prod\/preview-access-role-/);
        assert.notStrictEqual(roleArn, run.outputs.pipelineRoleArn, "the preview must not assume the push role");
        assert.strictEqual(roleArn, run.outputs.previewRoleArn);
        assert.strictEqual(job.environment, undefined, "an environment would change the OIDC subject away from pull_request");
    });
});
