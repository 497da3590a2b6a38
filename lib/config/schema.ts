/**
 * The zod schema of every `mlci:*` key, the types it gives, and zod issues turned into config problems
 * (each with a fix where a common YAML mistake explains it).
 */
import { z } from "zod";
import { CONFIG_NAMESPACE, ConfigProblem } from "./problems";

/** Build args the program computes itself; a family may not set them in `buildArgs`. */
export const RESERVED_BUILD_ARGS = ["CUDA_VERSION", "CUDNN_VARIANT", "PYTHON_VERSION", "BASE_IMAGE", "BASE_REGISTRY", "UPSTREAM_IMAGE"] as const;

/** ECR repository-name component rule (lowercase, separators `.`, `_`, `-` between alphanumerics). */
export const ECR_NAME_PART = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const ECR_PREFIX = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/;

const cudaVersion = z
    .string({ message: 'must be a quoted full CUDA version like "12.4.1" (as in nvidia/cuda tags)' })
    .regex(/^\d{1,2}\.\d{1,2}\.\d{1,2}$/, 'must be a full CUDA version like "12.4.1" (major.minor.patch, as in nvidia/cuda tags)');
const pythonVersion = z
    .string({ message: 'must be a quoted Python version like "3.11" (unquoted 3.10 in YAML is the number 3.1)' })
    .regex(/^3\.\d{1,2}$/, 'must be a Python version like "3.11" (major.minor, quoted in YAML)');
const platform = z.string().regex(/^linux\/(amd64|arm64|arm\/v[67]|ppc64le|s390x|riscv64)$/, 'must be a platform like "linux/amd64" or "linux/arm64"');
export const buildArgName = /^[A-Za-z_][A-Za-z0-9_]*$/;
const isoDate = z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be an ISO date like "2026-11-22"')
    .refine((s) => !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s), "is not a real calendar date");
const positiveInt = (what: string) => z.number({ message: `must be a whole number (${what})` }).int(`must be a whole number (${what})`).min(1, `must be at least 1 (${what})`);

/**
 * A dotted Python module name (`tensordict`, `torch.distributed`). It is the only thing between a
 * stack-file entry and the smoke test's command line, which runs with the registry login in its
 * environment; lib/images/smokeTest.ts quotes the arguments as well (defence in depth).
 */
export const PYTHON_MODULE_NAME = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/;

const familySchema = z.strictObject({
    /** Dockerfile path relative to the project root. @default docker/<family>/Dockerfile */
    dockerfile: z.string().min(1).optional(),
    /** Build context directory relative to the project root. @default the Dockerfile's directory */
    context: z.string().min(1).optional(),
    /** Parent family; the child builds FROM the parent's digest-pinned ref (BASE_IMAGE build arg). */
    parent: z.string().min(1).optional(),
    /** Extra build args (hashed into the tag). */
    buildArgs: z.record(z.string(), z.string({ message: "build arg values must be strings (quote numbers in YAML)" })).default({}),
    /** Dockerfile stage to build. */
    target: z.string().min(1).optional(),
    /** Platforms to build. @default ["linux/amd64"] */
    platforms: z.array(platform).min(1).default(["linux/amd64"]),
    /** Rebuilt on every rebuild epoch (weekly), with a dated tag. @default false */
    dateRebuilt: z.boolean().default(false),
    /** CPU-only family: expanded over Python only, cells named `py3.11`. @default false */
    cpuOnly: z.boolean().default(false),
    /** Restrict the family to a subset of the stack matrix. */
    matrix: z
        .strictObject({
            cuda: z.array(cudaVersion).min(1).optional(),
            python: z.array(pythonVersion).min(1).optional(),
        })
        .optional(),
    /** Compressed GB of one platform's image, for `ci-images storage` when the registry has no measurement. */
    sizeEstimateGb: z.number().positive("must be a positive number of GB").optional(),
    /** Compressed registry size budget of one image of this family, checked by the smoke test. @default build.smokeTest.sizeBudgetGb */
    sizeBudgetGb: z.number().positive("must be a positive number of GB").optional(),
    /**
     * A root family's upstream image per cell, pinned by digest (`nvidia/cuda:13.2.1-devel-ubuntu24.04@sha256:…`),
     * keyed by the cell's CUDA version (by its Python version for a cpuOnly family); passed as the
     * UPSTREAM_IMAGE build arg, so a digest bump changes the content hash. @default none
     */
    baseImages: z
        .record(z.string(), z.string().regex(/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)+:[A-Za-z0-9_][A-Za-z0-9._-]{0,127}@sha256:[0-9a-f]{64}$/, "must be <repository>:<tag>@sha256:<64 hex digits> (pinned by digest; the tag says what it was), e.g. nvidia/cuda:13.2.1-devel-ubuntu24.04@sha256:…"))
        .optional(),
    /** Content-hash builds this family's repository keeps (across its cells). @default registry.retention.keepHashBuilds */
    keepHashBuilds: z.number().int("must be a whole number of images").positive("must be a positive number of images").optional(),
    /** Python modules the smoke test imports (beyond torch). @default [] */
    smokeImports: z.array(z.string().regex(PYTHON_MODULE_NAME, "must be a Python module name")).default([]),
});

const familiesSchema = z.record(z.string(), familySchema).refine((f) => Object.keys(f).length > 0, "must define at least one image family");

const matrixSchema = z.strictObject({
    cuda: z.array(cudaVersion).default([]),
    python: z.array(pythonVersion).min(1, "must list at least one Python version"),
});

const retentionSchema = z.strictObject({
    /** Days a dated tag (nightly `-YYYYMMDD`) is kept. @default 7 */
    datedTagDays: positiveInt("days").default(7),
    /** Content-hash builds kept per repository, newest first. @default 20 */
    keepHashBuilds: positiveInt("images").default(20),
    /** Days an untagged image is kept. @default 1 */
    untaggedDays: positiveInt("days").default(1),
    /** Release tag patterns that never expire. @default ["release-*", "v*"] */
    protectedTagPatterns: z.array(z.string().min(1)).default(["release-*", "v*"]),
});

const registrySchema = z.strictObject({
    backend: z.enum(["ecr", "local"]).default("ecr"),
    prefix: z.string().regex(ECR_PREFIX, 'must be a valid ECR repository prefix: lowercase letters, digits, ".", "_", "-" and "/" (e.g. "ml-ci")').default("ml-ci"),
    protect: z.boolean().default(false),
    forceDelete: z.boolean().default(false),
    encryption: z
        .discriminatedUnion("type", [z.strictObject({ type: z.literal("AES256") }), z.strictObject({ type: z.literal("KMS"), kmsKeyArn: z.string().regex(/^arn:aws[a-z-]*:kms:/, "must be a KMS key ARN").optional() })])
        .default({ type: "AES256" }),
    retention: retentionSchema.default({ datedTagDays: 7, keepHashBuilds: 20, untaggedDays: 1, protectedTagPatterns: ["release-*", "v*"] }),
    pullThroughCache: z
        .strictObject({
            enabled: z.boolean().default(true),
            prefix: z.string().regex(ECR_NAME_PART, 'must be a repository prefix like "docker-hub"').default("docker-hub"),
            credentialSecretArn: z.string().regex(/^arn:aws[a-z-]*:secretsmanager:.*:secret:ecr-pullthroughcache\//, 'must be the ARN of a Secrets Manager secret whose name starts with "ecr-pullthroughcache/"').optional(),
            dockerHubUsername: z.string().min(1).optional(),
        })
        .default({ enabled: true, prefix: "docker-hub" }),
    scanning: z
        .strictObject({
            type: z.enum(["BASIC", "ENHANCED"]).default("BASIC"),
            continuous: z.boolean().default(false),
            /** Other stacks' repository prefixes (and cache prefixes) in the account, covered by this stack's scan-on-push filters (manageRegistrySettings only). @default [] */
            accountPrefixes: z.array(z.string().regex(ECR_PREFIX, 'must be a repository prefix like "ml-ci-dev"')).default([]),
        })
        .default({ type: "BASIC", continuous: false, accountPrefixes: [] }),
    /**
     * Own the account-wide registry settings: the RegistryScanningConfiguration and ReplicationConfiguration REPLACE
     * whatever the account has (other stacks' and hand-made rules included). Opt in explicitly in ONE stack per
     * account and region. @default false
     */
    manageRegistrySettings: z.boolean().default(false),
    replicationRegions: z.array(z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, 'must be an AWS region like "us-west-2"')).default([]),
    /** Forecast budget of stored GB across the stack's repositories (`ci-images check` fails above it). */
    storageBudgetGb: z.number().positive("must be a positive number of GB").optional(),
    pullAccounts: z.array(z.string().regex(/^\d{12}$/, "must be a 12-digit AWS account ID (quoted in YAML)")).default([]),
    pullOrganizationId: z.string().regex(/^o-[a-z0-9]{10,32}$/, 'must be an AWS Organizations ID like "o-a1b2c3d4e5"').optional(),
    local: z
        .strictObject({
            port: z.number().int().min(1024, "must be an unprivileged port (1024-65535)").max(65535, "must be a port (1024-65535)").default(5000),
            containerName: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/, "must be a valid container name").default("mlci-registry"),
        })
        .default({ port: 5000, containerName: "mlci-registry" }),
});

const builderSchema = z.strictObject({
    /** buildx builder name (`cloud-<org>-<builder>` for Docker Build Cloud). */
    name: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'must be a buildx builder name like "fleet-amd64"'),
    driver: z.enum(["remote", "docker-container", "cloud"]),
    /** remote: `tcp://host:port` of buildkitd; cloud: `<org>/<builder>`. */
    endpoint: z.string().min(1).optional(),
    /** remote: mTLS client certificates (absolute paths on the machine that runs pulumi). */
    tls: z.strictObject({ cacert: z.string().min(1), cert: z.string().min(1), key: z.string().min(1), servername: z.string().min(1).optional() }).optional(),
    /** Platforms the builder builds natively. */
    platforms: z.array(platform).min(1),
    /** Builds at once on this builder. @default 1 */
    maxParallel: positiveInt("builds").default(1),
    /** docker-container: BuildKit on the host network. @default false */
    hostNetwork: z.boolean().optional(),
});

const buildSchema = z.strictObject({
    push: z.boolean().default(true),
    cache: z.boolean().default(true),
    forceRebuild: z.union([z.boolean(), z.array(z.string().min(1))]).default(false),
    adoptExisting: z.boolean().default(true),
    buildOnPreview: z.boolean().default(false),
    rebuildEpoch: isoDate.optional(),
    /** One existing buildx builder for every build (the local stack's `mlci-local`); with `builders`, not needed. */
    builder: z.strictObject({ name: z.string().min(1) }).optional(),
    /** BuildKit builders and the platforms each builds natively (lib/images/buildPlan.ts, docs/scaling.md). @default [] */
    builders: z.array(builderSchema).default([]),
    smokeTest: z
        .strictObject({
            enabled: z.boolean().default(true),
            gpu: z.boolean().default(false),
            sizeBudgetGb: z.number().positive("must be a positive number of GB").default(10),
        })
        .default({ enabled: true, gpu: false, sizeBudgetGb: 10 }),
});

const promotionSchema = z.strictObject({
    /** Scan-gate promotion on ECR (the local registry has no scanner). @default true */
    scanGate: z.boolean().default(true),
    /** Findings at or above this severity block promotion. @default "CRITICAL" */
    maxSeverity: z.enum(["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"]).default("CRITICAL"),
    /** Vulnerabilities that do not block, each with a reason and a last day (YYYY-MM-DD). @default [] */
    allowlist: z.array(z.strictObject({ id: z.string(), reason: z.string(), expires: z.string() })).default([]),
    /** Minutes to wait for ECR's scan of a new digest. @default 30 */
    scanTimeoutMinutes: positiveInt("minutes").default(30),
});

const subjectSchema = z.strictObject({
    repo: z.string(),
    branches: z.array(z.string().min(1)).default([]),
    environments: z.array(z.string().min(1)).default([]),
    pullRequests: z.boolean().default(false),
});

const accessSchema = z.strictObject({
    runner: z
        .strictObject({
            enabled: z.boolean().default(true),
            createRole: z.boolean().default(true),
            existingRoleNames: z.array(z.string().regex(/^[\w+=,.@-]{1,64}$/, "must be an IAM role name")).default([]),
        })
        .default({ enabled: true, createRole: true, existingRoleNames: [] }),
    pipeline: z
        .strictObject({
            enabled: z.boolean().default(true),
            /** Create the account's GitHub OIDC provider (one stack per account) or look it up (the others). @default "create" */
            oidcProvider: z.enum(["create", "lookup"]).optional(),
            oidcProviderArn: z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:oidc-provider\/token\.actions\.githubusercontent\.com$/, "must be the ARN of the token.actions.githubusercontent.com OIDC provider").optional(),
            subjects: z.array(subjectSchema).default([]),
            deployPolicyArns: z.array(z.string().regex(/^arn:aws[a-z-]*:iam::(aws|\d{12}):policy\//, "must be an IAM policy ARN")).default([]),
            /** A workflow runs `pulumi up` through this role: the program attaches the generated deploy policy, and `ci-images check` fails without deploy rights. @default false */
            runsPulumiUp: z.boolean().default(false),
        })
        .default({ enabled: true, subjects: [], deployPolicyArns: [], runsPulumiUp: false }),
    /** Read-only role of the PR preview, trusted for `repo:<owner>/<repo>:pull_request` only. */
    preview: z
        .strictObject({
            enabled: z.boolean().default(false),
            /** "owner/name" repositories whose pull requests run the preview. @default [] */
            repositories: z.array(z.string()).default([]),
        })
        .default({ enabled: false, repositories: [] }),
    /** KMS key of the awskms secrets provider of the stack's state; the generated deploy policy may encrypt and decrypt with it. */
    secretsKeyArn: z.string().regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/, "must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>; not an alias: IAM authorizes kms:Decrypt on the key)").optional(),
    /** Where the Pulumi state lives (the preview role reads it; the deploy-rights check reads it). */
    stateBackend: z
        .discriminatedUnion("type", [
            z.strictObject({ type: z.literal("pulumi-cloud") }),
            z.strictObject({ type: z.literal("s3"), bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be an S3 bucket name"), prefix: z.string().optional() }),
        ])
        .optional(),
});

const githubSchema = z.strictObject({
    enabled: z.boolean().default(false),
    owner: z.string().regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/, "must be a GitHub user or organization name").optional(),
    repositories: z
        .array(
            z.strictObject({
                name: z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, "must be a repository name without the owner"),
                environment: z.string().min(1).optional(),
                /** Only these branches may deploy to the environment (custom deployment-branch policy); unset: every branch. */
                deploymentBranches: z.array(z.string().min(1)).min(1, "must list at least one branch (omit it to allow every branch)").optional(),
                /**
                 * Required reviewers of the environment (GitHub team and user IDs, at most 6 together). The program owns
                 * them: terraform-provider-github's create and update are one PUT that sends null for unset reviewers,
                 * which CLEARS reviewers set by hand (resource_github_repository_environment.go createUpdateEnvironmentData).
                 */
                reviewers: z
                    .strictObject({ teams: z.array(z.number().int().positive()).default([]), users: z.array(z.number().int().positive()).default([]) })
                    .refine((r) => r.teams.length + r.users.length >= 1 && r.teams.length + r.users.length <= 6, "must list 1 to 6 team and user IDs together (GitHub's limit)")
                    .optional(),
                /** Reviewers may not approve a run they triggered themselves. @default false */
                preventSelfReview: z.boolean().optional(),
            })
            .refine((t) => t.environment !== undefined || (t.reviewers === undefined && !t.preventSelfReview), { message: "reviewers and preventSelfReview need an environment", path: ["reviewers"] }),
        )
        .default([]),
    /** The repository whose workflows (weekly-rebuild, preview, pr-images) run this program, without the owner. */
    workflowRepository: z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, "must be a repository name without the owner").optional(),
    secretRoleArn: z.boolean().default(true),
});

/** Each `mlci:*` key and its schema; keys not listed here are rejected. */
export const SECTION_SCHEMAS = {
    families: familiesSchema,
    matrix: matrixSchema,
    registry: registrySchema,
    build: buildSchema,
    promotion: promotionSchema,
    access: accessSchema,
    github: githubSchema,
} as const;

/** Config keys that hold secrets (read with `requireSecret`, never parsed here). */
export const SECRET_KEYS = ["dockerHubAccessToken"] as const;

export type Sections = { [K in keyof typeof SECTION_SCHEMAS]: z.output<(typeof SECTION_SCHEMAS)[K]> };
export type FamilyConfig = z.output<typeof familySchema>;
export type MatrixConfig = z.output<typeof matrixSchema>;
export type RegistryConfig = z.output<typeof registrySchema>;
export type RetentionConfig = z.output<typeof retentionSchema>;
export type BuildConfig = z.output<typeof buildSchema>;
export type PromotionConfig = z.output<typeof promotionSchema>;
export type AccessConfig = z.output<typeof accessSchema>;
export type GithubConfig = z.output<typeof githubSchema>;

/** A family after defaults, with absolute and project-relative paths resolved. */
export interface ResolvedFamily extends FamilyConfig {
    name: string;
    dockerfile: string;
    context: string;
    dockerfilePath: string;
    contextPath: string;
}

/** The validated stack config every component and the CLI consume. */
export interface StackConfig extends Omit<Sections, "families"> {
    projectRoot: string;
    families: ResolvedFamily[];
    /** ISO date (YYYY-MM-DD) that date-rebuilt families hash into their tag. */
    rebuildEpoch: string;
    /** Which secret config keys are set (their values are never parsed here). */
    secretsPresent: string[];
    /** The stack's AWS region (`aws:region`), when known. */
    region?: string;
}

/** Config keys that hold credentials: they must be set with `pulumi config set --secret`. */
export const CREDENTIAL_KEYS = [`${CONFIG_NAMESPACE}:dockerHubAccessToken`, "github:token"] as const;

/** Raw config: the `mlci:*` keys (namespace stripped) with JSON-parsed values. */
export type RawConfig = Record<string, unknown>;

function zodPath(section: string, p: readonly PropertyKey[]): string {
    let out = section;
    for (const k of p) out += typeof k === "number" ? `[${k}]` : `.${String(k)}`;
    return out;
}

function valueAt(value: unknown, p: readonly PropertyKey[]): unknown {
    let v = value;
    for (const k of p) v = v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[k] : undefined;
    return v;
}

/** Fixes for the zod type errors people make in stack YAML, by what was expected and what was given. */
function typeFix(path: string, expected: string, value: unknown): string | undefined {
    if (value === undefined) return path === "matrix.python" ? 'list the Python versions to build, quoted: python: ["3.12", "3.13"]' : `set ${CONFIG_NAMESPACE}:${path} (see docs/config.md)`;
    if (expected === "boolean") return typeof value === "string" ? `use true or false, unquoted (YAML 1.2 reads ${JSON.stringify(value)} as a string)` : "use true or false";
    if (expected === "array" && typeof value === "string") {
        const items = value.split(",").map((v) => v.trim()).filter(Boolean);
        return `write a YAML list${items.length > 1 ? " instead of a comma-joined string" : ""}: [${items.map((v) => JSON.stringify(v)).join(", ")}]`;
    }
    if (expected === "object" && typeof value === "string" && /^github\.repositories\[\d+\]$/.test(path)) return `write each repository as an object: { name: ${JSON.stringify(value)} } (optionally with environment: <name>)`;
    return undefined;
}

export function zodProblems(section: string, error: z.ZodError, value: unknown): ConfigProblem[] {
    return error.issues.map((issue): ConfigProblem => {
        const path = zodPath(section, issue.path);
        const given = valueAt(value, issue.path);
        if (issue.code === "unrecognized_keys" && path === "build.builder" && issue.keys.includes("endpoint")) {
            return { path: `${path}.endpoint`, message: "was replaced by build.builders", fix: 'list the BuildKit as a builder: builders: [{ name: fleet-amd64, driver: remote, endpoint: "tcp://buildkitd:1234", platforms: [linux/amd64] }] (docs/scaling.md)' };
        }
        if (issue.code === "unrecognized_keys") {
            return { path: zodPath(section, issue.path), message: `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}`, fix: "remove it or correct its spelling (see the config reference in docs/config.md)" };
        }
        if (issue.code === "invalid_value" && "values" in issue) {
            return { path, message: `must be one of ${(issue.values as unknown[]).map((v) => JSON.stringify(v)).join(", ")}` };
        }
        if (issue.code === "invalid_union" && issue.path.at(-1) === "encryption") {
            return { path, message: 'must be { type: AES256 } or { type: KMS, kmsKeyArn: <optional key ARN> }' };
        }
        if (issue.code === "invalid_union" && path === "build.forceRebuild") {
            return { path, message: `must be true, false or a list of image names, got ${JSON.stringify(given)}`, fix: 'use true to rebuild every image, or a list like ["nightly-cuda13.2-py3.12"] (names from `npx ci-images tags`)' };
        }
        if (issue.code === "invalid_format" && /^families\.[^.]+\.smokeImports\[\d+\]$/.test(path)) {
            return { path, message: `${JSON.stringify(given)} is not a Python module name`, fix: "list importable module names only, e.g. [tensordict, habitat_sim, torch.distributed]" };
        }
        if (issue.code === "invalid_type") {
            if (given === undefined) return { path, message: "is required", fix: typeFix(path, issue.expected, given) };
            return { path, message: issue.message, fix: typeFix(path, issue.expected, given) };
        }
        return { path, message: issue.message };
    });
}
