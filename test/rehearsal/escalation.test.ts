/**
 * Privilege escalation by the pipeline role (#27 review, blocker 1), every decision by iam-simulate on the
 * policies IAM stores after the admin's first `up` of prod: the role that runs `pulumi up` sits under the
 * IAM path it manages, so without the stack's permissions boundary and the explicit denies it could make
 * itself an administrator. Each intruder call below was allowed before the boundary (lib/access/deployPolicy.ts).
 */
import { strict as assert } from "assert";
import { GetPolicyCommand, GetPolicyVersionCommand, GetRoleCommand } from "@aws-sdk/client-iam";
import { evaluate } from "./iamEvaluator";
import { AwsCall, DEFAULT_KEY_POLICY, deniedCalls, allowedCalls, roleNameOf, roleSession, Session } from "./actors";
import { adminOnlyReason, pipelineCalls } from "./adminOnlyCalls";
import { ACCOUNT_ID } from "./awsAccount";
import { upCalls } from "./upCalls";
import { requireMoto } from "../motoIam";
import { GPU_RUNNER_ROLE, pulumiUp, UpResult, World } from "./world";

const iam = (kind: string, rest: string) => `arn:aws:iam::${ACCOUNT_ID}:${kind}/${rest}`;
const BOUNDARY = iam("policy", "ml-ci-images-boundary/ml-ci-images-prod-boundary");
const ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess";

describe("rehearsal: the pipeline role cannot raise its own rights (#27 review, blocker 1)", function () {
    this.timeout(120_000);
    let world: World;
    let prod: UpResult;
    let pipeline: Session;
    let pipelineRole: string;
    let runnerRole: string;

    before(async function () {
        requireMoto(this, "The escalation rehearsal");
        world = await World.create();
        prod = await pulumiUp(world, "prod", { env: { GITHUB_TOKEN: "ghp_admin_session_token" } });
        pipelineRole = prod.outputs.pipelineRoleArn;
        runnerRole = prod.outputs.runnerRoleArn as string;
        pipeline = await roleSession(world, roleNameOf(pipelineRole), "ml-ci-images-weekly-rebuild");
    });
    after(() => world?.stop());

    it("every role prod created carries the stack's boundary, which lives outside the stack's IAM path", async () => {
        const roles = prod.applied.filter((r) => r.type === "aws:iam/role:Role").map((r) => r.state.name as string);
        assert.equal(roles.length, 3, roles.join(", "));
        for (const name of roles) {
            const role = (await world.aws.iam.send(new GetRoleCommand({ RoleName: name }))).Role!;
            assert.equal(role.PermissionsBoundary?.PermissionsBoundaryArn, BOUNDARY, name);
        }
    });

    it("denies every escalation: AdministratorAccess onto itself, rewriting its deploy policy, trust or boundary, boundary-less roles, PassRole beyond EC2, other policies onto the shared runner role", async () => {
        const deploy = prod.outputs.deployPolicyArn as string;
        const newRole = iam("role", "ml-ci-images/prod/intruder-role");
        const intruder: AwsCall[] = [
            { action: "iam:AttachRolePolicy", resource: pipelineRole, context: { "iam:PolicyARN": ADMIN_POLICY }, why: "AdministratorAccess onto itself" },
            { action: "iam:AttachRolePolicy", resource: pipelineRole, context: { "iam:PolicyARN": iam("policy", "ml-ci-images/prod/intruder-policy") }, why: "its own new policy onto itself" },
            { action: "iam:AttachRolePolicy", resource: runnerRole, context: { "iam:PolicyARN": ADMIN_POLICY }, why: "AdministratorAccess onto a stack role" },
            { action: "iam:PutRolePolicy", resource: pipelineRole, why: "an inline policy onto itself" },
            { action: "iam:CreatePolicyVersion", resource: deploy, why: "rewrite its deploy policy" },
            { action: "iam:SetDefaultPolicyVersion", resource: deploy, why: "switch its deploy policy's version" },
            { action: "iam:DeletePolicy", resource: deploy, why: "delete its deploy policy" },
            { action: "iam:UpdateAssumeRolePolicy", resource: pipelineRole, why: "rewrite its trust policy" },
            { action: "iam:CreateRole", resource: newRole, why: "a role without any boundary" },
            { action: "iam:CreateRole", resource: newRole, context: { "iam:PermissionsBoundary": ADMIN_POLICY }, why: "a role with another boundary" },
            { action: "iam:PutRolePermissionsBoundary", resource: runnerRole, context: { "iam:PermissionsBoundary": ADMIN_POLICY }, why: "swap a stack role's boundary" },
            { action: "iam:DeleteRolePermissionsBoundary", resource: pipelineRole, why: "remove its own boundary" },
            { action: "iam:DeleteRolePermissionsBoundary", resource: runnerRole, why: "remove a stack role's boundary" },
            { action: "iam:CreatePolicyVersion", resource: BOUNDARY, why: "rewrite the boundary" },
            { action: "iam:DeletePolicy", resource: BOUNDARY, why: "delete the boundary" },
            { action: "iam:CreatePolicy", resource: BOUNDARY, why: "create a boundary" },
            { action: "iam:PassRole", resource: runnerRole, context: { "iam:PassedToService": "lambda.amazonaws.com" }, why: "pass a stack role to Lambda" },
            { action: "iam:AttachRolePolicy", resource: iam("role", GPU_RUNNER_ROLE), context: { "iam:PolicyARN": iam("policy", "ml-ci-images/prod/intruder-policy") }, why: "its own new policy onto the shared runner role" },
            { action: "iam:CreatePolicyVersion", resource: prod.outputs.runnerPullPolicyArn, why: "rewrite the pull policy the shared runner role carries" },
        ];
        assert.deepEqual(await allowedCalls(world, pipeline, intruder), []);
    });

    it("still allows the legitimate calls: a stack role with the boundary, its own policies onto stack roles, the runner role to EC2, the pull policy onto the shared runner role", async () => {
        const legit: AwsCall[] = [
            { action: "iam:CreateRole", resource: iam("role", "ml-ci-images/prod/runner-access-role-0000000"), context: { "iam:PermissionsBoundary": BOUNDARY } },
            { action: "iam:AttachRolePolicy", resource: runnerRole, context: { "iam:PolicyARN": prod.outputs.runnerPullPolicyArn } },
            { action: "iam:PassRole", resource: runnerRole, context: { "iam:PassedToService": "ec2.amazonaws.com" } },
            { action: "iam:AttachRolePolicy", resource: iam("role", GPU_RUNNER_ROLE), context: { "iam:PolicyARN": prod.outputs.runnerPullPolicyArn } },
            { action: "iam:CreatePolicyVersion", resource: iam("policy", "ml-ci-images/prod/pipeline-access-push-policy-0000000") },
            { action: "iam:GetPolicyVersion", resource: BOUNDARY },
        ];
        assert.deepEqual(await deniedCalls(world, pipeline, legit), []);
    });

    /** The boundary document as IAM stores it. */
    async function storedBoundary(): Promise<unknown> {
        const meta = (await world.aws.iam.send(new GetPolicyCommand({ PolicyArn: BOUNDARY }))).Policy!;
        const v = await world.aws.iam.send(new GetPolicyVersionCommand({ PolicyArn: BOUNDARY, VersionId: meta.DefaultVersionId }));
        return JSON.parse(decodeURIComponent(v.PolicyVersion!.Document!));
    }
    const decideBounded = async (principal: string, identityPolicies: { name: string; policy: unknown }[], boundary: unknown, c: AwsCall) =>
        evaluate({ principal, action: c.action, resource: c.resource, resourceAccount: ACCOUNT_ID, identityPolicies, context: c.context, permissionBoundaries: [{ name: "stack-boundary", policy: boundary }], resourcePolicy: c.action.startsWith("kms:") ? DEFAULT_KEY_POLICY : undefined });

    it("the boundary caps a role the pipeline could create with an allow-everything policy: nothing outside the stack", async () => {
        const boundary = await storedBoundary();
        const anything = [{ name: "intruder-allow-all", policy: { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] } }];
        const principal = `arn:aws:sts::${ACCOUNT_ID}:assumed-role/intruder-role/session`;
        const outside: AwsCall[] = [
            { action: "s3:GetObject", resource: "arn:aws:s3:::some-other-bucket/secrets.txt" },
            { action: "iam:AttachRolePolicy", resource: pipelineRole, context: { "iam:PolicyARN": ADMIN_POLICY } },
            { action: "iam:CreateRole", resource: iam("role", "ml-ci-images/prod/intruder-2"), context: { "iam:PermissionsBoundary": ADMIN_POLICY } },
            { action: "ecr:PutImage", resource: `arn:aws:ecr:us-east-1:${ACCOUNT_ID}:repository/other-team/app` },
            { action: "iam:DeleteRole", resource: iam("role", GPU_RUNNER_ROLE) },
            { action: "ec2:RunInstances", resource: "*" },
        ];
        const allowed: string[] = [];
        for (const c of outside) if ((await decideBounded(principal, anything, boundary, c)).allowed) allowed.push(`${c.action} ${c.resource}`);
        assert.deepEqual(allowed, []);
        assert.ok((await decideBounded(principal, anything, boundary, { action: "ecr:PutImage", resource: `arn:aws:ecr:us-east-1:${ACCOUNT_ID}:repository/ml-ci/base` })).allowed, "within the stack it still works");
    });

    it("the boundary on the pipeline role itself blocks none of the pipeline's calls of prod's up", async () => {
        const boundary = await storedBoundary();
        const calls = pipelineCalls("prod", await upCalls(world, prod));
        const denied: string[] = [];
        for (const c of calls) {
            const d = await decideBounded(pipeline.principal, pipeline.policies, boundary, c);
            if (!d.allowed) denied.push(`${c.action} ${c.resource}: ${d.result}`);
        }
        assert.ok(calls.length > 50, `${calls.length} calls`);
        assert.deepEqual(denied, []);
    });

    it("every call of prod's up is the pipeline's, except exactly the admin-only ones, which the pipeline is denied", async () => {
        const calls = await upCalls(world, prod);
        const adminOnly = calls.filter((c) => adminOnlyReason("prod", c) !== undefined);
        assert.deepEqual([...new Set(adminOnly.map((c) => `${c.action} ${c.resource.replace(/-[0-9a-f]{7}$/, "")}`))].sort(), [
            `iam:AttachRolePolicy ${iam("role", "ml-ci-images/prod/pipeline-access-role")}`,
            `iam:CreatePolicy ${BOUNDARY}`,
            `iam:CreatePolicy ${iam("policy", "ml-ci-images/prod/runner-access-pull-policy")}`,
        ]);
        assert.deepEqual(await allowedCalls(world, pipeline, adminOnly), []);
        assert.deepEqual(await deniedCalls(world, pipeline, pipelineCalls("prod", calls)), []);
    });
});
