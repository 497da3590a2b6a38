/**
 * The second `up` (#27 review, finding 7): after the admin's first `up`, the weekly pipeline applies CHANGES, i.e.
 * updates and deletes, whose calls the create-only derivation of upCalls.ts never exercised. Two runs of the program
 * (prod as committed, and prod with a changed input) are diffed resource by resource; each changed input maps to the
 * calls of terraform-provider-aws's update function for that resource (internal/service/<svc>/<resource>.go), on the
 * world's ARNs; and iam-simulate decides each against the prod pipeline role's policies as IAM stores them. An input
 * change this file has no model for fails the test (so a new resource type cannot slip through unchecked).
 */
import { strict as assert } from "assert";
import { AwsCall, deniedCalls, roleNameOf, roleSession, Session } from "./actors";
import { pipelineCalls } from "./adminOnlyCalls";
import { ACCOUNT_ID, REGION } from "./awsAccount";
import { requireMoto } from "../motoIam";
import { pulumiUp, UpResult, World } from "./world";
import { RecordedResource, runProgram } from "../harness";

const ENV = { MLCI_REBUILD_EPOCH: "2026-11-22" };
const repoArn = (name: string) => `arn:aws:ecr:${REGION}:${ACCOUNT_ID}:repository/${name}`;
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** The update calls of one resource whose inputs went from `before` to `after` (terraform-provider-aws update functions). */
export function updateCallsOf(world: World, stack: string, r: RecordedResource, before: Record<string, any>, after: Record<string, any>): AwsCall[] {
    const changed = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((k) => !same(before[k], after[k]));
    if (changed.length === 0) return [];
    const why = `${r.type} ${r.name} update (${changed.join(", ")})`;
    const iamArn = (kind: string) => {
        const p = world.iamResourcePath(stack, r.name);
        if (p === undefined) throw new Error(`the world has no ${r.name} of ${stack}`);
        return `arn:aws:iam::${ACCOUNT_ID}:${kind}/${p}`;
    };
    const calls: AwsCall[] = [];
    const unknown: string[] = [];
    const add = (resource: string, actions: string[]) => actions.forEach((action) => calls.push({ action, resource, why }));
    for (const key of changed) {
        switch (`${r.type}.${key}`) {
            case "aws:ecr/lifecyclePolicy:LifecyclePolicy.policy": // lifecycle_policy.go: update = PutLifecyclePolicy, then read
                add(repoArn(after.repository), ["ecr:PutLifecyclePolicy", "ecr:GetLifecyclePolicy"]);
                break;
            case "aws:ecr/repositoryPolicy:RepositoryPolicy.policy": // repository_policy.go: SetRepositoryPolicy, then read
                add(repoArn(after.repository), ["ecr:SetRepositoryPolicy", "ecr:GetRepositoryPolicy"]);
                break;
            case "aws:ecr/repository:Repository.imageTagMutability":
                add(repoArn(after.name), ["ecr:PutImageTagMutability", "ecr:DescribeRepositories"]);
                break;
            case "aws:ecr/repository:Repository.imageScanningConfiguration":
                add(repoArn(after.name), ["ecr:PutImageScanningConfiguration", "ecr:DescribeRepositories"]);
                break;
            case "aws:ecr/repository:Repository.tags":
                add(repoArn(after.name), ["ecr:TagResource", "ecr:UntagResource", "ecr:ListTagsForResource"]);
                break;
            case "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate.lifecyclePolicy": // repository_creation_template.go: UpdateRepositoryCreationTemplate, then read
                add("*", ["ecr:UpdateRepositoryCreationTemplate", "ecr:DescribeRepositoryCreationTemplates"]);
                break;
            case "aws:iam/role:Role.description": // role.go resourceRoleUpdate: UpdateRoleDescription
                add(iamArn("role"), ["iam:UpdateRoleDescription", "iam:GetRole"]);
                break;
            case "aws:iam/role:Role.maxSessionDuration": // role.go: UpdateRole
                add(iamArn("role"), ["iam:UpdateRole", "iam:GetRole"]);
                break;
            case "aws:iam/role:Role.assumeRolePolicy": // role.go: UpdateAssumeRolePolicy
                add(iamArn("role"), ["iam:UpdateAssumeRolePolicy", "iam:GetRole"]);
                break;
            case "aws:iam/role:Role.tags":
                add(iamArn("role"), ["iam:TagRole", "iam:UntagRole"]);
                break;
            case "aws:iam/policy:Policy.policy": // policy.go resourcePolicyUpdate: prune to < 5 versions, CreatePolicyVersion (default), read
                add(iamArn("policy"), ["iam:ListPolicyVersions", "iam:DeletePolicyVersion", "iam:CreatePolicyVersion", "iam:GetPolicy", "iam:GetPolicyVersion"]);
                break;
            case "aws:iam/policy:Policy.tags":
                add(iamArn("policy"), ["iam:TagPolicy", "iam:UntagPolicy"]);
                break;
            default:
                if (r.type.startsWith("command:") || r.type.startsWith("github:") || r.type.startsWith("docker-build:") || r.type.startsWith("pulumi:providers:")) break; // no AWS IAM call
                unknown.push(`${r.type}.${key}`);
        }
    }
    if (unknown.length > 0) throw new Error(`no model for the update of ${unknown.join(", ")} (${r.name}): add its terraform-provider-aws update calls`);
    return calls;
}

/** The update calls of going from one program run to another (resources in both, by type and name). */
function diffCalls(world: World, stack: string, base: RecordedResource[], changed: RecordedResource[]): AwsCall[] {
    const byKey = new Map(base.map((r) => [`${r.type}::${r.name}`, r]));
    return changed.flatMap((r) => {
        const old = byKey.get(`${r.type}::${r.name}`);
        return old === undefined ? [] : updateCallsOf(world, stack, r, old.inputs, r.inputs);
    });
}

describe("rehearsal: the second up of prod, with changed inputs, as the pipeline role (#27 review, finding 7)", function () {
    this.timeout(180_000);
    let world: World;
    let prod: UpResult;
    let pipeline: Session;
    let base: RecordedResource[];

    before(async function () {
        requireMoto(this, "The second-up rehearsal");
        world = await World.create();
        prod = await pulumiUp(world, "prod", { env: { GITHUB_TOKEN: "ghp_admin_session_token" } });
        pipeline = await roleSession(world, roleNameOf(prod.outputs.pipelineRoleArn), "ml-ci-images-weekly-rebuild");
        base = (await runProgram({ stack: "prod", env: ENV })).resources;
    });
    after(() => world?.stop());

    it("a retention change (registry.retention.untaggedDays 1 → 3) updates every lifecycle policy, and the pipeline role may", async () => {
        const changed = (await runProgram({ stack: "prod", env: ENV, overrides: { registry: { retention: { untaggedDays: 3 } } } })).resources;
        const calls = diffCalls(world, "prod", base, changed);
        const lifecycles = base.filter((r) => r.type === "aws:ecr/lifecyclePolicy:LifecyclePolicy").length;
        assert.ok(lifecycles > 0);
        assert.equal(calls.filter((c) => c.action === "ecr:PutLifecyclePolicy").length, lifecycles, calls.map((c) => c.why).join("\n"));
        assert.deepEqual(await deniedCalls(world, pipeline, pipelineCalls("prod", calls)), []);
    });

    it("a new release rewording every role's description updates the three roles (iam:UpdateRoleDescription), and the pipeline role may", async () => {
        const roles = base.filter((r) => r.type === "aws:iam/role:Role");
        assert.equal(roles.length, 3);
        const calls = roles.flatMap((r) => updateCallsOf(world, "prod", r, r.inputs, { ...r.inputs, description: `${r.inputs.description} (reworded)` }));
        assert.equal(calls.filter((c) => c.action === "iam:UpdateRoleDescription").length, 3);
        assert.deepEqual(await deniedCalls(world, pipeline, pipelineCalls("prod", calls)), []);
    });

    it("a new push policy document and a new pull policy document: the update calls are the pipeline's, except the shared pull policy's new version, which is the admin's", async () => {
        const pull = base.find((r) => r.type === "aws:iam/policy:Policy" && r.name === "runner-access-pull-policy")!;
        const push = base.find((r) => r.type === "aws:iam/policy:Policy" && r.name === "pipeline-access-push-policy")!;
        const calls = [pull, push].flatMap((r) => updateCallsOf(world, "prod", r, r.inputs, { ...r.inputs, policy: `${r.inputs.policy} ` }));
        const pipelines = pipelineCalls("prod", calls);
        assert.deepEqual(calls.filter((c) => !pipelines.includes(c)).map((c) => `${c.action} ${c.why}`), [`iam:CreatePolicyVersion ${calls.find((c) => c.why!.startsWith("aws:iam/policy:Policy runner-access-pull-policy"))!.why}`]);
        assert.deepEqual(await deniedCalls(world, pipeline, pipelines), []);
        assert.equal((await deniedCalls(world, pipeline, calls.filter((c) => !pipelines.includes(c)))).length, 1, "the pipeline is denied the shared pull policy's new version");
    });
});
