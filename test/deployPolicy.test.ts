/**
 * #27 seam 1: the weekly `pulumi up` runs as the pipeline role, so the program generates and attaches the stack's
 * deploy policy (lib/access/deployPolicy.ts), and `ci-images check` fails when a stack that runs `pulumi up` has no
 * deploy rights. The policy is checked as data, through the program under mocks, with moto's CreatePolicy, and
 * against the one wildcard linter.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";
import { deployPolicy, DeployPolicyArgs, stackIamPath } from "../lib/access/deployPolicy";
import { PolicyDocument } from "../lib/access/documents";
import { simulatedAllow, upContext } from "./simulatedPolicies";
import { findWildcardViolations } from "../lib/access/wildcardLinter";
import { cliFixtureProject, runCli } from "./cliContext";
import { ACCOUNT_ID, plain, runProgram, RunResult } from "./harness";
import { IamOp, rejections, useMotoIam } from "./motoIam";

const ENV = { MLCI_REBUILD_EPOCH: "2026-11-22" };
const repo = (name: string) => `arn:aws:ecr:us-east-1:${ACCOUNT_ID}:repository/${name}`;
const iam = (kind: string, rest: string) => `arn:aws:iam::${ACCOUNT_ID}:${kind}/${rest}`;
const STATE_OBJECT = "arn:aws:s3:::ml-ci-pulumi-state/ml-ci-images/.pulumi/locks/ml-ci-images/prod/lock.json";

/** IAM's limit on a managed policy document: 6,144 characters, whitespace not counted. */
const MANAGED_POLICY_LIMIT = 6144;

describe("the pipeline's generated deploy policy (#27 seam 1)", function () {
    this.timeout(120_000);
    let prod: RunResult;
    let doc: PolicyDocument;
    before(async () => {
        prod = await runProgram({ stack: "prod", env: ENV });
        doc = JSON.parse(plain(prod.one("aws:iam/policy:Policy", "pipeline-access-deploy-policy").inputs.policy));
    });

    it("prod: the deploy policy is attached to the pipeline role, under the stack's IAM path", () => {
        const attachment = prod.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "pipeline-access-deploy-attachment");
        assert.strictEqual(plain(attachment.inputs.role), "pipeline-access-role-a1b2c3d");
        assert.strictEqual(plain(attachment.inputs.policyArn), iam("policy", "ml-ci-images/prod/pipeline-access-deploy-policy-a1b2c3d"));
        for (const [type, name] of [["aws:iam/role:Role", "pipeline-access-role"], ["aws:iam/role:Role", "runner-access-role"], ["aws:iam/role:Role", "preview-access-role"], ["aws:iam/policy:Policy", "runner-access-pull-policy"], ["aws:iam/instanceProfile:InstanceProfile", "runner-access-instance-profile"]]) {
            assert.strictEqual(prod.one(type, name).inputs.path, "/ml-ci-images/prod/", `${type} ${name}`);
        }
        assert.strictEqual(prod.outputs.deployPolicyArn, iam("policy", "ml-ci-images/prod/pipeline-access-deploy-policy-a1b2c3d"));
    });

    it("grants the state backend (locks included), the stack's repositories and its own IAM resources (iam-simulate, with the calls' condition keys)", async () => {
        for (const [action, resource, ctx] of [
            ["s3:ListBucket", "arn:aws:s3:::ml-ci-pulumi-state", { "s3:prefix": "ml-ci-images/.pulumi/stacks/ml-ci-images/prod.json" }], ["s3:GetObject", STATE_OBJECT], ["s3:PutObject", STATE_OBJECT], ["s3:DeleteObject", STATE_OBJECT],
            ["ecr:CreateRepository", repo("ml-ci/nightly")], ["ecr:PutLifecyclePolicy", repo("ml-ci/base")], ["ecr:SetRepositoryPolicy", repo("ml-ci/base")],
            ["ecr:CreatePullThroughCacheRule", "*"], ["ecr:DescribePullThroughCacheRules", "*"], ["ecr:PutRegistryScanningConfiguration", "*"], ["ecr:PutReplicationConfiguration", "*"],
            ["iam:CreateRole", iam("role", "ml-ci-images/prod/runner-access-role-a1b2c3d")], ["iam:PassRole", iam("role", "ml-ci-images/prod/runner-access-role-a1b2c3d")],
            ["iam:CreatePolicyVersion", iam("policy", "ml-ci-images/prod/pipeline-access-push-policy-a1b2c3d")],
            ["iam:AddRoleToInstanceProfile", iam("instance-profile", "ml-ci-images/prod/runner-access-instance-profile-a1b2c3d")],
            ["iam:AttachRolePolicy", iam("role", "gh-runner-gpu-linux"), { "iam:PolicyARN": iam("policy", "ml-ci-images/prod/runner-access-pull-policy-a1b2c3d") }],
            ["iam:AttachRolePolicy", iam("role", "ml-ci-images/prod/runner-access-role-a1b2c3d"), { "iam:PolicyARN": iam("policy", "ml-ci-images/prod/runner-access-pull-policy-a1b2c3d") }],
            ["iam:CreateOpenIDConnectProvider", iam("oidc-provider", "token.actions.githubusercontent.com")],
        ] as [string, string, Record<string, string>?][]) {
            assert.ok(await simulatedAllow([doc], action, resource, upContext(action, "prod", ctx)), `${action} on ${resource}`);
        }
    });

    it("grants nothing of another stack or anybody else: dev's repositories and roles, other roles, other state (iam-simulate)", async () => {
        for (const [action, resource, ctx] of [
            ["ecr:DeleteRepository", repo("ml-ci-dev/nightly")], ["ecr:CreateRepository", repo("other-team/app")],
            ["iam:CreateRole", iam("role", "ml-ci-images/dev/pipeline-access-role-a1b2c3d")], ["iam:PassRole", iam("role", "admin")],
            ["iam:PutRolePolicy", iam("role", "ml-ci-images/prod/pipeline-access-role-a1b2c3d")],
            ["iam:CreatePolicyVersion", iam("policy", "ml-ci-images/prod/pipeline-access-deploy-policy-a1b2c3d")], ["iam:UpdateAssumeRolePolicy", iam("role", "ml-ci-images/prod/pipeline-access-role-a1b2c3d")],
            ["iam:DeleteRolePermissionsBoundary", iam("role", "ml-ci-images/prod/runner-access-role-a1b2c3d")], ["iam:CreatePolicyVersion", iam("policy", "ml-ci-images-boundary/ml-ci-images-prod-boundary")],
            ["iam:DeleteOpenIDConnectProvider", iam("oidc-provider", "token.actions.githubusercontent.com")],
            ["s3:PutObject", "arn:aws:s3:::ml-ci-pulumi-state/other-project/.pulumi/stacks/x.json"], ["s3:DeleteBucket", "arn:aws:s3:::ml-ci-pulumi-state"],
            ["secretsmanager:GetSecretValue", "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/docker-hub-dev-AbCdEf"],
            ["iam:AttachRolePolicy", iam("role", "ml-ci-images/prod/runner-access-role-a1b2c3d"), { "iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess" }],
            ["iam:CreateRole", iam("role", "ml-ci-images/prod/x"), { "iam:PermissionsBoundary": "arn:aws:iam::aws:policy/AdministratorAccess" }],
            ["iam:PassRole", iam("role", "ml-ci-images/prod/runner-access-role-a1b2c3d"), { "iam:PassedToService": "lambda.amazonaws.com" }],
        ] as [string, string, Record<string, string>?][]) {
            assert.ok(!(await simulatedAllow([doc], action, resource, upContext(action, "prod", ctx))), `${action} on ${resource} must not be granted`);
        }
        const attach = doc.Statement.find((s) => s.Sid === "RunnerRolesAttachOwnPolicy")!;
        assert.deepStrictEqual(attach.Condition, { ArnLike: { "iam:PolicyARN": [iam("policy", "ml-ci-images/prod/runner-access-pull-policy*")] } }, "onto the shared runner role, only this stack's pull policy");
    });

    it("passes the project's wildcard linter: Resource \"*\" only for actions AWS scopes by no resource", () => {
        assert.deepStrictEqual(findWildcardViolations(doc), []);
        const widened = { ...doc, Statement: [...doc.Statement, { Effect: "Allow" as const, Action: ["iam:CreateRole"], Resource: "*" }] };
        assert.strictEqual(findWildcardViolations(widened).length, 1, "a resource-scoped action on * is still refused");
    });

    it("fits IAM's managed policy size limit, and so does the stack's permissions boundary", () => {
        const size = JSON.stringify(doc).replace(/\s+/g, "").length;
        assert.ok(size <= MANAGED_POLICY_LIMIT, `${size} characters > ${MANAGED_POLICY_LIMIT}`);
        const boundary = plain(prod.one("aws:iam/policy:Policy", "stack-boundary-policy").inputs.policy) as string;
        const boundarySize = JSON.stringify(JSON.parse(boundary)).replace(/\s+/g, "").length;
        assert.ok(boundarySize <= MANAGED_POLICY_LIMIT, `boundary: ${boundarySize} characters > ${MANAGED_POLICY_LIMIT}`);
    });

    it("dev (runsPulumiUp: false) attaches no deploy policy: PR code runs with its role", async () => {
        const dev = await runProgram({ stack: "dev", env: ENV });
        assert.deepStrictEqual(dev.byType("aws:iam/policy:Policy").filter((r) => r.name.includes("deploy")).map((r) => r.name), []);
        assert.strictEqual(dev.one("aws:iam/role:Role", "pipeline-access-role").inputs.path, "/ml-ci-images/dev/");
    });

    describe("as data: only what the config asks for", () => {
        const base: DeployPolicyArgs = { stack: "dev", accountId: ACCOUNT_ID, region: "us-east-1", registryPrefix: "ml-ci-dev", manageRegistrySettings: false, replicates: false, oidcProvider: "lookup", stateBackend: { type: "s3", bucket: "b", prefix: "p" } };
        it("a stack that looks the OIDC provider up and owns no registry settings gets no create and no registry-wide right", async () => {
            const d = deployPolicy(base);
            const actions = d.Statement.flatMap((s) => [s.Action ?? []].flat());
            for (const a of ["iam:CreateOpenIDConnectProvider", "ecr:PutRegistryScanningConfiguration", "ecr:PutReplicationConfiguration", "iam:CreateServiceLinkedRole", "kms:Decrypt"]) assert.ok(!actions.includes(a), a);
            assert.ok(await simulatedAllow([d], "iam:ListOpenIDConnectProviders", "*"));
            assert.strictEqual(stackIamPath("dev"), "/ml-ci-images/dev/");
            assert.deepStrictEqual(findWildcardViolations(d), []);
        });
        it("the secrets key is granted only when configured, on that key only", async () => {
            const key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
            const d = deployPolicy({ ...base, secretsKeyArn: key });
            assert.ok(await simulatedAllow([d], "kms:Decrypt", key));
            assert.ok(!(await simulatedAllow([d], "kms:Decrypt", "arn:aws:kms:us-east-1:123456789012:key/other")));
        });
    });

    describe("moto accepts the generated deploy policy", () => {
        const moto = useMotoIam();
        it("CreatePolicy of prod's deploy policy", () => {
            const ops: IamOp[] = [{ op: "CreatePolicy", name: "prod-deploy", document: JSON.stringify(doc) }];
            assert.deepStrictEqual(rejections(ops, moto().run(ops)), []);
        });
    });
});

describe("ci-images check fails when a stack that runs pulumi up has no deploy rights (#27)", () => {
    /** The fixture project with an access section whose pipeline runs `pulumi up`. */
    function project(access: Record<string, unknown>): string {
        const root = cliFixtureProject();
        const file = path.join(root, "Pulumi.ci.yaml");
        const doc = YAML.parse(fs.readFileSync(file, "utf8"));
        doc.config["mlci:access"] = access;
        // A stack that runs in CI takes Docker Hub credentials by ARN only (ciSecretProblems).
        delete doc.config["mlci:dockerHubAccessToken"];
        doc.config["mlci:registry"] = { ...doc.config["mlci:registry"], pullThroughCache: { enabled: false } };
        fs.writeFileSync(file, YAML.stringify(doc));
        return root;
    }
    const pipeline = { enabled: true, runsPulumiUp: true, oidcProvider: "create", subjects: [{ repo: "pytorch/ml-ci-images", environments: ["prod"] }] };

    it("passes with the generated deploy policy and a declared state backend", async () => {
        const root = project({ pipeline, stateBackend: { type: "s3", bucket: "ml-ci-pulumi-state", prefix: "ml-ci-images" } });
        const r = await runCli(["check", "--stack", "ci", "--root", root]);
        assert.strictEqual(r.code, 0, r.stderr);
    });

    it("fails, naming the config path and the fix, when the state backend is not declared", async () => {
        const r = await runCli(["check", "--stack", "ci", "--root", project({ pipeline })]);
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /config mlci:access\.stateBackend: is not set, so the pipeline role's deploy policy cannot grant the Pulumi state\. Fix: set \{ type: s3/);
    });

    it("fails when runsPulumiUp is set on a disabled pipeline", async () => {
        const r = await runCli(["check", "--stack", "ci", "--root", project({ pipeline: { enabled: false, runsPulumiUp: true }, stateBackend: { type: "pulumi-cloud" } })]);
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /config mlci:access\.pipeline\.runsPulumiUp: is true but access\.pipeline is disabled/);
    });
});
