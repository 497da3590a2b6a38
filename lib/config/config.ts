/**
 * Stack config for ml-ci-images: one zod schema per `mlci:*` key, semantic checks across keys,
 * and one error that lists every problem by config path with its fix. Shared by the Pulumi
 * program and the offline `ci-images` CLI; registers no resources.
 */
import * as fs from "fs";
import * as path from "path";
import { z } from "zod";

/** The Pulumi config namespace of this project. */
export const CONFIG_NAMESPACE = "mlci";

/** Build args the program computes itself; a family may not set them in `buildArgs`. */
export const RESERVED_BUILD_ARGS = ["CUDA_VERSION", "CUDNN_VARIANT", "PYTHON_VERSION", "BASE_IMAGE", "BASE_REGISTRY"] as const;

/** ECR repository-name component rule (lowercase, separators `.`, `_`, `-` between alphanumerics). */
const ECR_NAME_PART = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const ECR_PREFIX = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/;

const cudaVersion = z
    .string({ message: 'must be a quoted full CUDA version like "12.4.1" (as in nvidia/cuda tags)' })
    .regex(/^\d{1,2}\.\d{1,2}\.\d{1,2}$/, 'must be a full CUDA version like "12.4.1" (major.minor.patch, as in nvidia/cuda tags)');
const pythonVersion = z
    .string({ message: 'must be a quoted Python version like "3.11" (unquoted 3.10 in YAML is the number 3.1)' })
    .regex(/^3\.\d{1,2}$/, 'must be a Python version like "3.11" (major.minor, quoted in YAML)');
const platform = z.string().regex(/^linux\/(amd64|arm64|arm\/v[67]|ppc64le|s390x|riscv64)$/, 'must be a platform like "linux/amd64" or "linux/arm64"');
const buildArgName = /^[A-Za-z_][A-Za-z0-9_]*$/;
const isoDate = z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be an ISO date like "2026-11-22"')
    .refine((s) => !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s), "is not a real calendar date");
const positiveInt = (what: string) => z.number({ message: `must be a whole number (${what})` }).int(`must be a whole number (${what})`).min(1, `must be at least 1 (${what})`);

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
    /** Python modules the smoke test imports (beyond torch). @default [] */
    smokeImports: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_.]*$/, "must be a Python module name")).default([]),
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
    scanning: z.strictObject({ type: z.enum(["BASIC", "ENHANCED"]).default("BASIC"), continuous: z.boolean().default(false) }).default({ type: "BASIC", continuous: false }),
    /** Manage account-wide registry settings (scanning, replication); one stack per account should. @default true */
    manageRegistrySettings: z.boolean().default(true),
    replicationRegions: z.array(z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, 'must be an AWS region like "us-west-2"')).default([]),
    pullAccounts: z.array(z.string().regex(/^\d{12}$/, "must be a 12-digit AWS account ID (quoted in YAML)")).default([]),
    pullOrganizationId: z.string().regex(/^o-[a-z0-9]{10,32}$/, 'must be an AWS Organizations ID like "o-a1b2c3d4e5"').optional(),
    local: z
        .strictObject({
            port: z.number().int().min(1024, "must be an unprivileged port (1024-65535)").max(65535, "must be a port (1024-65535)").default(5000),
            containerName: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/, "must be a valid container name").default("mlci-registry"),
        })
        .default({ port: 5000, containerName: "mlci-registry" }),
});

const buildSchema = z.strictObject({
    push: z.boolean().default(true),
    cache: z.boolean().default(true),
    forceRebuild: z.union([z.boolean(), z.array(z.string().min(1))]).default(false),
    adoptExisting: z.boolean().default(true),
    buildOnPreview: z.boolean().default(false),
    rebuildEpoch: isoDate.optional(),
    builder: z
        .strictObject({
            name: z.string().min(1).optional(),
            endpoint: z.string().regex(/^(tcp|unix|ssh|docker-container|kube-pod):\/\//, 'must be a BuildKit address like "tcp://buildkitd:1234"').optional(),
        })
        .optional(),
    smokeTest: z
        .strictObject({
            enabled: z.boolean().default(true),
            gpu: z.boolean().default(false),
            sizeBudgetGb: z.number().positive("must be a positive number of GB").default(10),
        })
        .default({ enabled: true, gpu: false, sizeBudgetGb: 10 }),
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
            oidcProviderArn: z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:oidc-provider\/token\.actions\.githubusercontent\.com$/, "must be the ARN of the token.actions.githubusercontent.com OIDC provider").optional(),
            subjects: z.array(subjectSchema).default([]),
            deployPolicyArns: z.array(z.string().regex(/^arn:aws[a-z-]*:iam::(aws|\d{12}):policy\//, "must be an IAM policy ARN")).default([]),
        })
        .default({ enabled: true, subjects: [], deployPolicyArns: [] }),
});

const githubSchema = z.strictObject({
    enabled: z.boolean().default(false),
    owner: z.string().regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/, "must be a GitHub user or organization name").optional(),
    repositories: z.array(z.strictObject({ name: z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, "must be a repository name without the owner"), environment: z.string().min(1).optional() })).default([]),
    secretRoleArn: z.boolean().default(true),
});

/** Each `mlci:*` key and its schema; keys not listed here are rejected. */
const SECTION_SCHEMAS = {
    families: familiesSchema,
    matrix: matrixSchema,
    registry: registrySchema,
    build: buildSchema,
    access: accessSchema,
    github: githubSchema,
} as const;

/** Config keys that hold secrets (read with `requireSecret`, never parsed here). */
export const SECRET_KEYS = ["dockerHubAccessToken"] as const;

type Sections = { [K in keyof typeof SECTION_SCHEMAS]: z.output<(typeof SECTION_SCHEMAS)[K]> };
export type FamilyConfig = z.output<typeof familySchema>;
export type MatrixConfig = z.output<typeof matrixSchema>;
export type RegistryConfig = z.output<typeof registrySchema>;
export type RetentionConfig = z.output<typeof retentionSchema>;
export type BuildConfig = z.output<typeof buildSchema>;
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

/** One config problem: where, what, and how to fix it. */
export interface ConfigProblem {
    /** Path under `mlci:` (e.g. `build.forceRebuild[0]`), or a full key of another namespace (`github:token`). */
    path: string;
    message: string;
    fix?: string;
}

/** Thrown before any resource is registered when the stack config is invalid. */
export class ConfigError extends Error {
    constructor(public readonly problems: ConfigProblem[]) {
        super(formatProblems(problems));
        this.name = "ConfigError";
    }
}

/** Renders problems as the one message the program and the CLI print. */
export function formatProblems(problems: ConfigProblem[]): string {
    const lines = problems.map((p) => `  - config ${p.path.includes(":") ? p.path : `${CONFIG_NAMESPACE}:${p.path}`}: ${p.message}${p.fix ? `. Fix: ${p.fix}` : ""}`);
    return `Invalid ml-ci-images stack config (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${lines.join("\n")}`;
}

/** Inputs to {@link parseStackConfig} besides the raw values. */
export interface ParseOptions {
    /** Directory that holds Pulumi.yaml; Dockerfile paths are relative to it. */
    projectRoot: string;
    /** Environment overrides: MLCI_REBUILD_EPOCH, MLCI_FORCE_REBUILD (the caller passes its environment). @default {} */
    env?: Record<string, string | undefined>;
    /** Credentials as the composition root found them; undefined skips the checks. */
    credentials?: CredentialFacts;
    /** The stack's AWS region (`aws:region`), when known. */
    region?: string;
    /** Clock for the default rebuild epoch. @default new Date() */
    now?: Date;
    /** Extra cross-key checks contributed by other modules (retention, access…). */
    extraChecks?: ((config: StackConfig) => ConfigProblem[])[];
}

/** Config keys that hold credentials: they must be set with `pulumi config set --secret`. */
export const CREDENTIAL_KEYS = [`${CONFIG_NAMESPACE}:dockerHubAccessToken`, "github:token"] as const;

/** What the composition root knows about credentials, without their values. */
export interface CredentialFacts {
    /** A GitHub token is available (github:token or GITHUB_TOKEN). */
    githubToken: boolean;
    /** Credential keys (full keys, from {@link CREDENTIAL_KEYS}) stored in plaintext in the stack file. */
    plaintext: string[];
}

function credentialProblems(cfg: StackConfig, facts: CredentialFacts | undefined): ConfigProblem[] {
    if (!facts) return [];
    const problems: ConfigProblem[] = facts.plaintext.map((key) => ({
        path: key,
        message: "is stored in plaintext in the stack file",
        fix: `pulumi config rm ${key} && pulumi config set --secret ${key} <value> (and rotate the exposed credential)`,
    }));
    if (cfg.github.enabled && cfg.registry.backend !== "local" && !facts.githubToken) {
        problems.push({
            path: "github.enabled",
            message: "is true but no GitHub token is set (neither the github:token config nor the GITHUB_TOKEN environment variable)",
            fix: "pulumi config set --secret github:token <token with Actions variables and secrets write access>, or export GITHUB_TOKEN, or set mlci:github.enabled: false",
        });
    }
    return problems;
}

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

function zodProblems(section: string, error: z.ZodError, value: unknown): ConfigProblem[] {
    return error.issues.map((issue): ConfigProblem => {
        const path = zodPath(section, issue.path);
        const given = valueAt(value, issue.path);
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
        if (issue.code === "invalid_type") {
            if (given === undefined) return { path, message: "is required", fix: typeFix(path, issue.expected, given) };
            return { path, message: issue.message, fix: typeFix(path, issue.expected, given) };
        }
        return { path, message: issue.message };
    });
}

/** Levenshtein distance, for "did you mean" hints. */
function editDistance(a: string, b: string): number {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0][j] = j;
    for (let i = 1; i <= a.length; i++)
        for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    return d[a.length][b.length];
}

/** The closest candidate within a small edit distance, or undefined. */
export function closest(word: string, candidates: string[]): string | undefined {
    let best: string | undefined;
    let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
    for (const c of candidates) {
        const dist = editDistance(word, c);
        if (dist < bestDistance) [best, bestDistance] = [c, dist];
    }
    return best;
}

/** Most recent Sunday (UTC) on or before `now`, as YYYY-MM-DD: the weekly rebuild bucket. */
export function defaultRebuildEpoch(now: Date): string {
    const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
    d.setUTCDate(d.getUTCDate() - d.getUTCDay());
    return d.toISOString().slice(0, 10);
}

/** The `cudaX.Y` label of a full CUDA version. */
export function cudaShort(version: string): string {
    return version.split(".").slice(0, 2).join(".");
}

function resolveFamilies(raw: Record<string, FamilyConfig>, root: string, problems: ConfigProblem[]): ResolvedFamily[] {
    const out: ResolvedFamily[] = [];
    for (const [name, f] of Object.entries(raw)) {
        const at = `families.${name}`;
        if (!ECR_NAME_PART.test(name)) {
            problems.push({ path: at, message: `"${name}" is not a valid image family name (ECR would reject the repository name)`, fix: 'use lowercase letters and digits separated by ".", "_" or "-", e.g. "nightly"' });
        }
        const dockerfile = toPosix(f.dockerfile ?? `docker/${name}/Dockerfile`);
        const context = toPosix(f.context ?? path.posix.dirname(dockerfile));
        const dockerfilePath = path.resolve(root, dockerfile);
        const contextPath = path.resolve(root, context);
        for (const [key, rel, abs] of [["dockerfile", dockerfile, dockerfilePath], ["context", context, contextPath]] as const) {
            if (path.isAbsolute(rel) || !isInside(root, abs)) {
                problems.push({ path: `${at}.${key}`, message: `"${rel}" is outside the project`, fix: "use a path relative to the project root, inside it (e.g. docker/<family>/)" });
            }
        }
        if (isInside(root, dockerfilePath) && !isFile(dockerfilePath)) {
            problems.push({ path: `${at}.dockerfile`, message: `Dockerfile "${dockerfile}" does not exist`, fix: `create it, or set ${CONFIG_NAMESPACE}:${at}.dockerfile to an existing Dockerfile` });
        }
        if (isInside(root, contextPath) && !isDirectory(contextPath)) {
            problems.push({ path: `${at}.context`, message: `build context "${context}" is not a directory`, fix: `create it, or set ${CONFIG_NAMESPACE}:${at}.context` });
        }
        for (const key of Object.keys(f.buildArgs)) {
            if ((RESERVED_BUILD_ARGS as readonly string[]).includes(key)) {
                problems.push({ path: `${at}.buildArgs.${key}`, message: `${key} is computed by the program (matrix cell / parent) and cannot be set`, fix: "remove it; use mlci:matrix or the family's parent instead" });
            } else if (!buildArgName.test(key)) {
                problems.push({ path: `${at}.buildArgs.${key}`, message: `"${key}" is not a valid build arg name`, fix: "use letters, digits and underscores" });
            }
        }
        out.push({ ...f, name, dockerfile, context, dockerfilePath, contextPath });
    }
    return out;
}

function checkParents(families: ResolvedFamily[], problems: ConfigProblem[]): void {
    const byName = new Map(families.map((f) => [f.name, f]));
    for (const f of families) {
        const at = `families.${f.name}`;
        if (f.parent !== undefined) {
            if (f.parent === f.name) {
                problems.push({ path: `${at}.parent`, message: `family "${f.name}" is its own parent`, fix: "remove parent or name another family" });
            } else if (!byName.has(f.parent)) {
                const hint = closest(f.parent, [...byName.keys()]);
                problems.push({ path: `${at}.parent`, message: `"${f.parent}" is not a family${hint ? ` (did you mean "${hint}"?)` : ""}`, fix: `name one of: ${[...byName.keys()].join(", ")}` });
            }
        }
    }
    // Cycles: follow parents from every family.
    const reported = new Set<string>();
    for (const f of families) {
        const seen: string[] = [];
        let cur: ResolvedFamily | undefined = f;
        while (cur && cur.parent !== undefined && cur.parent !== cur.name) {
            if (seen.includes(cur.name)) {
                const cycle = seen.slice(seen.indexOf(cur.name));
                const key = [...cycle].sort().join(",");
                if (!reported.has(key)) {
                    reported.add(key);
                    problems.push({ path: `families.${cycle[0]}.parent`, message: `parent cycle: ${[...cycle, cycle[0]].join(" -> ")}`, fix: "one family of the cycle must have no parent (a root built FROM a public base image)" });
                }
                break;
            }
            seen.push(cur.name);
            cur = byName.get(cur.parent);
        }
    }
}

function checkFamilyMatrix(families: ResolvedFamily[], matrix: MatrixConfig, problems: ConfigProblem[]): void {
    const byName = new Map(families.map((f) => [f.name, f]));
    const matrixCuda = new Set(matrix.cuda);
    const matrixPython = new Set(matrix.python);
    for (const f of families) {
        const at = `families.${f.name}`;
        if (f.cpuOnly && f.matrix?.cuda) {
            problems.push({ path: `${at}.matrix.cuda`, message: "a cpuOnly family has no CUDA versions", fix: "remove matrix.cuda or cpuOnly" });
        }
        for (const v of f.matrix?.cuda ?? []) {
            if (!matrixCuda.has(v)) problems.push({ path: `${at}.matrix.cuda`, message: `CUDA ${v} is not in mlci:matrix.cuda (${matrix.cuda.join(", ") || "empty"})`, fix: "add it to mlci:matrix.cuda or remove it from the family's restriction" });
        }
        for (const v of f.matrix?.python ?? []) {
            if (!matrixPython.has(v)) problems.push({ path: `${at}.matrix.python`, message: `Python ${v} is not in mlci:matrix.python (${matrix.python.join(", ")})`, fix: "add it to mlci:matrix.python or remove it from the family's restriction" });
        }
        if (!f.cpuOnly && matrix.cuda.length === 0) {
            problems.push({ path: "matrix.cuda", message: `family "${f.name}" is a GPU family but the matrix lists no CUDA version`, fix: 'add versions like "12.4.1", or set cpuOnly: true on the family' });
        }
    }
    // A child must be built only on cells its parent is built for.
    for (const f of families) {
        const parent = f.parent !== undefined ? byName.get(f.parent) : undefined;
        if (!parent || parent === f) continue;
        const at = `families.${f.name}`;
        if (parent.cpuOnly !== f.cpuOnly) {
            problems.push({ path: `${at}.parent`, message: `"${f.name}" is ${f.cpuOnly ? "cpuOnly" : "a GPU family"} but its parent "${parent.name}" is ${parent.cpuOnly ? "cpuOnly" : "a GPU family"}`, fix: "parent and child must both be cpuOnly or both GPU" });
            continue;
        }
        const parentCells = new Set(familyCells(parent, matrix).map((c) => c.label));
        const missing = familyCells(f, matrix).filter((c) => !parentCells.has(c.label)).map((c) => c.label);
        if (missing.length > 0) {
            problems.push({ path: `${at}.matrix`, message: `cells ${missing.join(", ")} are not built for parent "${parent.name}"`, fix: `restrict ${CONFIG_NAMESPACE}:${at}.matrix to the parent's cells, or widen the parent's matrix` });
        }
    }
}

function checkMatrix(matrix: MatrixConfig, problems: ConfigProblem[]): void {
    const dup = (values: string[], key: string, label: (v: string) => string) => {
        const seen = new Map<string, string>();
        for (const v of values) {
            const l = label(v);
            if (seen.has(l)) problems.push({ path: `matrix.${key}`, message: `"${v}" duplicates "${seen.get(l)}" (both give image names with ${l})`, fix: "list each version once" });
            else seen.set(l, v);
        }
    };
    dup(matrix.cuda, "cuda", (v) => `cuda${cudaShort(v)}`);
    dup(matrix.python, "python", (v) => `py${v}`);
}

/** A CUDA × Python cell; `cuda` is undefined for CPU-only families. */
export interface MatrixCell {
    cuda?: string;
    python: string;
    /** `cuda12.4-py3.11` or `py3.11`: the image-name suffix and tag prefix. */
    label: string;
}

/** The cells a family is built for: the stack matrix, narrowed by the family's restriction. */
export function familyCells(family: Pick<FamilyConfig, "cpuOnly" | "matrix">, matrix: MatrixConfig): MatrixCell[] {
    const pythons = matrix.python.filter((p) => !family.matrix?.python || family.matrix.python.includes(p));
    if (family.cpuOnly) return pythons.map((python) => ({ python, label: `py${python}` }));
    const cudas = matrix.cuda.filter((c) => !family.matrix?.cuda || family.matrix.cuda.includes(c));
    return cudas.flatMap((cuda) => pythons.map((python) => ({ cuda, python, label: `cuda${cudaShort(cuda)}-py${python}` })));
}

/** An image's name: `<family>-<cell label>`, e.g. `nightly-cuda12.4-py3.11`. */
export function imageName(family: string, cell: Pick<MatrixCell, "label">): string {
    return `${family}-${cell.label}`;
}

/** Every image name of a stack, family by family. */
export function stackImageNames(config: Pick<StackConfig, "families" | "matrix">): string[] {
    return config.families.flatMap((f) => familyCells(f, config.matrix).map((c) => imageName(f.name, c)));
}

function checkBuildAndGithub(cfg: StackConfig, problems: ConfigProblem[]): void {
    const imageNames = new Set(stackImageNames(cfg));
    if (Array.isArray(cfg.build.forceRebuild)) {
        cfg.build.forceRebuild.forEach((n, i) => {
            if (!imageNames.has(n)) {
                const hint = closest(n, [...imageNames]);
                problems.push({ path: `build.forceRebuild[${i}]`, message: `"${n}" is not an image of this stack${hint ? ` (did you mean "${hint}"?)` : ""}`, fix: "name an image from `npx ci-images tags`, or use true for all" });
            }
        });
    }
    if (cfg.build.builder?.name && cfg.build.builder.endpoint) {
        problems.push({ path: "build.builder", message: "name and endpoint are mutually exclusive", fix: "set name (an existing buildx builder) or endpoint (a BuildKit address), not both" });
    }
    if (cfg.github.enabled) {
        if (!cfg.github.owner) problems.push({ path: "github.owner", message: "is required when github.enabled is true", fix: "set the GitHub organization or user that owns the repositories, or set github.enabled: false" });
        if (cfg.github.repositories.length === 0) problems.push({ path: "github.repositories", message: "is empty while github.enabled is true", fix: "list the repositories to write Actions variables to, or set github.enabled: false" });
        if (cfg.github.secretRoleArn && !cfg.access.pipeline.enabled) problems.push({ path: "github.secretRoleArn", message: "needs access.pipeline.enabled (there is no pipeline role to publish)", fix: "enable access.pipeline or set github.secretRoleArn: false" });
    }
    if (cfg.registry.backend === "local") {
        for (const [key, on] of [["access.runner.enabled", cfg.access.runner.enabled], ["access.pipeline.enabled", cfg.access.pipeline.enabled], ["github.enabled", cfg.github.enabled]] as const) {
            if (on) problems.push({ path: key, message: "must be false with registry.backend local (no cloud account)", fix: `set ${CONFIG_NAMESPACE}:${key} to false` });
        }
    }
}

/** Overlays MLCI_REBUILD_EPOCH / MLCI_FORCE_REBUILD from the environment onto raw build config. */
function applyEnvOverrides(raw: RawConfig, env: Record<string, string | undefined>): RawConfig {
    const build = { ...((raw.build as Record<string, unknown> | undefined) ?? {}) };
    if (env.MLCI_REBUILD_EPOCH) build.rebuildEpoch = env.MLCI_REBUILD_EPOCH;
    const force = env.MLCI_FORCE_REBUILD?.trim();
    if (force) build.forceRebuild = force === "all" || force === "true" ? true : force === "false" ? false : force.split(",").map((s) => s.trim()).filter(Boolean);
    return { ...raw, build };
}

/**
 * Validates the raw `mlci:*` config of a stack and resolves defaults and paths.
 * Throws {@link ConfigError} listing every problem; touches only the filesystem.
 */
export function parseStackConfig(rawConfig: RawConfig, opts: ParseOptions): StackConfig {
    const problems: ConfigProblem[] = [];
    const raw = applyEnvOverrides(rawConfig, opts.env ?? {});
    const known = new Set<string>([...Object.keys(SECTION_SCHEMAS), ...SECRET_KEYS]);
    for (const key of Object.keys(raw)) {
        if (!known.has(key)) {
            const hint = closest(key, [...known]);
            problems.push({ path: key, message: `unknown config key${hint ? ` (did you mean ${CONFIG_NAMESPACE}:${hint}?)` : ""}`, fix: `remove it; known keys are ${[...known].map((k) => `${CONFIG_NAMESPACE}:${k}`).join(", ")}` });
        }
    }
    const parsed: Partial<Sections> = {};
    for (const [key, schema] of Object.entries(SECTION_SCHEMAS)) {
        const value = raw[key] ?? (key === "families" || key === "matrix" ? undefined : {});
        if (value === undefined) {
            problems.push({ path: key, message: "is required", fix: `set ${CONFIG_NAMESPACE}:${key} in Pulumi.<stack>.yaml (see README.md)` });
            continue;
        }
        const result = (schema as z.ZodType).safeParse(value);
        if (result.success) (parsed as Record<string, unknown>)[key] = result.data;
        else problems.push(...zodProblems(key, result.error, value));
    }
    if (parsed.matrix) checkMatrix(parsed.matrix, problems);
    let families: ResolvedFamily[] | undefined;
    if (parsed.families) families = resolveFamilies(parsed.families, opts.projectRoot, problems);
    if (families) checkParents(families, problems);
    if (families && parsed.matrix) checkFamilyMatrix(families, parsed.matrix, problems);
    if (problems.length > 0 || !families) throw new ConfigError(problems);

    const config: StackConfig = {
        projectRoot: opts.projectRoot,
        families,
        matrix: parsed.matrix!,
        registry: parsed.registry!,
        build: parsed.build!,
        access: parsed.access!,
        github: parsed.github!,
        rebuildEpoch: parsed.build!.rebuildEpoch ?? defaultRebuildEpoch(opts.now ?? new Date()),
        secretsPresent: SECRET_KEYS.filter((k) => raw[k] !== undefined),
        region: opts.region,
    };
    checkBuildAndGithub(config, problems);
    problems.push(...credentialProblems(config, opts.credentials));
    for (const check of opts.extraChecks ?? []) problems.push(...check(config));
    if (problems.length > 0) throw new ConfigError(problems);
    return config;
}

function toPosix(p: string): string {
    return p.split(path.sep).join("/");
}
function isInside(root: string, abs: string): boolean {
    const rel = path.relative(root, abs);
    return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}
function isFile(p: string): boolean {
    try {
        return fs.statSync(p).isFile();
    } catch {
        return false;
    }
}
function isDirectory(p: string): boolean {
    try {
        return fs.statSync(p).isDirectory();
    } catch {
        return false;
    }
}
