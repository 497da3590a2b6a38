// IAM documents for CI access to the image registry: pure data, no Pulumi resources.
// Shared by the access components, the tests (which also send every document to moto) and the policy pack.
import type { ConfigProblem } from "../config/problems";

/** Issuer URL of GitHub Actions' OIDC tokens; also the IAM OIDC provider URL. */
export const GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com";
/** Audience that aws-actions/configure-aws-credentials requests; the only client ID the provider trusts. */
export const GITHUB_OIDC_AUDIENCE = "sts.amazonaws.com";
/** Condition-key prefix for claims of GitHub's OIDC tokens. */
const GITHUB_TOKEN_KEY = "token.actions.githubusercontent.com";

/** The one ECR action that has no resource-level permissions and so must be granted on `*`. */
export const ECR_LOGIN_ACTION = "ecr:GetAuthorizationToken";
/** Actions needed to pull an image from a repository. */
export const ECR_PULL_ACTIONS: readonly string[] = [
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
];
/** Extra actions the first pull through a cache rule needs: create the cached repository and import the upstream image. */
export const ECR_PULL_THROUGH_CACHE_ACTIONS: readonly string[] = ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"];
/** Actions needed to push images (and registry build caches), read them back, list them and read their scan findings (the promotion's scan gate). */
export const ECR_PUSH_ACTIONS: readonly string[] = [
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:CompleteLayerUpload",
    "ecr:DescribeImageScanFindings",
    "ecr:DescribeImages",
    "ecr:GetDownloadUrlForLayer",
    "ecr:InitiateLayerUpload",
    "ecr:ListImages",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
];

/** Actions that may be granted on `Resource: "*"` (they have no resource-level permissions). */
const STAR_RESOURCE_ACTIONS: ReadonlySet<string> = new Set([ECR_LOGIN_ACTION.toLowerCase()]);

/** A condition block: operator → condition key → value(s). */
export type PolicyCondition = Record<string, Record<string, string | string[]>>;

/** One IAM policy statement, as IAM's JSON grammar spells it. */
export interface PolicyStatement {
    Sid?: string;
    Effect: "Allow" | "Deny";
    Principal?: "*" | Record<string, string | string[]>;
    Action?: string | string[];
    NotAction?: string | string[];
    Resource?: string | string[];
    NotResource?: string | string[];
    Condition?: PolicyCondition;
}

/** An IAM policy document (identity policy or role trust policy). */
export interface PolicyDocument {
    Version: "2012-10-17";
    Statement: PolicyStatement[];
}

/**
 * A GitHub repository whose workflows may assume the pipeline role, on the named branches and/or environments.
 * A job that names an environment gets only the `environment:` claim (not `ref:`), so list its environment.
 */
export interface GithubSubject {
    /** "owner/name", e.g. "pytorch/rl". */
    repo: string;
    /** Branch names (a `*` pattern such as "release/*" is allowed). */
    branches?: string[];
    /** GitHub deployment environment names. */
    environments?: string[];
    /** Also trust `pull_request` workflows of the repository (`repo:<owner>/<repo>:pull_request`). */
    pullRequests?: boolean;
}

/** `mlci:access.runner` as parsed from config. */
export interface RunnerAccessSettings {
    enabled: boolean;
    /** Create a dedicated role + instance profile; false attaches the policy only to `existingRoleNames`. */
    createRole?: boolean;
    /** Names (not ARNs) of existing runner roles that also get the pull policy. */
    existingRoleNames?: string[];
}

/**
 * How a stack gets the account's GitHub OIDC provider. IAM holds ONE provider per URL and account (a second create
 * fails with EntityAlreadyExists), so exactly one stack per account creates it and the others look it up.
 */
export type OidcProviderMode = "create" | "lookup";

/** `mlci:access.pipeline` as parsed from config. */
export interface PipelineAccessSettings {
    enabled: boolean;
    /** `create` the account's GitHub OIDC provider or `lookup` the one another stack created. @default "create" unless oidcProviderArn is set */
    oidcProvider?: OidcProviderMode;
    /** ARN of an existing GitHub OIDC provider: neither created nor looked up. */
    oidcProviderArn?: string;
    subjects?: GithubSubject[];
    /** Managed policies that let the pipeline run `pulumi up` (state backend, manage ECR/IAM); chosen by admins. */
    deployPolicyArns?: string[];
    /** A workflow runs `pulumi up` of this stack through the pipeline role (prod's weekly rebuild). @default false */
    runsPulumiUp?: boolean;
}

/** `mlci:access.preview`: the read-only role of the PR preview (`pulumi preview` on `pull_request`). */
export interface PreviewAccessSettings {
    enabled: boolean;
    /** "owner/name" repositories whose `pull_request` workflows may assume the role. */
    repositories?: string[];
}

/** Where the stack's Pulumi state lives: an S3 bucket (DIY backend) or Pulumi Cloud (no AWS rights). */
export type StateBackendSettings = { type: "pulumi-cloud" } | { type: "s3"; bucket: string; prefix?: string };

/** `mlci:access` as parsed from config. */
export interface AccessSettings {
    runner?: RunnerAccessSettings;
    pipeline?: PipelineAccessSettings;
    preview?: PreviewAccessSettings;
    stateBackend?: StateBackendSettings;
}

/**
 * Session length (seconds) of the pipeline role: its `maxSessionDuration`, and the value the program writes to GitHub
 * as `CI_IMAGES_PIPELINE_SESSION_SECONDS` for the weekly job's `role-duration-seconds`. One value, so STS never sees
 * a request longer than the role allows. 6 hours: the weekly job's timeout (360 min) fits inside it.
 */
export const PIPELINE_SESSION_SECONDS = 21600;
/** IAM's bounds of a role's `maxSessionDuration` (1 to 12 hours). */
export const IAM_SESSION_BOUNDS = { min: 3600, max: 43200 } as const;

/** How the stack's OIDC provider is obtained: the explicit ARN, else the configured mode (create by default). */
export function oidcProviderSource(pipeline: Pick<PipelineAccessSettings, "oidcProvider" | "oidcProviderArn">): { arn: string } | { mode: OidcProviderMode } {
    return pipeline.oidcProviderArn !== undefined ? { arn: pipeline.oidcProviderArn } : { mode: pipeline.oidcProvider ?? "create" };
}

const statementActions = (s: PolicyStatement): string[] => toList(s.Action ?? []);
const toList = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);
const unique = (xs: readonly string[]): string[] => [...new Set(xs)].sort();
const hasWildcard = (s: string): boolean => /[*?]/.test(s);
const isWildcardOnly = (s: string): boolean => /^[*?/]+$/.test(s);

/** Trust policy letting EC2 instances (the GPU runners) assume a role via their instance profile. */
export function ec2TrustPolicy(): PolicyDocument {
    return {
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
    };
}

/**
 * ARN pattern matching every repository a pull-through cache rule creates under `prefix`,
 * e.g. `arn:aws:ecr:us-east-1:123456789012:repository/docker-hub/*`.
 */
export function pullThroughCacheRepositoryArnPattern(args: { region: string; accountId: string; prefix: string; partition?: string }): string {
    const prefix = args.prefix.replace(/^\/+|\/+$/g, "");
    if (prefix === "" || hasWildcard(prefix)) {
        throw new Error(`pull-through cache prefix "${args.prefix}" must be a literal repository prefix such as "docker-hub"`);
    }
    return `arn:${args.partition ?? "aws"}:ecr:${args.region}:${args.accountId}:repository/${prefix}/*`;
}

/** Arguments of the ECR identity policies. */
export interface RepositoryPolicyArgs {
    /** ARNs of this stack's repositories; nothing else is granted. */
    repositoryArns: readonly string[];
    /** Pattern of the pull-through cache's repositories (see `pullThroughCacheRepositoryArnPattern`). */
    pullThroughCacheRepositoryArnPattern?: string;
}

function pullThroughCacheStatement(pattern: string | undefined): PolicyStatement[] {
    if (pattern === undefined) return [];
    return [{
        Sid: "PullThroughCache",
        Effect: "Allow",
        Action: unique([...ECR_PULL_ACTIONS, ...ECR_PULL_THROUGH_CACHE_ACTIONS]),
        Resource: pattern,
    }];
}

const loginStatement = (): PolicyStatement => ({ Sid: "EcrLogin", Effect: "Allow", Action: ECR_LOGIN_ACTION, Resource: "*" });

/**
 * Pull-only policy for CI runners: `ecr:GetAuthorizationToken` on `*` (it has no resource-level permissions),
 * image pulls on exactly `repositoryArns`, and pulls through the cache (which may create the cached repository).
 */
export function runnerPullPolicy(args: RepositoryPolicyArgs): PolicyDocument {
    const repos = unique(args.repositoryArns);
    const statements: PolicyStatement[] = [loginStatement()];
    if (repos.length > 0) {
        statements.push({ Sid: "PullStackRepositories", Effect: "Allow", Action: unique(ECR_PULL_ACTIONS), Resource: repos });
    }
    statements.push(...pullThroughCacheStatement(args.pullThroughCacheRepositoryArnPattern));
    return { Version: "2012-10-17", Statement: statements };
}

/**
 * Push policy for the image pipeline: image push/pull/list on exactly `repositoryArns` (plus pulls through the cache
 * for base images). It deliberately grants nothing to manage repositories or IAM: the permissions `pulumi up` needs
 * are the admin-chosen managed policies of `mlci:access.pipeline.deployPolicyArns`.
 */
export function pipelinePushPolicy(args: RepositoryPolicyArgs): PolicyDocument {
    const repos = unique(args.repositoryArns);
    const statements: PolicyStatement[] = [loginStatement()];
    if (repos.length > 0) {
        statements.push({ Sid: "PushStackRepositories", Effect: "Allow", Action: unique(ECR_PUSH_ACTIONS), Resource: repos });
    }
    statements.push(...pullThroughCacheStatement(args.pullThroughCacheRepositoryArnPattern));
    return { Version: "2012-10-17", Statement: statements };
}

/** ECR reads of the read-only preview role on the stack's repositories: describe and list, never pull layers or push. */
export const ECR_PREVIEW_READ_ACTIONS: readonly string[] = [
    "ecr:DescribeImages",
    "ecr:DescribeRepositories",
    "ecr:GetLifecyclePolicy",
    "ecr:GetRepositoryPolicy",
    "ecr:ListImages",
    "ecr:ListTagsForResource",
];
/** IAM reads of the read-only preview role on the stack's roles. */
export const IAM_PREVIEW_ROLE_READ_ACTIONS: readonly string[] = ["iam:GetRole", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies", "iam:ListRolePolicies"];
/** IAM reads of the read-only preview role on the stack's managed policies and OIDC provider. */
export const IAM_PREVIEW_POLICY_READ_ACTIONS: readonly string[] = ["iam:GetPolicy", "iam:GetPolicyVersion"];

/** ARNs a state backend's objects live under: the bucket, and the `<prefix>/.pulumi/` objects of the DIY backend. */
export function stateBackendArns(backend: Extract<StateBackendSettings, { type: "s3" }>, partition = "aws"): { bucket: string; objects: string; listPrefix: string } {
    const prefix = (backend.prefix ?? "").replace(/^\/+|\/+$/g, "");
    const root = prefix === "" ? ".pulumi" : `${prefix}/.pulumi`;
    return { bucket: `arn:${partition}:s3:::${backend.bucket}`, objects: `arn:${partition}:s3:::${backend.bucket}/${root}/*`, listPrefix: `${root}/*` };
}

/**
 * Statements on the Pulumi state in S3: `read` lists and gets the stack's checkpoints (a `pulumi preview` takes no
 * lock on the DIY backend), `write` also puts and deletes them (checkpoints, history, backups, lock files).
 * Pulumi Cloud needs no AWS rights: no statements.
 */
export function stateBackendStatements(backend: StateBackendSettings | undefined, access: "read" | "write", partition = "aws"): PolicyStatement[] {
    if (backend === undefined || backend.type !== "s3") return [];
    const arns = stateBackendArns(backend, partition);
    return [
        { Sid: "StateList", Effect: "Allow", Action: "s3:ListBucket", Resource: arns.bucket, Condition: { StringLike: { "s3:prefix": [arns.listPrefix] } } },
        { Sid: access === "read" ? "StateRead" : "StateReadWrite", Effect: "Allow", Action: access === "read" ? ["s3:GetObject"] : ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"], Resource: arns.objects },
    ];
}

/** Arguments of {@link previewReadPolicy}. */
export interface PreviewReadPolicyArgs {
    /** ARNs of this stack's repositories. */
    repositoryArns: readonly string[];
    /** ARNs of this stack's IAM roles (runner, pipeline). */
    roleArns: readonly string[];
    /** ARNs of this stack's managed policies and its OIDC provider. */
    policyArns: readonly string[];
    /** Where the state lives. @default Pulumi Cloud (no statements) */
    stateBackend?: StateBackendSettings;
    partition?: string;
}

/**
 * Read-only policy of the PR preview role: read the state, log in to ECR (the program's getAuthorizationToken invoke
 * runs in a preview too), list and describe this stack's repositories, read its roles and policies. No push, no
 * writes of any kind, no secrets.
 */
export function previewReadPolicy(args: PreviewReadPolicyArgs): PolicyDocument {
    const statements: PolicyStatement[] = [...stateBackendStatements(args.stateBackend, "read", args.partition), loginStatement()];
    const repos = unique(args.repositoryArns);
    if (repos.length > 0) statements.push({ Sid: "DescribeStackRepositories", Effect: "Allow", Action: unique(ECR_PREVIEW_READ_ACTIONS), Resource: repos });
    const roles = unique(args.roleArns);
    if (roles.length > 0) statements.push({ Sid: "ReadStackRoles", Effect: "Allow", Action: unique(IAM_PREVIEW_ROLE_READ_ACTIONS), Resource: roles });
    const policies = unique(args.policyArns);
    if (policies.length > 0) statements.push({ Sid: "ReadStackPolicies", Effect: "Allow", Action: unique([...IAM_PREVIEW_POLICY_READ_ACTIONS, "iam:GetOpenIDConnectProvider"]), Resource: policies });
    return { Version: "2012-10-17", Statement: statements };
}

/** The `sub` claims GitHub issues for a subject: per branch (`…:ref:refs/heads/<b>`), per environment (`…:environment:<e>`), and `…:pull_request` if opted in. */
export function githubSubjectClaims(subject: GithubSubject): string[] {
    return [
        ...(subject.branches ?? []).map((b) => `repo:${subject.repo}:ref:refs/heads/${b}`),
        ...(subject.environments ?? []).map((e) => `repo:${subject.repo}:environment:${e}`),
        ...(subject.pullRequests === true ? [`repo:${subject.repo}:pull_request`] : []),
    ];
}

/**
 * Trust policy letting GitHub Actions workflows of exactly the configured subjects assume a role through the OIDC
 * provider `providerArn`. `aud` must equal `sts.amazonaws.com`; exact `sub` claims use StringEquals, and patterns
 * (e.g. branch "release/*") go in a separate StringLike statement, since conditions within one statement are ANDed.
 * Throws when the subjects would trust nothing or everything (see `githubSubjectProblems`).
 */
export function githubOidcTrustPolicy(args: { providerArn: string; subjects: readonly GithubSubject[] }): PolicyDocument {
    const problems = githubSubjectProblems(args.subjects, "subjects");
    if (problems.length > 0) throw new Error(`githubOidcTrustPolicy: ${problems.map((p) => `${p.path}: ${p.message}`).join("; ")}`);
    const claims = unique(args.subjects.flatMap(githubSubjectClaims));
    const exact = claims.filter((c) => !hasWildcard(c));
    const patterns = claims.filter(hasWildcard);
    const statement = (sid: string, subCondition: PolicyCondition): PolicyStatement => ({
        Sid: sid,
        Effect: "Allow",
        Principal: { Federated: args.providerArn },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: {
            ...subCondition,
            StringEquals: { [`${GITHUB_TOKEN_KEY}:aud`]: GITHUB_OIDC_AUDIENCE, ...(subCondition.StringEquals ?? {}) },
        },
    });
    const statements: PolicyStatement[] = [];
    if (exact.length > 0) statements.push(statement("GithubActionsExactSubjects", { StringEquals: { [`${GITHUB_TOKEN_KEY}:sub`]: exact } }));
    if (patterns.length > 0) statements.push(statement("GithubActionsSubjectPatterns", { StringLike: { [`${GITHUB_TOKEN_KEY}:sub`]: patterns } }));
    return { Version: "2012-10-17", Statement: statements };
}

function arnIsTooBroad(resource: string): string | undefined {
    const parts = resource.split(":");
    if (parts.length < 6 || parts[0] !== "arn") return undefined;
    const [, , service, region, account] = parts;
    const rest = parts.slice(5).join(":");
    if (hasWildcard(service) || hasWildcard(region) || hasWildcard(account)) return "wildcard service, region or account";
    if (service === "ecr" && /^repository\/[*?]*$/.test(rest)) return "every repository of the registry";
    if (isWildcardOnly(rest)) return "every resource of the service";
    return undefined;
}

/** Options of {@link findWildcardViolations}. */
export interface WildcardCheckOptions {
    /**
     * Recognizes a value not known yet (the policy pack's preview-time unknowns): an unknown document, statement,
     * effect or list is not reported, and known values next to it still are. @default nothing is unknown
     */
    isUnknown?: (value: unknown) => boolean;
}

/**
 * Allow-statements broader than this project permits, one message each with its fix: `Resource: "*"` except for
 * `ecr:GetAuthorizationToken` alone in its statement (it has no resource-level permissions), the actions `*`,
 * `<service>:*` and any ECR/IAM wildcard (`ecr:Put*`), NotAction/NotResource, registry-wide or wildcard-account
 * ARNs, `*` principals. Deny statements may be broad. The ONE IAM linter: the tests and the policy pack
 * (`iam-no-wildcards`) both use it.
 */
export function findWildcardViolations(document: unknown, opts: WildcardCheckOptions = {}): string[] {
    const unknown = opts.isUnknown ?? (() => false);
    if (document === undefined || document === null || unknown(document)) return [];
    let doc: unknown = document;
    if (typeof document === "string") {
        try {
            doc = JSON.parse(document);
        } catch (e) {
            return [`is not valid JSON (${(e as Error).message}), so it cannot be checked`];
        }
    }
    const get = (v: unknown, key: string): unknown => (unknown(v) ? v : v !== null && typeof v === "object" ? (v as Record<string, unknown>)[key] : undefined);
    /** The known strings of a string-or-list field, and whether the whole list is known. */
    const strings = (v: unknown): { values: string[]; complete: boolean } => {
        if (unknown(v)) return { values: [], complete: false };
        const list = v === undefined ? [] : Array.isArray(v) ? v : [v];
        return { values: list.filter((x): x is string => typeof x === "string"), complete: !list.some(unknown) };
    };
    const statements = get(doc, "Statement");
    if (unknown(statements)) return [];
    const violations: string[] = [];
    toList(statements ?? []).forEach((s, i) => {
        if (unknown(s) || s === null || typeof s !== "object") return;
        const effect = get(s, "Effect");
        if (effect !== "Allow") return;
        const sid = get(s, "Sid");
        const where = `Statement[${i}]${typeof sid === "string" ? ` (Sid "${sid}")` : ""}`;
        if (get(s, "NotAction") !== undefined) violations.push(`${where} uses NotAction in an Allow statement, which grants every other action: list the actions it needs`);
        if (get(s, "NotResource") !== undefined) violations.push(`${where} uses NotResource in an Allow statement, which grants every other resource: list the resources it needs`);
        const actions = strings(get(s, "Action"));
        for (const action of actions.values) {
            const [service, name] = action.toLowerCase().split(":", 2);
            if (action === "*" || name === "*" || (hasWildcard(action) && (service === "ecr" || service === "iam"))) {
                violations.push(`${where} allows the wildcard action "${action}": list the actions it needs`);
            }
        }
        for (const resource of strings(get(s, "Resource")).values) {
            if (resource === "*") {
                const broad = actions.values.filter((a) => !STAR_RESOURCE_ACTIONS.has(a.toLowerCase()));
                if (broad.length > 0) {
                    violations.push(`${where} allows Resource "*" for ${broad.join(", ")}: only ${ECR_LOGIN_ACTION}, alone in its statement, may use Resource "*"; scope the others to repository ARNs`);
                } else if (actions.complete && actions.values.length === 0) {
                    violations.push(`${where} allows Resource "*" without a known action list: only ${ECR_LOGIN_ACTION}, alone in its statement, may use Resource "*"`);
                }
                continue;
            }
            const why = arnIsTooBroad(resource);
            if (why !== undefined) violations.push(`${where} allows resource "${resource}", which covers ${why}: name the stack's own resources`);
        }
        const principal = get(s, "Principal");
        if (principal === "*" || (principal !== null && typeof principal === "object" && !unknown(principal) && Object.values(principal).some((p) => toList(p).includes("*")))) {
            violations.push(`${where} trusts Principal "*", which lets anyone assume or use this: name the principals`);
        }
    });
    return violations;
}

const globMatches = (pattern: string, value: string, caseInsensitive: boolean): boolean => {
    const re = new RegExp(`^${pattern.split("").map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\/]/g, "\\$&"))).join("")}$`, caseInsensitive ? "i" : "");
    return re.test(value);
};

/**
 * Whether the documents allow `action` on `resource` (IAM wildcards; an explicit Deny wins; NotAction/NotResource and
 * Conditions are not evaluated, so a conditional Allow counts as an allow). Enough to tell whether managed policies
 * grant the state backend, not a full IAM evaluator.
 */
export function documentsAllow(documents: readonly (PolicyDocument | string)[], action: string, resource: string): boolean {
    const statements = documents.flatMap((d) => toList((typeof d === "string" ? (JSON.parse(d) as PolicyDocument) : d).Statement ?? []));
    const matches = (s: PolicyStatement) =>
        toList(s.Action ?? []).some((a) => globMatches(a, action, true)) && toList(s.Resource ?? []).some((r) => globMatches(r, resource, false));
    return !statements.some((s) => s.Effect === "Deny" && matches(s)) && statements.some((s) => s.Effect === "Allow" && matches(s));
}

/** What the deploy-rights check knows beyond the config: the documents of `deployPolicyArns`, when fetched (`check --online`). */
export interface DeployRightsFacts {
    /** Default version documents of the `deployPolicyArns` policies. @default unknown: only the config is checked */
    deployPolicyDocuments?: readonly (PolicyDocument | string)[];
    partition?: string;
}

/**
 * Warnings (not errors: an admin may grant the rights another way) when a stack runs `pulumi up` through the pipeline
 * role (`access.pipeline.runsPulumiUp`) and that role would lack the rights to: `deployPolicyArns` is empty, the
 * state backend is not declared, or the fetched deploy policies do not grant the S3 state reads and writes.
 * `ci-images check` prints them.
 */
export function deployRightsWarnings(access: AccessSettings, facts: DeployRightsFacts = {}): ConfigProblem[] {
    const pipeline = access.pipeline;
    if (pipeline?.enabled !== true || pipeline.runsPulumiUp !== true) return [];
    const warnings: ConfigProblem[] = [];
    const arns = pipeline.deployPolicyArns ?? [];
    if (arns.length === 0) {
        warnings.push({
            path: "access.pipeline.deployPolicyArns",
            message: "is empty, but a workflow runs `pulumi up` through the pipeline role, whose own policy only pushes and pulls images: the update cannot read or write the state or change the stack's resources",
            fix: "list managed policies granting the state backend and the stack's ECR/IAM resources (docs/aws-apis.md, \"Deploy rights\")",
        });
    }
    const backend = access.stateBackend;
    if (backend === undefined) {
        warnings.push({
            path: "access.stateBackend",
            message: "is not set, so the pipeline role's rights on the Pulumi state cannot be checked",
            fix: "set { type: s3, bucket: <bucket>, prefix: <prefix> } (PULUMI_BACKEND_URL=s3://<bucket>/<prefix>) or { type: pulumi-cloud }",
        });
    } else if (backend.type === "s3" && facts.deployPolicyDocuments !== undefined) {
        const arns3 = stateBackendArns(backend, facts.partition);
        const object = arns3.objects.replace(/\*$/, "stacks/example.json");
        const needed: [string, string][] = [["s3:ListBucket", arns3.bucket], ["s3:GetObject", object], ["s3:PutObject", object], ["s3:DeleteObject", object]];
        const missing = needed.filter(([a, r]) => !documentsAllow(facts.deployPolicyDocuments!, a, r));
        if (missing.length > 0) {
            warnings.push({
                path: "access.pipeline.deployPolicyArns",
                message: `do not grant the state backend: ${missing.map(([a, r]) => `${a} on ${r}`).join(", ")}`,
                fix: `add a policy allowing s3:ListBucket on ${arns3.bucket} (prefix ${arns3.listPrefix}) and s3:GetObject, s3:PutObject, s3:DeleteObject on ${arns3.objects}`,
            });
        }
    }
    return warnings;
}

/** One stack's claim on the account's GitHub OIDC provider, for {@link oidcProviderOwnershipProblems}. */
export interface OidcProviderClaim {
    stack: string;
    /** Accounts the stack may run in (`aws:allowedAccountIds`); undefined when the stack file does not say. */
    accountIds?: string[];
    pipeline: Pick<PipelineAccessSettings, "enabled" | "oidcProvider" | "oidcProviderArn">;
}

/**
 * Problems of a set of stacks sharing accounts: more than one stack creating the GitHub OIDC provider in one account
 * (the second `pulumi up` fails with EntityAlreadyExists), a creator whose account is unknown, and an account where
 * stacks look the provider up but none creates it.
 */
export function oidcProviderOwnershipProblems(claims: readonly OidcProviderClaim[]): string[] {
    const problems: string[] = [];
    const creators = new Map<string, string[]>();
    const lookups = new Map<string, string[]>();
    for (const c of claims) {
        if (!c.pipeline.enabled) continue;
        const source = oidcProviderSource(c.pipeline);
        if ("arn" in source) continue;
        if (c.accountIds === undefined || c.accountIds.length === 0) {
            problems.push(`stack ${c.stack} ${source.mode === "create" ? "creates" : "looks up"} the GitHub OIDC provider but does not say which account it runs in: set aws:allowedAccountIds`);
            continue;
        }
        for (const account of c.accountIds) {
            const into = source.mode === "create" ? creators : lookups;
            into.set(account, [...(into.get(account) ?? []), c.stack]);
        }
    }
    for (const [account, stacks] of creators) {
        if (stacks.length > 1) {
            problems.push(`stacks ${stacks.join(", ")} all create the GitHub OIDC provider in account ${account}; IAM holds one per URL, so the second fails with EntityAlreadyExists: keep oidcProvider: create in one and set oidcProvider: lookup in the others`);
        }
    }
    for (const [account, stacks] of lookups) {
        if (!creators.has(account)) problems.push(`stacks ${stacks.join(", ")} look up the GitHub OIDC provider in account ${account}, but no stack creates it: set oidcProvider: create in one stack, or oidcProviderArn`);
    }
    return problems;
}

const REPO_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/;
const REF_NAME_PATTERN = /^[^\s:~^\\]+$/;

/** Problems of a subject list, each with its config path under `path` (e.g. `access.pipeline.subjects[0].repo`) and the fix. */
export function githubSubjectProblems(subjects: readonly GithubSubject[] | undefined, path: string): ConfigProblem[] {
    if (subjects === undefined || subjects.length === 0) {
        return [{ path, message: "is empty, so no workflow could assume the pipeline role", fix: 'add e.g. { repo: "pytorch/rl", branches: ["main"] }' }];
    }
    const problems: ConfigProblem[] = [];
    subjects.forEach((subject, i) => {
        const at = `${path}[${i}]`;
        const repo = subject.repo ?? "";
        if (hasWildcard(repo)) {
            problems.push({ path: `${at}.repo`, message: `"${repo}" is a wildcard, which would trust other repositories' workflows`, fix: 'name one repository, e.g. "pytorch/rl"' });
        } else if (!REPO_PATTERN.test(repo)) {
            problems.push({ path: `${at}.repo`, message: `"${repo}" is not "owner/name"`, fix: 'use e.g. "pytorch/rl", without "https://github.com/" or ".git"' });
        }
        const branches = subject.branches ?? [];
        const environments = subject.environments ?? [];
        if (branches.length === 0 && environments.length === 0 && subject.pullRequests !== true) {
            problems.push({ path: at, message: "has no branches, environments or pullRequests, so it would trust nothing", fix: 'add branches: ["main"] or environments: ["prod"]' });
        }
        const checkNames = (names: string[], field: "branches" | "environments", example: string) => names.forEach((n, j) => {
            const where = `${at}.${field}[${j}]`;
            if (n.trim() === "" || isWildcardOnly(n)) {
                problems.push({ path: where, message: `"${n}" matches every ${field === "branches" ? "branch" : "environment"}`, fix: `name one, e.g. "${example}", or a narrower pattern such as "release/*"` });
            } else if (!REF_NAME_PATTERN.test(n)) {
                problems.push({ path: where, message: `"${n}" contains whitespace or one of : ~ ^ \\`, fix: `give the plain name, e.g. "${example}"` });
            } else if (field === "branches" && n.startsWith("refs/")) {
                problems.push({ path: where, message: `"${n}" is a full ref`, fix: `give the branch name only, e.g. "${n.replace(/^refs\/(heads\/)?/, "")}"` });
            }
        });
        checkNames(branches, "branches", "main");
        checkNames(environments, "environments", "prod");
    });
    return problems;
}

const ROLE_NAME_PATTERN = /^[\w+=,.@-]{1,64}$/;
const OIDC_PROVIDER_ARN_PATTERN = /^arn:aws[a-z-]*:iam::\d{12}:oidc-provider\/token\.actions\.githubusercontent\.com$/;
const POLICY_ARN_PATTERN = /^arn:aws[a-z-]*:iam::(?:\d{12}|aws):policy\/[\w+=,.@/-]+$/;

/** Problems of the `mlci:access` section, each with its config path (`access.…`) and the fix; empty when usable. */
export function accessProblems(access: AccessSettings): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    const runner = access.runner;
    if (runner?.enabled === true) {
        const names = runner.existingRoleNames ?? [];
        if (runner.createRole === false && names.length === 0) {
            problems.push({ path: "access.runner", message: "createRole is false and existingRoleNames is empty, so the pull policy would be attached to nothing", fix: "set createRole: true or list the runner role names" });
        }
        const seen = new Set<string>();
        names.forEach((n, i) => {
            const path = `access.runner.existingRoleNames[${i}]`;
            if (n.startsWith("arn:")) {
                problems.push({ path, message: `"${n}" is an ARN`, fix: `give the role name, e.g. "${n.split("/").pop() ?? n}"` });
            } else if (!ROLE_NAME_PATTERN.test(n)) {
                problems.push({ path, message: `"${n}" is not an IAM role name`, fix: "use 1-64 letters, digits and +=,.@_-" });
            }
            if (seen.has(n)) problems.push({ path, message: `"${n}" is listed twice`, fix: "remove the duplicate" });
            seen.add(n);
        });
    }
    const pipeline = access.pipeline;
    if (pipeline?.enabled === true) {
        problems.push(...githubSubjectProblems(pipeline.subjects, "access.pipeline.subjects"));
        if (pipeline.oidcProviderArn !== undefined && !OIDC_PROVIDER_ARN_PATTERN.test(pipeline.oidcProviderArn)) {
            problems.push({
                path: "access.pipeline.oidcProviderArn",
                message: `"${pipeline.oidcProviderArn}" is not the ARN of a GitHub Actions OIDC provider`,
                fix: "use arn:aws:iam::<account>:oidc-provider/token.actions.githubusercontent.com, or leave it unset to create one",
            });
        }
        if (pipeline.oidcProviderArn !== undefined && pipeline.oidcProvider !== undefined) {
            problems.push({ path: "access.pipeline.oidcProvider", message: `is "${pipeline.oidcProvider}" while oidcProviderArn names the provider`, fix: "remove one: oidcProviderArn uses that provider as is" });
        }
        (pipeline.deployPolicyArns ?? []).forEach((arn, i) => {
            if (!POLICY_ARN_PATTERN.test(arn)) {
                problems.push({ path: `access.pipeline.deployPolicyArns[${i}]`, message: `"${arn}" is not a managed policy ARN`, fix: "use arn:aws:iam::<account|aws>:policy/<name>" });
            }
        });
    }
    const preview = access.preview;
    if (preview?.enabled === true) {
        if (pipeline?.enabled !== true) {
            problems.push({ path: "access.preview.enabled", message: "is true but access.pipeline is disabled: the preview role trusts the pipeline's GitHub OIDC provider", fix: "enable access.pipeline, or set access.preview.enabled: false" });
        } else if (pipeline.oidcProviderArn === undefined && pipeline.oidcProvider === "lookup") {
            problems.push({ path: "access.preview.enabled", message: "is true while the OIDC provider is looked up by URL, which needs iam:ListOpenIDConnectProviders on \"*\" (not granted to a read-only role)", fix: "set access.pipeline.oidcProviderArn to the provider's ARN" });
        }
        const repos = preview.repositories ?? [];
        if (repos.length === 0) problems.push({ path: "access.preview.repositories", message: "is empty, so no pull request could assume the preview role", fix: 'list the repository whose PRs run the preview, e.g. ["pytorch/rl"]' });
        repos.forEach((repo, i) => {
            if (hasWildcard(repo) || !REPO_PATTERN.test(repo)) problems.push({ path: `access.preview.repositories[${i}]`, message: `"${repo}" is not one "owner/name" repository`, fix: 'use e.g. "pytorch/rl"' });
        });
        if (access.stateBackend === undefined) {
            problems.push({ path: "access.stateBackend", message: "is not set, so the preview role would not know which state to read", fix: "set { type: s3, bucket: <bucket>, prefix: <prefix> } or { type: pulumi-cloud }" });
        }
    }
    return problems;
}

/** Renders a problem the way the rest of the config errors read: `mlci:<path>: <message>; <fix>`. */
/** Every access check against a parsed stack config; pass it in `ParseOptions.extraChecks`. */
export function accessConfigChecks(config: { access: AccessSettings }): ConfigProblem[] {
    return accessProblems(config.access);
}
