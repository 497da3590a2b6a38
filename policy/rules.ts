/**
 * Guardrail rules of the ml-ci-images policy pack, as pure validators plus the policy definitions that wrap them.
 * Importing this module constructs no PolicyPack (that happens in `policy/index.ts` only), so the rules can be
 * unit-tested with plain resource objects.
 */
import {
    Policies,
    PolicyResourceOptions,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
    UnknownValueError,
} from "@pulumi/policy";
import { isMovingTag, MUTABLE_TAG_PATTERNS, parseTag, TAG_EXAMPLES, TAG_PATTERNS, tagPatternMatches } from "../lib/images/tags";
import { ECR_LOGIN_ACTION } from "../lib/access/ecrPolicies";
import { findWildcardViolations } from "../lib/access/wildcardLinter";
import { PROTECTION_TAG_KEY } from "../lib/registry/documents";

export { isMovingTag };

/** Resource type tokens the rules look at (checked against the provider SDKs' `__pulumiType` in the tests). */
export const RESOURCE_TYPES = {
    ecrRepository: "aws:ecr/repository:Repository",
    ecrLifecyclePolicy: "aws:ecr/lifecyclePolicy:LifecyclePolicy",
    iamPolicy: "aws:iam/policy:Policy",
    iamRolePolicy: "aws:iam/rolePolicy:RolePolicy",
    iamUserPolicy: "aws:iam/userPolicy:UserPolicy",
    iamGroupPolicy: "aws:iam/groupPolicy:GroupPolicy",
    iamRole: "aws:iam/role:Role",
    dockerBuildImage: "docker-build:index:Image",
} as const;

/** Stands for a value the engine cannot know yet (an output of a resource not created, during preview). */
export const UNKNOWN: unique symbol = Symbol("unknown");
/** A property value as the validators see it: plain data, with preview-time unknowns replaced by {@link UNKNOWN}. */
export type PropertyValue = unknown;

/** The part of a Pulumi policy resource the validators read (`ResourceValidationArgs` and `PolicyResource` both fit). */
export interface CheckedResource {
    /** Type token, e.g. `aws:ecr/repository:Repository`. */
    type: string;
    /** Pulumi resource name. */
    name: string;
    /** `urn:pulumi:<stack>::<project>::<type>::<name>`. */
    urn: string;
    /** Inputs (resource policies) or outputs (stack policies), unknowns as {@link UNKNOWN}. */
    props: Record<string, PropertyValue>;
    /** Resource options; only `protect` is read (the analyzer API does not expose `retainOnDelete`). */
    opts: Pick<PolicyResourceOptions, "protect">;
}

/** A stack-level violation, attributed to the resource that causes it. */
export interface StackViolation {
    message: string;
    urn: string;
}

/** Configuration of the `ecr-repository-protected` policy. */
export interface ProtectionConfig {
    /** Require protection of every repository, whatever its stack config declares. @default false */
    requireAll?: boolean;
}
/** The only tag-mutability setting allowed: content-hash tags immutable, `*-latest` aliases movable. */
export const REQUIRED_TAG_MUTABILITY = "IMMUTABLE_WITH_EXCLUSION";
/** The exclusion filter that keeps `<cell>-latest` aliases movable. */
export const LATEST_EXCLUSION_FILTER = { filter: TAG_PATTERNS.latest, filterType: "WILDCARD" } as const;
/** The one action that has no resource-level permissions and so may (alone) be granted on `Resource: "*"`. */
export const LOGIN_ACTION = ECR_LOGIN_ACTION;
/** Immutable tags of the tag grammar (lib/images/tags.ts), used to test exclusion filters against. */
const SAMPLE_IMMUTABLE_TAGS = [...TAG_EXAMPLES.content, ...TAG_EXAMPLES.dated, ...TAG_EXAMPLES.forced, ...TAG_EXAMPLES.marker];
const DIGEST_PIN = /@sha256:[0-9a-f]{64}$/;

/** True for a value the engine cannot know yet. */
export function isUnknown(value: PropertyValue): value is typeof UNKNOWN {
    return value === UNKNOWN;
}

/**
 * Copies the analyzer's props (a proxy that throws `UnknownValueError` when an unknown value is read) into plain
 * data with {@link UNKNOWN} in place of each unknown, so one unknown field does not abort a whole check.
 */
export function knownSnapshot(value: PropertyValue): PropertyValue {
    if (Array.isArray(value)) {
        return Array.from({ length: value.length }, (_, i) => readKnown(() => value[i]));
    }
    if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
        const source = value as Record<string, unknown>;
        return Object.fromEntries(Object.keys(source).map((key) => [key, readKnown(() => source[key])]));
    }
    return value;
}

function readKnown(read: () => unknown): PropertyValue {
    try {
        return knownSnapshot(read());
    } catch (e) {
        if (e instanceof UnknownValueError) return UNKNOWN;
        throw e;
    }
}

function field(value: PropertyValue, key: string): PropertyValue {
    if (isUnknown(value)) return UNKNOWN;
    if (value === null || typeof value !== "object") return undefined;
    return (value as Record<string, unknown>)[key];
}

function repositoryLabel(repo: CheckedResource): string {
    const name = repo.props.name;
    return typeof name === "string" ? name : repo.name;
}

/** ECR repositories must scan every pushed image (`imageScanningConfiguration.scanOnPush: true`). */
export function scanOnPushViolations(repo: CheckedResource): string[] {
    const scanOnPush = field(repo.props.imageScanningConfiguration, "scanOnPush");
    if (isUnknown(scanOnPush) || scanOnPush === true) return [];
    return [`ECR repository "${repositoryLabel(repo)}" must scan images on push: set imageScanningConfiguration.scanOnPush to true`];
}

/**
 * ECR repositories must make tags immutable except moving `*-latest` aliases: `IMMUTABLE_WITH_EXCLUSION`, a
 * `*-latest` WILDCARD exclusion filter, and no exclusion filter that would also match a content-hash tag.
 */
export function tagMutabilityViolations(repo: CheckedResource): string[] {
    const label = repositoryLabel(repo);
    const mutability = repo.props.imageTagMutability;
    if (isUnknown(mutability)) return [];
    if (mutability !== REQUIRED_TAG_MUTABILITY) {
        return [`ECR repository "${label}" has imageTagMutability ${JSON.stringify(mutability ?? "MUTABLE")}: set "${REQUIRED_TAG_MUTABILITY}" so content-hash tags can never be overwritten`];
    }
    const filters = repo.props.imageTagMutabilityExclusionFilters;
    if (isUnknown(filters)) return [];
    const list = Array.isArray(filters) ? filters : [];
    if (list.some((f) => isUnknown(f) || isUnknown(field(f, "filter")) || isUnknown(field(f, "filterType")))) return [];
    const violations: string[] = [];
    const hasLatest = list.some((f) => field(f, "filter") === LATEST_EXCLUSION_FILTER.filter && field(f, "filterType") === LATEST_EXCLUSION_FILTER.filterType);
    if (!hasLatest) {
        violations.push(`ECR repository "${label}" must exclude moving tags from immutability: add imageTagMutabilityExclusionFilters entry { filter: "*-latest", filterType: "WILDCARD" }`);
    }
    for (const f of list) {
        const filter = field(f, "filter");
        if (typeof filter !== "string") continue;
        if (MUTABLE_TAG_PATTERNS.includes(filter)) continue;
        const matched = SAMPLE_IMMUTABLE_TAGS.find((tag) => tagPatternMatches(filter, tag));
        if (matched !== undefined) {
            violations.push(`ECR repository "${label}" exclusion filter "${filter}" also matches content-hash tags such as "${matched}", making them mutable: exclude only "*-latest"`);
        }
    }
    return violations;
}

/**
 * ECR repositories whose stack config says `mlci:registry.protect: true` (the program writes it as the repository
 * tag {@link PROTECTION_TAG_KEY}) must be created with `protect: true` (a `pulumi destroy` or a rename must not
 * delete every image CI pulls); `requireAll` extends that to every repository. The stack name plays no part.
 * `retainOnDelete` is not visible to policies; the program's tests cover it.
 */
export function repositoryProtectionViolations(repo: CheckedResource, config: ProtectionConfig = {}): string[] {
    const declared = field(repo.props.tags, PROTECTION_TAG_KEY);
    if (isUnknown(declared) || repo.opts.protect === true) return [];
    if (declared === "true") return [`ECR repository "${repositoryLabel(repo)}" is declared protected (mlci:registry.protect: true, tag ${PROTECTION_TAG_KEY}=true) and must be created with { protect: true, retainOnDelete: true }`];
    if (config.requireAll === true) return [`ECR repository "${repositoryLabel(repo)}" must be created with { protect: true, retainOnDelete: true } (policy config requireAll)`];
    return [];
}

/**
 * Every ECR repository needs an `aws.ecr.LifecyclePolicy` whose `repository` is the repository's name. Unknown
 * names (or an unknown `repository` on any lifecycle policy) cannot be verified yet and are not reported.
 */
export function missingLifecyclePolicyViolations(resources: CheckedResource[]): StackViolation[] {
    const policies = resources.filter((r) => r.type === RESOURCE_TYPES.ecrLifecyclePolicy).map((r) => r.props.repository);
    if (policies.some(isUnknown)) return [];
    const covered = new Set(policies.filter((p): p is string => typeof p === "string"));
    return resources
        .filter((r) => r.type === RESOURCE_TYPES.ecrRepository)
        .filter((r) => typeof r.props.name === "string" && !covered.has(r.props.name))
        .map((r) => ({
            urn: r.urn,
            message: `ECR repository "${r.props.name}" has no lifecycle policy: add an aws.ecr.LifecyclePolicy with repository "${r.props.name}" (the repository's name)`,
        }));
}

function knownStrings(value: PropertyValue): { values: string[]; complete: boolean } {
    if (isUnknown(value)) return { values: [], complete: false };
    const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
    return { values: list.filter((v): v is string => typeof v === "string"), complete: !list.some(isUnknown) };
}

/**
 * Over-broad Allow statements of one IAM policy document (a JSON string or an object): the project's one IAM linter,
 * `findWildcardViolations` of lib/access (`Resource: "*"` except for actions AWS scopes by no resource (STAR_RESOURCE_JUSTIFICATIONS),
 * wildcard actions, NotAction/NotResource, registry-wide ARNs), with preview-time unknowns left unreported.
 */
export function iamDocumentViolations(document: PropertyValue): string[] {
    return findWildcardViolations(document, { isUnknown });
}

/**
 * IAM violations of an identity-policy resource (`aws.iam.Policy`/`RolePolicy`/`UserPolicy`/`GroupPolicy` `policy`,
 * `aws.iam.Role` `inlinePolicies[].policy`), each message prefixed with the resource and the document it is in.
 */
export function iamResourceViolations(resource: CheckedResource): string[] {
    const documents: { label: string; document: PropertyValue }[] = [];
    switch (resource.type) {
        case RESOURCE_TYPES.iamPolicy:
        case RESOURCE_TYPES.iamRolePolicy:
        case RESOURCE_TYPES.iamUserPolicy:
        case RESOURCE_TYPES.iamGroupPolicy:
            documents.push({ label: "policy", document: resource.props.policy });
            break;
        case RESOURCE_TYPES.iamRole: {
            const inline = resource.props.inlinePolicies;
            if (Array.isArray(inline)) {
                inline.forEach((p, i) => {
                    const name = field(p, "name");
                    documents.push({ label: typeof name === "string" ? `inlinePolicies[${i}] ("${name}")` : `inlinePolicies[${i}]`, document: field(p, "policy") });
                });
            }
            break;
        }
        default:
            return [];
    }
    return documents.flatMap(({ label, document }) =>
        iamDocumentViolations(document).map((v) => `${resource.type} "${resource.name}" ${label}: ${v}`));
}

/** The tag part of an image reference (`host:5000/ml-ci/base:tag@sha256:...` → `tag`; no tag → `latest`). */
export function tagOfReference(reference: string): string {
    const withoutDigest = reference.split("@")[0];
    const lastSegment = withoutDigest.slice(withoutDigest.lastIndexOf("/") + 1);
    const colon = lastSegment.indexOf(":");
    return colon >= 0 ? lastSegment.slice(colon + 1) : "latest";
}

/**
 * A pushed `docker-build` image must carry a content-hash tag (`<cell>-<12 hex>`), not only moving `-latest`
 * aliases, and a child's `BASE_IMAGE` build arg must be the parent's digest-pinned ref, never a `-latest` tag.
 */
export function pushedImageViolations(image: CheckedResource): string[] {
    const push = image.props.push;
    if (push !== true) return [];
    const violations: string[] = [];
    const tags = knownStrings(image.props.tags);
    if (tags.complete && tags.values.length === 0) {
        violations.push(`image "${image.name}" is pushed without tags: tag it with its content-hash tag "<cell>-h<12 hex>" and consume it by digest (its ref output)`);
    } else if (tags.complete && !tags.values.some((t) => ["content", "forced"].includes(parseTag(tagOfReference(t))?.shape ?? ""))) {
        const shown = tags.values.map((t) => tagOfReference(t)).join(", ");
        violations.push(`image "${image.name}" is pushed only under moving or non-content tags (${shown}): add its content-hash tag "<cell>-h<12 hex>"`);
    }
    const baseImage = field(image.props.buildArgs, "BASE_IMAGE");
    if (typeof baseImage === "string") {
        if (!DIGEST_PIN.test(baseImage)) {
            violations.push(`image "${image.name}" build arg BASE_IMAGE "${baseImage}" is not digest-pinned: pass the parent image's ref (…@sha256:<digest>)`);
        }
        if (isMovingTag(tagOfReference(baseImage))) {
            violations.push(`image "${image.name}" build arg BASE_IMAGE "${baseImage}" names a moving "-latest" tag: pass the parent's content-hash ref`);
        }
    }
    return violations;
}

/** Adapts a pure per-resource validator to `validateResource`, for one or more resource types. */
export function resourceValidation(
    types: readonly string[],
    validate: (resource: CheckedResource, args: ResourceValidationArgs) => string[],
): (args: ResourceValidationArgs, reportViolation: ReportViolation) => void {
    return (args, reportViolation) => {
        if (!types.includes(args.type)) return;
        const resource: CheckedResource = { type: args.type, name: args.name, urn: args.urn, opts: args.opts, props: knownSnapshot(args.props) as Record<string, PropertyValue> };
        for (const message of validate(resource, args)) reportViolation(message);
    };
}

/** Reads the stack's resources for {@link missingLifecyclePolicyViolations} and reports against each repository. */
export function validateLifecyclePolicies(args: StackValidationArgs, reportViolation: ReportViolation): void {
    const resources: CheckedResource[] = args.resources
        .filter((r) => r.type === RESOURCE_TYPES.ecrRepository || r.type === RESOURCE_TYPES.ecrLifecyclePolicy)
        .map((r) => ({ type: r.type, name: r.name, urn: r.urn, opts: r.opts, props: knownSnapshot(r.props) as Record<string, PropertyValue> }));
    for (const v of missingLifecyclePolicyViolations(resources)) reportViolation(v.message, v.urn);
}

const IAM_POLICY_TYPES = [
    RESOURCE_TYPES.iamPolicy,
    RESOURCE_TYPES.iamRolePolicy,
    RESOURCE_TYPES.iamUserPolicy,
    RESOURCE_TYPES.iamGroupPolicy,
    RESOURCE_TYPES.iamRole,
];

/** The pack's policies, all mandatory; `policy/index.ts` hands them to `new PolicyPack`. */
export const guardrailPolicies: Policies = [
    {
        name: "ecr-scan-on-push",
        description: "ECR repositories scan every image on push.",
        enforcementLevel: "mandatory",
        validateResource: resourceValidation([RESOURCE_TYPES.ecrRepository], scanOnPushViolations),
    } satisfies ResourceValidationPolicy,
    {
        name: "ecr-immutable-with-latest-exclusion",
        description: "ECR repositories use IMMUTABLE_WITH_EXCLUSION with only the *-latest aliases excluded.",
        enforcementLevel: "mandatory",
        validateResource: resourceValidation([RESOURCE_TYPES.ecrRepository], tagMutabilityViolations),
    } satisfies ResourceValidationPolicy,
    {
        name: "ecr-repository-protected",
        description: "ECR repositories declared protected by their stack config (mlci:registry.protect) are created with protect: true.",
        enforcementLevel: "mandatory",
        configSchema: {
            properties: {
                requireAll: { type: "boolean", default: false },
            },
        },
        validateResource: resourceValidation([RESOURCE_TYPES.ecrRepository], (repo, args) =>
            repositoryProtectionViolations(repo, args.getConfig<ProtectionConfig>())),
    } satisfies ResourceValidationPolicy,
    {
        name: "ecr-lifecycle-policy",
        description: "Every ECR repository has an aws.ecr.LifecyclePolicy naming it.",
        enforcementLevel: "mandatory",
        validateStack: validateLifecyclePolicies,
    } satisfies StackValidationPolicy,
    {
        name: "iam-no-wildcards",
        description: "IAM Allow statements use no Resource \"*\" (except ecr:GetAuthorizationToken alone), no *, ecr:* or iam:* actions, no NotAction/NotResource.",
        enforcementLevel: "mandatory",
        validateResource: resourceValidation(IAM_POLICY_TYPES, iamResourceViolations),
    } satisfies ResourceValidationPolicy,
    {
        name: "images-pushed-by-content-hash",
        description: "Pushed docker-build images carry a content-hash tag; BASE_IMAGE build args are digest-pinned, never -latest.",
        enforcementLevel: "mandatory",
        validateResource: resourceValidation([RESOURCE_TYPES.dockerBuildImage], pushedImageViolations),
    } satisfies ResourceValidationPolicy,
];
