/**
 * docs/aws-apis.md holds the manifest of every AWS call per actor (#14, #27). This test reads it and checks each call
 * against the policies the program really declares (under mocks): the weekly up's against the pipeline role's push
 * policy and the generated deploy policy, the preview's against the preview policy, publish against dev's push policy,
 * the runner's against prod's and dev's pull policies. And the other way round: the deploy policy grants no action
 * the manifest does not list, on nothing outside the stack. moto's CreatePolicy validates the generated documents.
 * Every decision is iam-simulate's (test/simulatedPolicies.ts), with the condition keys each call carries.
 */
import * as assert from "assert";
import { PolicyDocument } from "../lib/access/documents";
import { simulatedAllow, upContext } from "./simulatedPolicies";
import { PROJECT_ROOT, plain, runProgram, RunResult } from "./harness";
import { AwsApiManifest, readManifest } from "./awsApiManifest";
import { IamOp, rejections, useMotoIam } from "./motoIam";

const MANIFEST = readManifest();
const ENV = { MLCI_REBUILD_EPOCH: "2026-11-22" };
const policyOf = (run: RunResult, name: string): PolicyDocument => JSON.parse(plain(run.one("aws:iam/policy:Policy", name).inputs.policy));
/** The context of a manifest call: the S3 backend's list prefix, the boundary of CreateRole, EC2 for PassRole, the pull policy for an attach. */
function contextOf(c: { action: string; resource: string }): Record<string, string> {
    if (c.action === "s3:ListBucket") return { "s3:prefix": "ml-ci-images/.pulumi/stacks/ml-ci-images/prod.json" };
    if (/^iam:(Attach|Detach)RolePolicy$/.test(c.action)) return { "iam:PolicyARN": "arn:aws:iam::123456789012:policy/ml-ci-images/prod/runner-access-pull-policy-a1b2c3d" };
    if (c.action === "iam:CreateServiceLinkedRole") return { "iam:AWSServiceName": c.resource.split("/")[2] };
    return upContext(c.action, "prod");
}
/** The calls (of `calls`) the documents do NOT allow, by iam-simulate. */
async function notAllowed<C extends { action: string; resource: string }>(docs: PolicyDocument[], calls: C[]): Promise<C[]> {
    const out: C[] = [];
    for (const c of calls) if (!(await simulatedAllow(docs, c.action, c.resource, contextOf(c)))) out.push(c);
    return out;
}
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

    it("every weekly-up call is granted by the policy it names: the push policy or the generated deploy policy, on that resource", async () => {
        const by = { pipeline: [push], deploy: [deploy] } as Record<string, PolicyDocument[]>;
        const denied: typeof MANIFEST.actors["weekly-up"]["calls"] = [];
        for (const c of MANIFEST.actors["weekly-up"].calls.filter((c) => c.grantedBy !== "none")) denied.push(...(await notAllowed(by[c.grantedBy] ?? [], [c])));
        assert.deepStrictEqual(denied.map((c) => `${c.grantedBy}: ${c.action} on ${c.resource}`), []);
        const deployCalls = MANIFEST.actors["weekly-up"].calls.filter((c) => c.grantedBy === "deploy");
        const refused = new Set(await notAllowed([push], deployCalls));
        // The registry settings' read is also in the push policy (the scan gate), and in the deploy policy itself so the
        // stack owning RegistryScanningConfiguration reads what it manages without relying on the push policy.
        const misfiled = deployCalls.filter((c) => !refused.has(c) && c.action !== "ecr:GetRegistryScanningConfiguration");
        assert.deepStrictEqual(misfiled.map((c) => c.action), [], "a call the push policy already grants belongs to `pipeline`");
    });

    it("the deploy and push policies grant no action the weekly up does not make (nothing undocumented)", () => {
        const documented = (g: string) => new Set(MANIFEST.actors["weekly-up"].calls.filter((c) => c.grantedBy === g).map((c) => c.action));
        assert.deepStrictEqual(actionsOf(deploy).filter((a) => !documented("deploy").has(a)), []);
        assert.deepStrictEqual(actionsOf(push).filter((a) => !documented("pipeline").has(a)), []);
    });

    it("nothing broader than needed: each deploy call's action is refused on the same kind of resource of another stack or owner", async () => {
        const elsewhere = (r: string) => r
            .replace("repository/ml-ci/", "repository/other-team/").replace("repository/docker-hub", "repository/other-cache")
            .replace(":role/ml-ci-images/prod/", ":role/ml-ci-images/dev/").replace(":policy/ml-ci-images/prod/", ":policy/someone/").replace(":instance-profile/ml-ci-images/prod/", ":instance-profile/other/")
            .replace(":role/gh-runner-gpu-linux", ":role/admin").replace("ml-ci-pulumi-state/ml-ci-images/", "ml-ci-pulumi-state/other-project/").replace(":key/0f1e", ":key/9999")
            .replace("ecr-pullthroughcache/docker-hub-", "ecr-pullthroughcache/other-");
        const scoped = MANIFEST.actors["weekly-up"].calls.filter((c) => c.grantedBy === "deploy" && c.resource !== "*" && !/s3:::ml-ci-pulumi-state$|oidc-provider|AWSServiceRoleForECR(Replication|PullThroughCache)/.test(c.resource));
        assert.ok(scoped.length > 40, `${scoped.length} scoped calls`);
        const probes = scoped.filter((c) => elsewhere(c.resource) !== c.resource).map((c) => ({ ...c, resource: elsewhere(c.resource) }));
        const refusedProbes = new Set(await notAllowed([deploy], probes));
        const broad = probes.filter((c) => !refusedProbes.has(c)).map((c) => ({ ...c, resource: c.resource }));
        assert.deepStrictEqual(broad.map((c) => `${c.action} on ${c.resource}`), []);
        assert.deepStrictEqual(scoped.filter((c) => elsewhere(c.resource) === c.resource).map((c) => c.resource), [], "every scoped resource has an out-of-scope twin to probe");
    });

    it("the preview, publish and runner calls are granted by their roles' policies, and the preview can neither push nor write state", async () => {
        const check = async (actor: keyof AwsApiManifest["actors"], docs: PolicyDocument[]) =>
            (await notAllowed(docs, MANIFEST.actors[actor].calls.filter((c) => c.grantedBy !== "none"))).map((c) => `${actor}: ${c.action} on ${c.resource}`);
        assert.deepStrictEqual([...(await check("preview", [preview])), ...(await check("publish", [devPush])), ...(await check("runner", [prodPull, devPull]))], []);
        assert.ok(!(await simulatedAllow([preview], "ecr:PutImage", "arn:aws:ecr:us-east-1:123456789012:repository/ml-ci/nightly")));
        assert.ok(!(await simulatedAllow([preview], "s3:PutObject", "arn:aws:s3:::ml-ci-pulumi-state/ml-ci-images/.pulumi/stacks/ml-ci-images/prod.json")));
        assert.ok(!(await simulatedAllow([prodPull, devPull], "ecr:PutImage", "arn:aws:ecr:us-east-1:123456789012:repository/ml-ci-dev/nightly")), "a runner cannot push");
    });

    describe("moto accepts the generated documents", () => {
        const moto = useMotoIam();
        it("CreatePolicy of prod's deploy, push and preview policies", () => {
            const ops: IamOp[] = [["deploy", deploy], ["push", push], ["preview", preview]].map(([n, d]) => ({ op: "CreatePolicy", name: `prod-${n}`, document: JSON.stringify(d) }));
            assert.deepStrictEqual(rejections(ops, moto().run(ops)), []);
        });
    });
});
