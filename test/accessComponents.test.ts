import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import type { PolicyDocument } from "../lib/access/documents";
import type * as RunnerModule from "../components/access/runnerPullAccess";
import type * as PipelineModule from "../components/access/pipelinePushAccess";
import { IamOp, rejections, roleOps, useMotoIam } from "./motoIam";

const ACCOUNT = "123456789012";
const REPOS = [
    `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/ml-ci/nightly`,
    `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/ml-ci/stable`,
];
const CACHE = `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/docker-hub/*`;
const GITHUB_PROVIDER = `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`;

interface Recorded { type: string; name: string; inputs: Record<string, unknown> }
const recorded: Recorded[] = [];
/** Names of resources seen by the component's transformation, i.e. parented (transitively) to it. */
const parented = new Set<string>();

/** Realistic provider state for the IAM types the components create. */
function stateFor(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
    const physical = (inputs.name as string | undefined) ?? `${name}-1a2b3c4`;
    switch (type) {
        case "aws:iam/role:Role":
            return { ...inputs, name: physical, arn: `arn:aws:iam::${ACCOUNT}:role/${physical}`, uniqueId: "AROAEXAMPLE" };
        case "aws:iam/policy:Policy":
            return { ...inputs, name: physical, arn: `arn:aws:iam::${ACCOUNT}:policy/${physical}`, policyId: "ANPAEXAMPLE" };
        case "aws:iam/instanceProfile:InstanceProfile":
            return { ...inputs, name: physical, arn: `arn:aws:iam::${ACCOUNT}:instance-profile/${physical}` };
        case "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
            return { ...inputs, arn: `arn:aws:iam::${ACCOUNT}:oidc-provider/${String(inputs.url).replace(/^https:\/\//, "")}` };
        default:
            return { ...inputs };
    }
}

/** Resolves an Output in a test (asserting inside apply would never reach mocha). */
function unwrap<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply((v) => { resolve(v); return v; }));
}

/** Waits until every pending resource registration has reached the mocks. */
async function settled(): Promise<void> {
    const waitForRPCs = (pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> }).waitForRPCs;
    if (waitForRPCs === undefined) throw new Error("pulumi.runtime.waitForRPCs is gone; update settled()");
    await waitForRPCs();
}

/** Component options that record every child the component parents. */
const recordingOpts = (): pulumi.ComponentResourceOptions => ({
    transformations: [(a) => { parented.add(a.name); return undefined; }],
});

function only(type: string, name: string): Recorded {
    const found = recorded.filter((r) => r.type === type && r.name === name);
    assert.strictEqual(found.length, 1, `expected one ${type} named ${name}; recorded: ${recorded.map((r) => `${r.type}::${r.name}`).join(", ")}`);
    return found[0];
}
/** Custom resources whose name is derived from the component name `prefix` (component names in this file are not prefixes of each other). */
const ofComponent = (prefix: string): Recorded[] => recorded.filter((r) => r.name.startsWith(`${prefix}-`) && !r.type.startsWith("mlci:"));
const doc = (r: Recorded, key: string): PolicyDocument => JSON.parse(r.inputs[key] as string) as PolicyDocument;

describe("access components (mocked Pulumi)", () => {
    let runnerModule: typeof RunnerModule;
    let pipelineModule: typeof PipelineModule;
    let findWildcardViolations: (d: PolicyDocument | string) => string[];

    before(async () => {
        await pulumi.runtime.setMocks({
            newResource: (args) => {
                recorded.push({ type: args.type, name: args.name, inputs: args.inputs });
                return { id: `${args.name}-id`, state: stateFor(args.type, args.name, args.inputs) };
            },
            call: (args) => args.inputs,
        }, "ml-ci-images", "test", false);
        runnerModule = await import("../components/access/runnerPullAccess");
        pipelineModule = await import("../components/access/pipelinePushAccess");
        ({ findWildcardViolations } = await import("../lib/access/wildcardLinter"));
    });

    describe("RunnerPullAccess with a new role and existing runner roles", () => {
        const name = "gpu-runners";
        let outputs: Record<string, string | undefined>;

        before(async () => {
            const access = new runnerModule.RunnerPullAccess(name, {
                repositoryArns: [pulumi.output(REPOS[0]), REPOS[1]],
                pullThroughCacheRepositoryArnPattern: CACHE,
                existingRoleNames: ["gh-runner-gpu", "gh-runner-cpu"],
            }, recordingOpts());
            outputs = {
                roleArn: await unwrap(access.roleArn),
                roleName: await unwrap(access.roleName),
                instanceProfileName: await unwrap(access.instanceProfileName),
                instanceProfileArn: await unwrap(access.instanceProfileArn),
                policyArn: await unwrap(access.policyArn),
            };
            await settled();
        });

        it("creates a role that only EC2 can assume", () => {
            const role = only("aws:iam/role:Role", `${name}-role`);
            assert.deepStrictEqual(doc(role, "assumeRolePolicy").Statement, [
                { Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" },
            ]);
        });

        it("creates a pull policy on exactly the given repositories and the cache, with * only for GetAuthorizationToken", () => {
            const policy = doc(only("aws:iam/policy:Policy", `${name}-pull-policy`), "policy");
            assert.deepStrictEqual(findWildcardViolations(policy), []);
            const resources = new Set(policy.Statement.flatMap((s) => ([] as string[]).concat(s.Resource ?? [])));
            assert.deepStrictEqual([...resources].sort(), ["*", CACHE, ...REPOS].sort());
            const star = policy.Statement.filter((s) => ([] as string[]).concat(s.Resource ?? []).includes("*"));
            assert.deepStrictEqual(star.map((s) => s.Action), ["ecr:GetAuthorizationToken"]);
        });

        it("attaches the policy to the new role and to each existing role by name", () => {
            const policyArn = outputs.policyArn;
            assert.match(policyArn ?? "", /^arn:aws:iam::123456789012:policy\/gpu-runners-pull-policy-/);
            const attachments = recorded.filter((r) => r.type === "aws:iam/rolePolicyAttachment:RolePolicyAttachment" && r.name.startsWith(`${name}-`));
            assert.deepStrictEqual(
                attachments.map((a) => [a.name, a.inputs.role, a.inputs.policyArn]).sort(),
                [
                    [`${name}-pull-attachment`, outputs.roleName, policyArn],
                    [`${name}-pull-gh-runner-cpu`, "gh-runner-cpu", policyArn],
                    [`${name}-pull-gh-runner-gpu`, "gh-runner-gpu", policyArn],
                ].sort());
        });

        it("creates an instance profile for the role and outputs its name and ARN", () => {
            const profile = only("aws:iam/instanceProfile:InstanceProfile", `${name}-instance-profile`);
            assert.strictEqual(profile.inputs.role, outputs.roleName);
            assert.match(outputs.roleArn ?? "", /^arn:aws:iam::123456789012:role\/gpu-runners-role-/);
            assert.match(outputs.instanceProfileName ?? "", /^gpu-runners-instance-profile-/);
            assert.strictEqual(outputs.instanceProfileArn, `arn:aws:iam::123456789012:instance-profile/${outputs.instanceProfileName}`);
        });

        it("parents every child to the component and names it from the component name", () => {
            const children = ofComponent(name);
            assert.strictEqual(children.length, 6, children.map((c) => c.name).join(", "));
            assert.deepStrictEqual(children.filter((c) => !parented.has(c.name)).map((c) => c.name), []);
        });
    });

    describe("RunnerPullAccess attached to existing roles only", () => {
        const name = "existing-runners";
        let outputs: Array<string | undefined>;

        before(async () => {
            const access = new runnerModule.RunnerPullAccess(name, {
                repositoryArns: REPOS,
                createRole: false,
                existingRoleNames: ["gh-runner-gpu"],
            }, recordingOpts());
            outputs = [await unwrap(access.roleArn), await unwrap(access.instanceProfileName), await unwrap(access.instanceProfileArn)];
            await unwrap(access.policyArn);
            await settled();
        });

        it("creates no role or instance profile and outputs them as undefined", () => {
            assert.deepStrictEqual(ofComponent(name).map((r) => r.type).sort(), [
                "aws:iam/policy:Policy",
                "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            ]);
            assert.deepStrictEqual(outputs, [undefined, undefined, undefined]);
        });

        it("attaches the policy to the existing role and grants no cache access without a cache pattern", () => {
            const attachment = only("aws:iam/rolePolicyAttachment:RolePolicyAttachment", `${name}-pull-gh-runner-gpu`);
            assert.strictEqual(attachment.inputs.role, "gh-runner-gpu");
            const policy = doc(only("aws:iam/policy:Policy", `${name}-pull-policy`), "policy");
            assert.ok(!JSON.stringify(policy).includes("docker-hub"));
            assert.ok(!JSON.stringify(policy).includes("BatchImportUpstreamImage"));
        });
    });

    describe("PipelinePushAccess creating the GitHub OIDC provider", () => {
        const name = "image-pipeline";
        let roleArn: string;
        let providerArn: string;

        before(async () => {
            const access = new pipelineModule.PipelinePushAccess(name, {
                repositoryArns: REPOS.map((r) => pulumi.output(r)),
                subjects: [{ repo: "pytorch/rl", branches: ["main"], environments: ["prod"] }],
                deployPolicyArns: [`arn:aws:iam::${ACCOUNT}:policy/mlci/deploy`, "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryFullAccess"],
            }, recordingOpts());
            roleArn = await unwrap(access.roleArn);
            providerArn = await unwrap(access.oidcProviderArn);
            await unwrap(access.policyArn);
            await settled();
        });

        it("creates the provider for token.actions.githubusercontent.com with audience sts.amazonaws.com", () => {
            const provider = only("aws:iam/openIdConnectProvider:OpenIdConnectProvider", `${name}-github-oidc`);
            assert.strictEqual(provider.inputs.url, "https://token.actions.githubusercontent.com");
            assert.deepStrictEqual(provider.inputs.clientIdLists, ["sts.amazonaws.com"]);
            assert.strictEqual(providerArn, GITHUB_PROVIDER);
        });

        it("lets only the configured subjects assume the role through that provider", () => {
            const trust = doc(only("aws:iam/role:Role", `${name}-role`), "assumeRolePolicy");
            assert.deepStrictEqual(trust.Statement.map((s) => [s.Principal, s.Action, s.Condition]), [[
                { Federated: GITHUB_PROVIDER },
                "sts:AssumeRoleWithWebIdentity",
                { StringEquals: {
                    "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                    "token.actions.githubusercontent.com:sub": ["repo:pytorch/rl:environment:prod", "repo:pytorch/rl:ref:refs/heads/main"],
                } },
            ]]);
            assert.match(roleArn, /^arn:aws:iam::123456789012:role\/image-pipeline-role-/);
        });

        it("attaches a push policy scoped to the repositories, with * only for GetAuthorizationToken", () => {
            const policy = doc(only("aws:iam/policy:Policy", `${name}-push-policy`), "policy");
            assert.deepStrictEqual(findWildcardViolations(policy), []);
            const push = policy.Statement.find((s) => ([] as string[]).concat(s.Action ?? []).includes("ecr:PutImage"));
            assert.deepStrictEqual(push?.Resource, [...REPOS].sort());
            const attachment = only("aws:iam/rolePolicyAttachment:RolePolicyAttachment", `${name}-push-attachment`);
            assert.match(String(attachment.inputs.policyArn), /^arn:aws:iam::123456789012:policy\/image-pipeline-push-policy-/);
        });

        it("attaches exactly the configured deploy policies, named by ARN rather than position", () => {
            const deploy = ofComponent(name).filter((r) => r.name.startsWith(`${name}-deploy-`));
            assert.deepStrictEqual(deploy.map((r) => [r.name, r.inputs.policyArn]).sort(), [
                [`${name}-deploy-123456789012-mlci-deploy`, `arn:aws:iam::${ACCOUNT}:policy/mlci/deploy`],
                [`${name}-deploy-aws-AmazonEC2ContainerRegistryFullAccess`, "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryFullAccess"],
            ]);
            assert.ok(deploy.every((r) => /^image-pipeline-role-/.test(String(r.inputs.role))));
        });

        it("parents every child to the component", () => {
            const children = ofComponent(name);
            assert.strictEqual(children.length, 6, children.map((c) => c.name).join(", "));
            assert.deepStrictEqual(children.filter((c) => !parented.has(c.name)).map((c) => c.name), []);
        });
    });

    describe("PipelinePushAccess referencing an existing OIDC provider", () => {
        const name = "shared-oidc-pipeline";
        const existing = `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`;
        let providerArn: string;

        before(async () => {
            const access = new pipelineModule.PipelinePushAccess(name, {
                repositoryArns: REPOS,
                subjects: [{ repo: "pytorch/rl", branches: ["main", "release/*"] }],
                oidcProviderArn: existing,
                pullThroughCacheRepositoryArnPattern: CACHE,
            }, recordingOpts());
            providerArn = await unwrap(access.oidcProviderArn);
            await unwrap(access.roleArn);
            await unwrap(access.policyArn);
            await settled();
        });

        it("creates no provider and trusts the referenced one", () => {
            assert.strictEqual(ofComponent(name).filter((r) => r.type.includes("openIdConnectProvider")).length, 0);
            assert.strictEqual(providerArn, existing);
            const trust = doc(only("aws:iam/role:Role", `${name}-role`), "assumeRolePolicy");
            assert.ok(trust.Statement.every((s) => JSON.stringify(s.Principal) === JSON.stringify({ Federated: existing })));
        });

        it("puts branch patterns in StringLike and exact branches in StringEquals", () => {
            const trust = doc(only("aws:iam/role:Role", `${name}-role`), "assumeRolePolicy");
            assert.deepStrictEqual(trust.Statement.map((s) => s.Condition?.StringLike?.["token.actions.githubusercontent.com:sub"]), [
                undefined, ["repo:pytorch/rl:ref:refs/heads/release/*"],
            ]);
            assert.deepStrictEqual(trust.Statement[0].Condition?.StringEquals?.["token.actions.githubusercontent.com:sub"], ["repo:pytorch/rl:ref:refs/heads/main"]);
            assert.strictEqual(ofComponent(name).filter((r) => r.name.startsWith(`${name}-deploy-`)).length, 0);
        });

        it("refuses to build a role for subjects that trust nothing", () => {
            assert.throws(() => new pipelineModule.PipelinePushAccess("empty-pipeline", { repositoryArns: REPOS, subjects: [], oidcProviderArn: existing }), /PipelinePushAccessArgs: subjects: is empty/);
        });
    });

    describe("moto accepts the documents the components actually declare", function () {
        const moto = useMotoIam();

        it("every recorded policy, trust policy and OIDC provider is accepted", () => {
            const ops: IamOp[] = recorded.flatMap((r): IamOp[] => {
                switch (r.type) {
                    case "aws:iam/policy:Policy": return [{ op: "CreatePolicy", name: r.name, document: r.inputs.policy as string }];
                    case "aws:iam/role:Role": return roleOps(r.name, r.inputs.assumeRolePolicy as string);
                    case "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
                        return [{ op: "CreateOpenIDConnectProvider", url: r.inputs.url as string, clientIds: r.inputs.clientIdLists as string[] }];
                    default: return [];
                }
            });
            assert.ok(ops.length >= 9, `expected the documents of all four components, got ${ops.length} ops`);
            assert.deepStrictEqual(rejections(ops, moto().run(ops)), []);
        });
    });
});
