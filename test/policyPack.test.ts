import * as assert from "assert";
import {
    PolicyResource,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationPolicy,
    unknownCheckingProxy,
} from "@pulumi/policy";
import {
    guardrailPolicies,
    knownSnapshot,
    RESOURCE_TYPES,
    tagOfReference,
    UNKNOWN,
} from "../policy/rules";
import { RecordedResource, RunOptions, runProgram } from "./harness";

// The analyzer's preview-time sentinels (internal to @pulumi/policy, so read untyped): props arrive wrapped in
// `unknownCheckingProxy`, which throws UnknownValueError when one of these is read.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const sentinels = require("@pulumi/policy/proxy") as Record<"unknownStringValue" | "unknownBooleanValue" | "unknownArrayValue" | "unknownObjectValue", string>;

const PROJECT = "ml-ci-images";
const HASH = "0123456789ab";
const DIGEST = `sha256:${"e3".repeat(32)}`;
const REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

interface FakeResource {
    type: string;
    name: string;
    props: Record<string, unknown>;
    stack?: string;
    protect?: boolean;
}

const urnOf = (r: FakeResource): string => `urn:pulumi:${r.stack ?? "dev"}::${PROJECT}::${r.type}::${r.name}`;

const optsOf = (r: FakeResource) => ({
    protect: r.protect ?? false,
    ignoreChanges: [],
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: [],
});

/** What the analyzer passes to `validateResource`, props wrapped in the real unknown-checking proxy. */
function resourceArgs(r: FakeResource, config: object = {}): ResourceValidationArgs {
    return {
        type: r.type,
        name: r.name,
        urn: urnOf(r),
        props: unknownCheckingProxy(r.props),
        opts: optsOf(r),
        stackTags: new Map(),
        isType: () => false,
        asType: () => undefined,
        getConfig: <T extends object>() => config as T,
        notApplicable: (reason?: string): never => { throw new Error(`not applicable: ${reason}`); },
    };
}

function stackResource(r: FakeResource): PolicyResource {
    return {
        type: r.type,
        name: r.name,
        urn: urnOf(r),
        props: unknownCheckingProxy(r.props),
        opts: optsOf(r),
        dependencies: [],
        propertyDependencies: {},
        isType: () => false,
        asType: () => undefined,
    };
}

function resourcePolicy(name: string): ResourceValidationPolicy {
    const p = guardrailPolicies.find((x) => x.name === name);
    assert.ok(p !== undefined && "validateResource" in p, `no resource policy ${name}`);
    return p as ResourceValidationPolicy;
}

/** Runs one resource policy the way the analyzer does and returns the reported messages. */
async function violationsOf(policyName: string, r: FakeResource, config: object = {}): Promise<string[]> {
    const messages: string[] = [];
    const validations = resourcePolicy(policyName).validateResource;
    for (const validate of Array.isArray(validations) ? validations : validations !== undefined ? [validations] : []) {
        await validate(resourceArgs(r, config), (message) => messages.push(message));
    }
    return messages;
}

async function stackViolationsOf(resources: FakeResource[]): Promise<{ message: string; urn?: string }[]> {
    const p = guardrailPolicies.find((x) => x.name === "ecr-lifecycle-policy") as StackValidationPolicy;
    const reported: { message: string; urn?: string }[] = [];
    await p.validateStack({
        resources: resources.map(stackResource),
        stackTags: new Map(),
        getConfig: <T extends object>() => ({}) as T,
        notApplicable: (reason?: string): never => { throw new Error(`not applicable: ${reason}`); },
    }, (message, urn) => reported.push({ message, urn }));
    return reported;
}

function repository(name: string, overrides: Record<string, unknown> = {}, extra: Partial<FakeResource> = {}): FakeResource {
    return {
        type: RESOURCE_TYPES.ecrRepository,
        name: `repo-${name.replace("/", "-")}`,
        props: {
            name,
            forceDelete: false,
            imageScanningConfiguration: { scanOnPush: true },
            imageTagMutability: "IMMUTABLE_WITH_EXCLUSION",
            imageTagMutabilityExclusionFilters: [{ filter: "*-latest", filterType: "WILDCARD" }],
            encryptionConfigurations: [{ encryptionType: "AES256" }],
            tags: { project: PROJECT },
            ...overrides,
        },
        ...extra,
    };
}

const lifecyclePolicy = (resourceName: string, repositoryName: unknown): FakeResource => ({
    type: RESOURCE_TYPES.ecrLifecyclePolicy,
    name: resourceName,
    props: { repository: repositoryName, policy: JSON.stringify({ rules: [] }) },
});

const iamPolicy = (name: string, document: unknown, type: string = RESOURCE_TYPES.iamPolicy): FakeResource => ({
    type,
    name,
    props: { policy: typeof document === "string" ? document : JSON.stringify(document) },
});

const runnerPullDocument = {
    Version: "2012-10-17",
    Statement: [
        { Sid: "EcrLogin", Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" },
        {
            Sid: "Pull",
            Effect: "Allow",
            Action: ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            Resource: [`arn:aws:ecr:us-east-1:123456789012:repository/ml-ci/base`, `arn:aws:ecr:us-east-1:123456789012:repository/ml-ci/nightly`],
        },
    ],
};

function image(name: string, props: Record<string, unknown>): FakeResource {
    return {
        type: RESOURCE_TYPES.dockerBuildImage,
        name,
        props: {
            context: { location: "docker/nightly" },
            dockerfile: { location: "docker/nightly/Dockerfile" },
            platforms: ["linux/amd64"],
            ...props,
        },
    };
}

describe("policy pack resource type tokens", () => {
    it("match the __pulumiType of the provider SDK classes the program creates", () => {
        /* eslint-disable @typescript-eslint/no-var-requires */
        assert.strictEqual(RESOURCE_TYPES.ecrRepository, require("@pulumi/aws/ecr/repository").Repository.__pulumiType);
        assert.strictEqual(RESOURCE_TYPES.ecrLifecyclePolicy, require("@pulumi/aws/ecr/lifecyclePolicy").LifecyclePolicy.__pulumiType);
        assert.strictEqual(RESOURCE_TYPES.iamPolicy, require("@pulumi/aws/iam/policy").Policy.__pulumiType);
        assert.strictEqual(RESOURCE_TYPES.iamRolePolicy, require("@pulumi/aws/iam/rolePolicy").RolePolicy.__pulumiType);
        assert.strictEqual(RESOURCE_TYPES.iamUserPolicy, require("@pulumi/aws/iam/userPolicy").UserPolicy.__pulumiType);
        assert.strictEqual(RESOURCE_TYPES.iamGroupPolicy, require("@pulumi/aws/iam/groupPolicy").GroupPolicy.__pulumiType);
        assert.strictEqual(RESOURCE_TYPES.iamRole, require("@pulumi/aws/iam/role").Role.__pulumiType);
        assert.strictEqual(RESOURCE_TYPES.dockerBuildImage, require("@pulumi/docker-build/image").Image.__pulumiType);
        /* eslint-enable @typescript-eslint/no-var-requires */
    });

    it("every policy is mandatory and uniquely named", () => {
        const names = guardrailPolicies.map((p) => p.name);
        assert.deepStrictEqual(names, [
            "ecr-scan-on-push",
            "ecr-immutable-with-latest-exclusion",
            "ecr-repository-protected",
            "ecr-lifecycle-policy",
            "iam-no-wildcards",
            "images-pushed-by-content-hash",
        ]);
        assert.ok(guardrailPolicies.every((p) => p.enforcementLevel === "mandatory"));
    });
});

describe("preview-time unknowns", () => {
    it("an unknown field becomes UNKNOWN in the snapshot while known siblings survive", () => {
        const proxied = unknownCheckingProxy({
            name: "ml-ci/base",
            imageScanningConfiguration: { scanOnPush: sentinels.unknownBooleanValue },
            tags: ["a", sentinels.unknownStringValue],
        });
        assert.deepStrictEqual(knownSnapshot(proxied), {
            name: "ml-ci/base",
            imageScanningConfiguration: { scanOnPush: UNKNOWN },
            tags: ["a", UNKNOWN],
        });
    });

    it("reading the unknown through the analyzer's proxy really throws (what the snapshot guards against)", () => {
        const proxied = unknownCheckingProxy({ name: sentinels.unknownStringValue });
        assert.throws(() => proxied.name, /can't be known during preview/);
    });
});

describe("ecr-scan-on-push", () => {
    it("passes a repository that scans on push", async () => {
        assert.deepStrictEqual(await violationsOf("ecr-scan-on-push", repository("ml-ci/nightly")), []);
    });

    it("reports a repository without imageScanningConfiguration", async () => {
        const repo = repository("ml-ci/nightly", { imageScanningConfiguration: undefined });
        assert.deepStrictEqual(await violationsOf("ecr-scan-on-push", repo), [
            'ECR repository "ml-ci/nightly" must scan images on push: set imageScanningConfiguration.scanOnPush to true',
        ]);
    });

    it("reports scanOnPush false", async () => {
        const repo = repository("ml-ci/base", { imageScanningConfiguration: { scanOnPush: false } });
        assert.deepStrictEqual(await violationsOf("ecr-scan-on-push", repo), [
            'ECR repository "ml-ci/base" must scan images on push: set imageScanningConfiguration.scanOnPush to true',
        ]);
    });

    it("does not report while scanOnPush is unknown at preview", async () => {
        const repo = repository("ml-ci/base", { imageScanningConfiguration: { scanOnPush: sentinels.unknownBooleanValue } });
        assert.deepStrictEqual(await violationsOf("ecr-scan-on-push", repo), []);
    });

    it("ignores resources of other types", async () => {
        assert.deepStrictEqual(await violationsOf("ecr-scan-on-push", lifecyclePolicy("lp", "ml-ci/base")), []);
    });
});

describe("ecr-immutable-with-latest-exclusion", () => {
    it("passes IMMUTABLE_WITH_EXCLUSION with the *-latest wildcard filter", async () => {
        assert.deepStrictEqual(await violationsOf("ecr-immutable-with-latest-exclusion", repository("ml-ci/nightly")), []);
    });

    it("reports a mutable repository", async () => {
        const repo = repository("ml-ci/nightly", { imageTagMutability: "MUTABLE", imageTagMutabilityExclusionFilters: undefined });
        assert.deepStrictEqual(await violationsOf("ecr-immutable-with-latest-exclusion", repo), [
            'ECR repository "ml-ci/nightly" has imageTagMutability "MUTABLE": set "IMMUTABLE_WITH_EXCLUSION" so content-hash tags can never be overwritten',
        ]);
    });

    it("reports plain IMMUTABLE, which would freeze the -latest aliases", async () => {
        const repo = repository("ml-ci/nightly", { imageTagMutability: "IMMUTABLE", imageTagMutabilityExclusionFilters: undefined });
        assert.deepStrictEqual(await violationsOf("ecr-immutable-with-latest-exclusion", repo), [
            'ECR repository "ml-ci/nightly" has imageTagMutability "IMMUTABLE": set "IMMUTABLE_WITH_EXCLUSION" so content-hash tags can never be overwritten',
        ]);
    });

    it("reports a missing *-latest exclusion filter", async () => {
        const repo = repository("ml-ci/nightly", { imageTagMutabilityExclusionFilters: [] });
        assert.deepStrictEqual(await violationsOf("ecr-immutable-with-latest-exclusion", repo), [
            'ECR repository "ml-ci/nightly" must exclude moving tags from immutability: add imageTagMutabilityExclusionFilters entry { filter: "*-latest", filterType: "WILDCARD" }',
        ]);
    });

    it("reports an extra exclusion filter that would make content-hash tags mutable", async () => {
        const repo = repository("ml-ci/nightly", {
            imageTagMutabilityExclusionFilters: [{ filter: "*-latest", filterType: "WILDCARD" }, { filter: "cuda*", filterType: "WILDCARD" }],
        });
        assert.deepStrictEqual(await violationsOf("ecr-immutable-with-latest-exclusion", repo), [
            'ECR repository "ml-ci/nightly" exclusion filter "cuda*" also matches content-hash tags such as "cuda12.4-py3.11-h203f9a1c0b7d", making them mutable: exclude only "*-latest"',
        ]);
    });

    it("does not report while the exclusion filters are unknown at preview", async () => {
        const repo = repository("ml-ci/nightly", { imageTagMutabilityExclusionFilters: sentinels.unknownArrayValue });
        assert.deepStrictEqual(await violationsOf("ecr-immutable-with-latest-exclusion", repo), []);
    });
});

describe("ecr-repository-protected", () => {
    const declared = (value: string) => ({ tags: { "mlci:protected": value } });

    it("reports an unprotected repository whose stack config declares protection, whatever the stack name", async () => {
        for (const stack of ["prod", "staging"]) {
            const repo = repository("ml-ci/nightly", declared("true"), { stack, protect: false });
            assert.deepStrictEqual(await violationsOf("ecr-repository-protected", repo), [
                'ECR repository "ml-ci/nightly" is declared protected (mlci:registry.protect: true, tag mlci:protected=true) and must be created with { protect: true, retainOnDelete: true }',
            ]);
        }
    });

    it("passes a protected repository that declares protection", async () => {
        const repo = repository("ml-ci/nightly", declared("true"), { stack: "prod", protect: true });
        assert.deepStrictEqual(await violationsOf("ecr-repository-protected", repo), []);
    });

    it("does not require protection where the config does not ask for it, even in a stack named prod", async () => {
        const repo = repository("ml-ci/nightly", declared("false"), { stack: "prod", protect: false });
        assert.deepStrictEqual(await violationsOf("ecr-repository-protected", repo), []);
    });

    it("requires protection of every repository with the requireAll pack config", async () => {
        const repo = repository("ml-ci/base", declared("false"), { stack: "staging", protect: false });
        assert.deepStrictEqual(await violationsOf("ecr-repository-protected", repo, { requireAll: true }), [
            'ECR repository "ml-ci/base" must be created with { protect: true, retainOnDelete: true } (policy config requireAll)',
        ]);
    });

    it("still checks protection when the repository name is unknown, naming the Pulumi resource", async () => {
        const repo = repository("ml-ci/base", { name: sentinels.unknownStringValue, ...declared("true") }, { stack: "prod", protect: false });
        assert.deepStrictEqual(await violationsOf("ecr-repository-protected", repo), [
            'ECR repository "repo-ml-ci-base" is declared protected (mlci:registry.protect: true, tag mlci:protected=true) and must be created with { protect: true, retainOnDelete: true }',
        ]);
    });
});


describe("ecr-lifecycle-policy", () => {
    it("passes when every repository has a lifecycle policy naming it", async () => {
        const reported = await stackViolationsOf([
            repository("ml-ci/base"),
            repository("ml-ci/nightly"),
            lifecyclePolicy("base-lifecycle", "ml-ci/base"),
            lifecyclePolicy("nightly-lifecycle", "ml-ci/nightly"),
        ]);
        assert.deepStrictEqual(reported, []);
    });

    it("reports a repository without a lifecycle policy against that repository's URN", async () => {
        const nightly = repository("ml-ci/nightly");
        const reported = await stackViolationsOf([repository("ml-ci/base"), nightly, lifecyclePolicy("base-lifecycle", "ml-ci/base")]);
        assert.deepStrictEqual(reported, [{
            message: 'ECR repository "ml-ci/nightly" has no lifecycle policy: add an aws.ecr.LifecyclePolicy with repository "ml-ci/nightly" (the repository\'s name)',
            urn: urnOf(nightly),
        }]);
    });

    it("matches on the repository's name, not its Pulumi resource name", async () => {
        const base = repository("ml-ci/base");
        const reported = await stackViolationsOf([base, lifecyclePolicy("base-lifecycle", base.name)]);
        assert.deepStrictEqual(reported.map((r) => r.urn), [urnOf(base)]);
    });

    it("does not report while a lifecycle policy's repository is unknown at preview", async () => {
        const reported = await stackViolationsOf([repository("ml-ci/nightly"), lifecyclePolicy("nightly-lifecycle", sentinels.unknownStringValue)]);
        assert.deepStrictEqual(reported, []);
    });

    it("does not report a repository whose name is unknown at preview", async () => {
        const reported = await stackViolationsOf([repository("ml-ci/nightly", { name: sentinels.unknownStringValue })]);
        assert.deepStrictEqual(reported, []);
    });
});

describe("iam-no-wildcards", () => {
    it("passes the runner pull policy: GetAuthorizationToken alone on *, pulls on repository ARNs", async () => {
        assert.deepStrictEqual(await violationsOf("iam-no-wildcards", iamPolicy("runner-pull-policy", runnerPullDocument)), []);
    });

    it("reports Resource * for any action other than GetAuthorizationToken", async () => {
        const doc = { Version: "2012-10-17", Statement: [{ Sid: "Pull", Effect: "Allow", Action: ["ecr:BatchGetImage"], Resource: "*" }] };
        assert.deepStrictEqual(await violationsOf("iam-no-wildcards", iamPolicy("runner-pull-policy", doc)), [
            'aws:iam/policy:Policy "runner-pull-policy" policy: Statement[0] (Sid "Pull") allows Resource "*" for ecr:BatchGetImage: only actions AWS does not scope by resource (ecr:GetAuthorizationToken, the registry-wide settings: STAR_RESOURCE_JUSTIFICATIONS) may use Resource "*", in a statement of their own; scope the others to their ARNs',
        ]);
    });

    it("reports GetAuthorizationToken sharing a * statement with another action", async () => {
        const doc = { Statement: [{ Effect: "Allow", Action: ["ecr:GetAuthorizationToken", "ecr:PutImage"], Resource: ["*"] }] };
        assert.deepStrictEqual(await violationsOf("iam-no-wildcards", iamPolicy("push", doc, RESOURCE_TYPES.iamRolePolicy)), [
            'aws:iam/rolePolicy:RolePolicy "push" policy: Statement[0] allows Resource "*" for ecr:PutImage: only actions AWS does not scope by resource (ecr:GetAuthorizationToken, the registry-wide settings: STAR_RESOURCE_JUSTIFICATIONS) may use Resource "*", in a statement of their own; scope the others to their ARNs',
        ]);
    });

    it("reports ecr:* and (case-insensitively) iam:* actions even on scoped resources", async () => {
        const doc = {
            Statement: [
                { Effect: "Allow", Action: "ecr:*", Resource: "arn:aws:ecr:us-east-1:123456789012:repository/ml-ci/base" },
                { Sid: "Roles", Effect: "Allow", Action: ["IAM:*"], Resource: "arn:aws:iam::123456789012:role/x" },
            ],
        };
        assert.deepStrictEqual(await violationsOf("iam-no-wildcards", iamPolicy("p", doc)), [
            'aws:iam/policy:Policy "p" policy: Statement[0] allows the wildcard action "ecr:*": list the actions it needs',
            'aws:iam/policy:Policy "p" policy: Statement[1] (Sid "Roles") allows the wildcard action "IAM:*": list the actions it needs',
        ]);
    });

    it("reports Action * on Resource * twice: the action and the resource", async () => {
        const doc = { Statement: { Effect: "Allow", Action: "*", Resource: "*" } };
        assert.deepStrictEqual(await violationsOf("iam-no-wildcards", iamPolicy("admin", doc)), [
            'aws:iam/policy:Policy "admin" policy: Statement[0] allows the wildcard action "*": list the actions it needs',
            'aws:iam/policy:Policy "admin" policy: Statement[0] allows Resource "*" for *: only actions AWS does not scope by resource (ecr:GetAuthorizationToken, the registry-wide settings: STAR_RESOURCE_JUSTIFICATIONS) may use Resource "*", in a statement of their own; scope the others to their ARNs',
        ]);
    });

    it("checks a policy given as an object, not a JSON string", async () => {
        const r: FakeResource = { type: RESOURCE_TYPES.iamPolicy, name: "obj", props: { policy: { Statement: [{ Effect: "Allow", Action: "ecr:PutImage", Resource: "*" }] } } };
        assert.deepStrictEqual(await violationsOf("iam-no-wildcards", r), [
            'aws:iam/policy:Policy "obj" policy: Statement[0] allows Resource "*" for ecr:PutImage: only actions AWS does not scope by resource (ecr:GetAuthorizationToken, the registry-wide settings: STAR_RESOURCE_JUSTIFICATIONS) may use Resource "*", in a statement of their own; scope the others to their ARNs',
        ]);
    });

    it("checks each inline policy of an aws.iam.Role, naming it", async () => {
        const role: FakeResource = {
            type: RESOURCE_TYPES.iamRole,
            name: "pipeline-push-role",
            props: {
                assumeRolePolicy: JSON.stringify({ Statement: [{ Effect: "Allow", Action: "sts:AssumeRoleWithWebIdentity", Principal: { Federated: "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com" } }] }),
                inlinePolicies: [
                    { name: "pull", policy: JSON.stringify(runnerPullDocument) },
                    { name: "push", policy: JSON.stringify({ Statement: [{ Effect: "Allow", Action: ["ecr:PutImage"], Resource: "*" }] }) },
                ],
            },
        };
        assert.deepStrictEqual(await violationsOf("iam-no-wildcards", role), [
            'aws:iam/role:Role "pipeline-push-role" inlinePolicies[1] ("push"): Statement[0] allows Resource "*" for ecr:PutImage: only actions AWS does not scope by resource (ecr:GetAuthorizationToken, the registry-wide settings: STAR_RESOURCE_JUSTIFICATIONS) may use Resource "*", in a statement of their own; scope the others to their ARNs',
        ]);
    });

    it("reports NotAction in an Allow statement and lets broad Deny statements through", async () => {
        const doc = {
            Statement: [
                { Effect: "Deny", Action: "*", Resource: "*", Condition: { Bool: { "aws:SecureTransport": "false" } } },
                { Effect: "Allow", NotAction: "iam:*", Resource: "arn:aws:ecr:us-east-1:123456789012:repository/ml-ci/base" },
            ],
        };
        assert.deepStrictEqual(await violationsOf("iam-no-wildcards", iamPolicy("p", doc)), [
            'aws:iam/policy:Policy "p" policy: Statement[1] uses NotAction in an Allow statement, which grants every other action: list the actions it needs',
        ]);
    });

    it("does not report while the policy document is unknown at preview", async () => {
        assert.deepStrictEqual(await violationsOf("iam-no-wildcards", iamPolicy("p", sentinels.unknownStringValue)), []);
    });

    it("reports a policy string that is not JSON", async () => {
        const messages = await violationsOf("iam-no-wildcards", iamPolicy("p", "{not json"));
        assert.strictEqual(messages.length, 1);
        assert.match(messages[0], /^aws:iam\/policy:Policy "p" policy: is not valid JSON \(.+\), so it cannot be checked$/);
    });
});

describe("images-pushed-by-content-hash", () => {
    const nightlyRepo = `${REGISTRY}/ml-ci/nightly`;
    const baseRef = `${REGISTRY}/ml-ci/base:cuda12.4-py3.11-h${HASH}@${DIGEST}`;

    it("passes a child image tagged by content hash (plus its -latest alias) built FROM the parent's digest ref", async () => {
        const img = image("nightly-cuda12.4-py3.11", {
            push: true,
            tags: [`${nightlyRepo}:cuda12.4-py3.11-h${HASH}`, `${nightlyRepo}:cuda12.4-py3.11-latest`],
            buildArgs: { BASE_IMAGE: baseRef, PYTHON_VERSION: "3.11" },
        });
        assert.deepStrictEqual(await violationsOf("images-pushed-by-content-hash", img), []);
    });

    it("reports a pushed image tagged only with its -latest alias", async () => {
        const img = image("nightly-cuda12.4-py3.11", { push: true, tags: [`${nightlyRepo}:cuda12.4-py3.11-latest`] });
        assert.deepStrictEqual(await violationsOf("images-pushed-by-content-hash", img), [
            'image "nightly-cuda12.4-py3.11" is pushed only under moving or non-content tags (cuda12.4-py3.11-latest): add its content-hash tag "<cell>-h<12 hex>"',
        ]);
    });

    it("reports a pushed image without tags", async () => {
        const img = image("base-py3.11", { push: true, tags: [] });
        assert.deepStrictEqual(await violationsOf("images-pushed-by-content-hash", img), [
            'image "base-py3.11" is pushed without tags: tag it with its content-hash tag "<cell>-h<12 hex>" and consume it by digest (its ref output)',
        ]);
    });

    it("reads the tag after a registry port (localhost:5000/...) and treats an untagged ref as latest", async () => {
        assert.strictEqual(tagOfReference(`localhost:5000/ml-ci/base:py3.11-h${HASH}`), `py3.11-h${HASH}`);
        assert.strictEqual(tagOfReference("localhost:5000/ml-ci/base"), "latest");
        const img = image("base-py3.11", { push: true, tags: ["localhost:5000/ml-ci/base"] });
        assert.deepStrictEqual(await violationsOf("images-pushed-by-content-hash", img), [
            'image "base-py3.11" is pushed only under moving or non-content tags (latest): add its content-hash tag "<cell>-h<12 hex>"',
        ]);
    });

    it("does not check images that are not pushed", async () => {
        const img = image("nightly-cuda12.4-py3.11", { push: false, tags: [], buildArgs: { BASE_IMAGE: "ml-ci/base:cuda12.4-py3.11-latest" } });
        assert.deepStrictEqual(await violationsOf("images-pushed-by-content-hash", img), []);
    });

    it("reports a BASE_IMAGE pinned by tag instead of digest", async () => {
        const base = `${REGISTRY}/ml-ci/base:cuda12.4-py3.11-h${HASH}`;
        const img = image("nightly-cuda12.4-py3.11", { push: true, tags: [`${nightlyRepo}:cuda12.4-py3.11-h${HASH}`], buildArgs: { BASE_IMAGE: base } });
        assert.deepStrictEqual(await violationsOf("images-pushed-by-content-hash", img), [
            `image "nightly-cuda12.4-py3.11" build arg BASE_IMAGE "${base}" is not digest-pinned: pass the parent image's ref (…@sha256:<digest>)`,
        ]);
    });

    it("reports a BASE_IMAGE on a -latest tag even when it carries a digest", async () => {
        const base = `${REGISTRY}/ml-ci/base:cuda12.4-py3.11-latest@${DIGEST}`;
        const img = image("nightly-cuda12.4-py3.11", { push: true, tags: [`${nightlyRepo}:cuda12.4-py3.11-h${HASH}`], buildArgs: { BASE_IMAGE: base } });
        assert.deepStrictEqual(await violationsOf("images-pushed-by-content-hash", img), [
            `image "nightly-cuda12.4-py3.11" build arg BASE_IMAGE "${base}" names a moving "-latest" tag: pass the parent's content-hash ref`,
        ]);
    });

    it("does not report while tags and BASE_IMAGE are unknown at preview (repository URL and parent digest not yet known)", async () => {
        const img = image("nightly-cuda12.4-py3.11", {
            push: true,
            tags: [sentinels.unknownStringValue, sentinels.unknownStringValue],
            buildArgs: { BASE_IMAGE: sentinels.unknownStringValue },
        });
        assert.deepStrictEqual(await violationsOf("images-pushed-by-content-hash", img), []);
    });
});

// ---------------------------------------------------------------------------------------------
// The pack against what the program really declares (test/harness.ts runProgram), fed the way the
// @pulumi/policy analyzer feeds it (server.js): each resource's inputs go over the wire as a protobuf
// Struct (secrets as secret-signature objects), are deserialized by the pack's own
// deserializeProperties(struct, false) (secrets unwrapped) and wrapped in unknownCheckingProxy; the
// options carry protect and parent; getConfig returns the policy's schema defaults.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { deserializeProperties: analyzerDeserialize } = require("@pulumi/policy/deserialize") as { deserializeProperties: (s: unknown, proxySecrets: boolean) => Record<string, unknown> };
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { Struct } = require("google-protobuf/google/protobuf/struct_pb") as { Struct: { fromJavaScript(v: unknown): unknown } };

/** A recorded resource as the analyzer sees it. */
interface AnalyzedResource {
    type: string;
    name: string;
    urn: string;
    props: Record<string, unknown>;
    opts: ReturnType<typeof optsOf> & { parent?: string };
}

function analyzed(r: RecordedResource): AnalyzedResource {
    // JSON drops undefined, as the engine never sends it; Struct.fromJavaScript is the wire format.
    const wire = Struct.fromJavaScript(JSON.parse(JSON.stringify(r.inputs)));
    return {
        type: r.type,
        name: r.name,
        urn: r.urn,
        props: analyzerDeserialize(wire, false),
        opts: { ...optsOf({ type: r.type, name: r.name, props: {}, protect: r.protect }), ...(r.parentUrn ? { parent: r.parentUrn } : {}) },
    };
}

/** The policy's config as the engine hands it: the defaults of its configSchema. */
function schemaDefaults(policy: { configSchema?: { properties?: Record<string, { default?: unknown }> } }): object {
    return Object.fromEntries(Object.entries(policy.configSchema?.properties ?? {}).filter(([, s]) => s.default !== undefined).map(([k, s]) => [k, s.default]));
}

/** Every violation the pack reports for a stack's resources, as `<policy>: <message>`. */
async function packViolations(resources: AnalyzedResource[]): Promise<string[]> {
    const out: string[] = [];
    for (const p of guardrailPolicies) {
        const config = schemaDefaults(p as { configSchema?: { properties?: Record<string, { default?: unknown }> } });
        if ("validateResource" in p && p.validateResource !== undefined) {
            const validations = Array.isArray(p.validateResource) ? p.validateResource : [p.validateResource];
            for (const r of resources) {
                for (const validate of validations) {
                    await validate(
                        {
                            type: r.type, name: r.name, urn: r.urn, props: unknownCheckingProxy(r.props), opts: r.opts, stackTags: new Map(),
                            isType: () => false, asType: () => undefined, getConfig: <T extends object>() => config as T,
                            notApplicable: (reason?: string): never => { throw new Error(`not applicable: ${reason}`); },
                        },
                        (message) => out.push(`${p.name}: ${message}`),
                    );
                }
            }
        }
        if ("validateStack" in p && p.validateStack !== undefined) {
            await p.validateStack(
                {
                    resources: resources.map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: unknownCheckingProxy(r.props), opts: r.opts, dependencies: [], propertyDependencies: {}, isType: () => false, asType: () => undefined })),
                    stackTags: new Map(), getConfig: <T extends object>() => config as T,
                    notApplicable: (reason?: string): never => { throw new Error(`not applicable: ${reason}`); },
                },
                (message, urn) => out.push(`${p.name}: ${message}${urn ? ` [${urn}]` : ""}`),
            );
        }
    }
    return out;
}

const PROGRAM_STACKS: Record<string, RunOptions> = {
    dev: { stack: "dev" },
    prod: { stack: "prod", },
    local: { stack: "local" },
};

describe("policy pack on the resources the program declares", function () {
    this.timeout(120_000);
    const declared: Record<string, AnalyzedResource[]> = {};
    before(async () => {
        for (const [stack, opts] of Object.entries(PROGRAM_STACKS)) {
            const run = await runProgram({ ...opts, env: { MLCI_REBUILD_EPOCH: "2026-11-22", GITHUB_TOKEN: undefined } });
            declared[stack] = run.resources.map(analyzed);
        }
    });

    for (const stack of Object.keys(PROGRAM_STACKS)) {
        it(`${stack}: every policy passes`, async () => {
            assert.deepStrictEqual(await packViolations(declared[stack]), []);
        });
    }

    it("the runs declare what the policies check (else passing proves nothing)", () => {
        const count = (stack: string, type: string) => declared[stack].filter((r) => r.type === type).length;
        for (const stack of ["dev", "prod"]) {
            assert.strictEqual(count(stack, RESOURCE_TYPES.ecrRepository), 5, `${stack} repositories`);
            assert.strictEqual(count(stack, RESOURCE_TYPES.ecrLifecyclePolicy), 5, `${stack} lifecycle policies`);
            assert.ok(declared[stack].some((r) => ([RESOURCE_TYPES.iamPolicy, RESOURCE_TYPES.iamRolePolicy, RESOURCE_TYPES.iamRole] as string[]).includes(r.type) && JSON.stringify(r.props).includes("ecr:BatchGetImage")), `${stack} IAM pull policy`);
            if (stack === "prod") assert.ok(declared[stack].filter((r) => r.type === RESOURCE_TYPES.ecrRepository).every((r) => r.opts.protect), "prod repositories are protected (ecr-repository-protected has something to check)");
        }
        for (const stack of Object.keys(PROGRAM_STACKS)) {
            const pushed = declared[stack].filter((r) => r.type === RESOURCE_TYPES.dockerBuildImage && r.props.push === true);
            assert.ok(pushed.length > 0, `${stack} pushes images`);
            assert.ok(pushed.some((r) => typeof (r.props.buildArgs as Record<string, unknown> | undefined)?.BASE_IMAGE === "string"), `${stack} builds a child on BASE_IMAGE`);
        }
    });

    /** dev's resources with one of them changed by `mutate` (a deep copy: the others stay as declared). */
    function mutated(match: (r: AnalyzedResource) => boolean, mutate: (r: AnalyzedResource) => void): { resources: AnalyzedResource[]; target: AnalyzedResource } {
        const resources = declared.dev.map((r) => ({ ...r, props: JSON.parse(JSON.stringify(r.props)) as Record<string, unknown>, opts: { ...r.opts } }));
        const target = resources.find(match);
        assert.ok(target !== undefined, "the program declares the resource to mutate");
        mutate(target);
        return { resources, target };
    }

    it("a repository with MUTABLE tags fails with the rule's message, and only that", async () => {
        const { resources } = mutated((r) => r.type === RESOURCE_TYPES.ecrRepository && r.props.name === "ml-ci-dev/nightly", (r) => {
            r.props.imageTagMutability = "MUTABLE";
            delete r.props.imageTagMutabilityExclusionFilters;
        });
        assert.deepStrictEqual(await packViolations(resources), [
            'ecr-immutable-with-latest-exclusion: ECR repository "ml-ci-dev/nightly" has imageTagMutability "MUTABLE": set "IMMUTABLE_WITH_EXCLUSION" so content-hash tags can never be overwritten',
        ]);
    });

    it("the runner's pull policy widened to Resource \"*\" fails with the rule's message", async () => {
        const { resources } = mutated((r) => r.type === RESOURCE_TYPES.iamPolicy && r.name === "runner-access-pull-policy", (r) => {
            const doc = JSON.parse(r.props.policy as string);
            const pull = doc.Statement.find((s: { Sid?: string }) => s.Sid === "PullStackRepositories");
            assert.ok(pull !== undefined, "the runner policy has its PullStackRepositories statement");
            pull.Resource = "*";
            r.props.policy = JSON.stringify(doc);
        });
        assert.deepStrictEqual(await packViolations(resources), [
            'iam-no-wildcards: aws:iam/policy:Policy "runner-access-pull-policy" policy: Statement[1] (Sid "PullStackRepositories") allows Resource "*" for ecr:BatchCheckLayerAvailability, ecr:BatchGetImage, ecr:GetDownloadUrlForLayer: only actions AWS does not scope by resource (ecr:GetAuthorizationToken, the registry-wide settings: STAR_RESOURCE_JUSTIFICATIONS) may use Resource "*", in a statement of their own; scope the others to their ARNs',
        ]);
    });

    it("a pushed image on a -latest BASE_IMAGE and a repository without its lifecycle policy fail", async () => {
        const latest = `${REGISTRY}/ml-ci-dev/base:cuda13.2-py3.12-latest`;
        const { resources } = mutated((r) => r.type === RESOURCE_TYPES.dockerBuildImage && r.name === "nightly-cuda13.2-py3.12-build", (r) => {
            (r.props.buildArgs as Record<string, string>).BASE_IMAGE = latest;
        });
        const withoutLifecycle = resources.filter((r) => !(r.type === RESOURCE_TYPES.ecrLifecyclePolicy && r.props.repository === "ml-ci-dev/cpu"));
        const cpu = resources.find((r) => r.type === RESOURCE_TYPES.ecrRepository && r.props.name === "ml-ci-dev/cpu");
        assert.ok(cpu !== undefined);
        assert.deepStrictEqual(await packViolations(withoutLifecycle), [
            `ecr-lifecycle-policy: ECR repository "ml-ci-dev/cpu" has no lifecycle policy: add an aws.ecr.LifecyclePolicy with repository "ml-ci-dev/cpu" (the repository's name) [${cpu.urn}]`,
            `images-pushed-by-content-hash: image "nightly-cuda13.2-py3.12-build" build arg BASE_IMAGE "${latest}" is not digest-pinned: pass the parent image's ref (…@sha256:<digest>)`,
            `images-pushed-by-content-hash: image "nightly-cuda13.2-py3.12-build" build arg BASE_IMAGE "${latest}" names a moving "-latest" tag: pass the parent's content-hash ref`,
        ]);
    });
});
