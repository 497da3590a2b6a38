/**
 * docs/aws-apis.md holds the manifest of every AWS call per actor (#14, #27). This test reads it and checks each call
 * against the policies the program really declares (under mocks): the weekly up's against the pipeline role's push
 * policy and the generated deploy policy, the preview's against the preview policy, publish against dev's push policy,
 * the runner's against prod's and dev's pull policies. And the other way round: the deploy policy grants no action
 * the manifest does not list, on nothing outside the stack. moto's CreatePolicy validates the generated documents.
 */
import * as assert from "assert";
import { documentsAllow, PolicyDocument } from "../lib/access/documents";
import { PROJECT_ROOT, plain, runProgram, RunResult } from "./harness";
import { AwsApiManifest, readManifest } from "./awsApiManifest";
import { IamOp, rejections, useMotoIam } from "./motoIam";

const MANIFEST = readManifest();
const ENV = { MLCI_REBUILD_EPOCH: "2026-11-22" };
const policyOf = (run: RunResult, name: string): PolicyDocument => JSON.parse(plain(run.one("aws:iam/policy:Policy", name).inputs.policy));
const actionsOf = (d: PolicyDocument) => d.Statement.filter((s) => s.Effect === "Allow").flatMap((s) => [s.Action ?? []].flat());

describe("docs/aws-apis.md: the manifest of every actor's AWS calls against the declared policies", function () {
    this.timeout(120_000);
    let push: PolicyDocument, deploy: PolicyDocument, preview: PolicyDocument, devPush: PolicyDocument, prodPull: PolicyDocument, devPull: PolicyDocument;
    before(async () => {
        const prod = await runProgram({ stack: "prod", env: ENV });
        [push, deploy, preview, prodPull] = ["pipeline-access-push-policy", "pipeline-access-deploy-policy", "preview-access-read-policy", "runner-access-pull-policy"].map((n) => policyOf(prod, n));
        const dev = await runProgram({ stack: "dev", env: ENV });
        [devPush, devPull] = ["pipeline-access-push-policy", "runner-access-pull-policy"].map((n) => policyOf(dev, n));
    });

    it("lists every actor, and the weekly up's calls of every kind", () => {
        assert.deepStrictEqual(Object.keys(MANIFEST.actors).sort(), ["preview", "publish", "runner", "weekly-up"]);
        const weekly = new Set(MANIFEST.actors["weekly-up"].calls.map((c) => c.action));
        for (const a of ["ecr:ListImages", "ecr:GetAuthorizationToken", "sts:GetCallerIdentity", "ecr:PutImage", "ecr:DescribeImageScanFindings", "s3:GetObject", "s3:PutObject", "s3:DeleteObject",
            "ecr:CreateRepository", "ecr:PutLifecyclePolicy", "ecr:PutRegistryScanningConfiguration", "ecr:PutReplicationConfiguration", "iam:CreateRole", "iam:PassRole", "iam:CreatePolicyVersion",
            "iam:AttachRolePolicy", "iam:CreateInstanceProfile", "iam:CreateOpenIDConnectProvider", "kms:Decrypt"]) {
            assert.ok(weekly.has(a), `${a} is missing from the weekly up's calls`);
        }
    });

    it("every weekly-up call is granted by the policy it names: the push policy or the generated deploy policy, on that resource", () => {
        const by = { pipeline: [push], deploy: [deploy] } as Record<string, PolicyDocument[]>;
        const denied = MANIFEST.actors["weekly-up"].calls.filter((c) => c.grantedBy !== "none" && !documentsAllow(by[c.grantedBy] ?? [], c.action, c.resource));
        assert.deepStrictEqual(denied.map((c) => `${c.grantedBy}: ${c.action} on ${c.resource}`), []);
        const misfiled = MANIFEST.actors["weekly-up"].calls.filter((c) => c.grantedBy === "deploy" && documentsAllow([push], c.action, c.resource));
        assert.deepStrictEqual(misfiled.map((c) => c.action), [], "a call the push policy already grants belongs to `pipeline`");
    });

    it("the deploy and push policies grant no action the weekly up does not make (nothing undocumented)", () => {
        const documented = (g: string) => new Set(MANIFEST.actors["weekly-up"].calls.filter((c) => c.grantedBy === g).map((c) => c.action));
        assert.deepStrictEqual(actionsOf(deploy).filter((a) => !documented("deploy").has(a)), []);
        assert.deepStrictEqual(actionsOf(push).filter((a) => !documented("pipeline").has(a)), []);
    });

    it("nothing broader than needed: each deploy call's action is refused on the same kind of resource of another stack or owner", () => {
        const elsewhere = (r: string) => r
            .replace("repository/ml-ci/", "repository/other-team/").replace("repository/docker-hub", "repository/other-cache")
            .replace(":role/ml-ci-images/prod/", ":role/ml-ci-images/dev/").replace(":policy/ml-ci-images/prod/", ":policy/someone/").replace(":instance-profile/ml-ci-images/prod/", ":instance-profile/other/")
            .replace(":role/gh-runner-gpu-linux", ":role/admin").replace("ml-ci-pulumi-state/ml-ci-images/", "ml-ci-pulumi-state/other-project/").replace(":key/0f1e", ":key/9999")
            .replace("ecr-pullthroughcache/docker-hub-", "ecr-pullthroughcache/other-");
        const scoped = MANIFEST.actors["weekly-up"].calls.filter((c) => c.grantedBy === "deploy" && c.resource !== "*" && !/s3:::ml-ci-pulumi-state$|oidc-provider|AWSServiceRoleForECRReplication/.test(c.resource));
        assert.ok(scoped.length > 40, `${scoped.length} scoped calls`);
        const broad = scoped.filter((c) => elsewhere(c.resource) !== c.resource && documentsAllow([deploy], c.action, elsewhere(c.resource)));
        assert.deepStrictEqual(broad.map((c) => `${c.action} on ${elsewhere(c.resource)}`), []);
        assert.deepStrictEqual(scoped.filter((c) => elsewhere(c.resource) === c.resource).map((c) => c.resource), [], "every scoped resource has an out-of-scope twin to probe");
    });

    it("the preview, publish and runner calls are granted by their roles' policies, and the preview can neither push nor write state", () => {
        const check = (actor: keyof AwsApiManifest["actors"], docs: PolicyDocument[]) =>
            MANIFEST.actors[actor].calls.filter((c) => c.grantedBy !== "none" && !documentsAllow(docs, c.action, c.resource)).map((c) => `${actor}: ${c.action} on ${c.resource}`);
        assert.deepStrictEqual([...check("preview", [preview]), ...check("publish", [devPush]), ...check("runner", [prodPull, devPull])], []);
        assert.ok(!documentsAllow([preview], "ecr:PutImage", "arn:aws:ecr:us-east-1:123456789012:repository/ml-ci/nightly"));
        assert.ok(!documentsAllow([preview], "s3:PutObject", "arn:aws:s3:::ml-ci-pulumi-state/ml-ci-images/.pulumi/stacks/ml-ci-images/prod.json"));
        assert.ok(!documentsAllow([prodPull, devPull], "ecr:PutImage", "arn:aws:ecr:us-east-1:123456789012:repository/ml-ci-dev/nightly"), "a runner cannot push");
    });

    describe("moto accepts the generated documents", () => {
        const moto = useMotoIam();
        it("CreatePolicy of prod's deploy, push and preview policies", () => {
            const ops: IamOp[] = [["deploy", deploy], ["push", push], ["preview", preview]].map(([n, d]) => ({ op: "CreatePolicy", name: `prod-${n}`, document: JSON.stringify(d) }));
            assert.deepStrictEqual(rejections(ops, moto().run(ops)), []);
        });
    });
});
