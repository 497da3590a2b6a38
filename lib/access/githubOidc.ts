// GitHub Actions OIDC: the provider URL and audience, the `sub` claims of a subject, the trust policy built from them,
// the subject checks, and which stack of an account owns the one OIDC provider.
import type { ConfigProblem } from "../config/problems";
import { hasWildcard, isWildcardOnly, PolicyCondition, PolicyDocument, PolicyStatement, unique } from "./documents";
import type { GithubSubject, OidcProviderMode, PipelineAccessSettings } from "./settings";

/** Issuer URL of GitHub Actions' OIDC tokens; also the IAM OIDC provider URL. */
export const GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com";
/** Audience that aws-actions/configure-aws-credentials requests; the only client ID the provider trusts. */
export const GITHUB_OIDC_AUDIENCE = "sts.amazonaws.com";
/** Condition-key prefix for claims of GitHub's OIDC tokens. */
const GITHUB_TOKEN_KEY = "token.actions.githubusercontent.com";

/** How the stack's OIDC provider is obtained: the explicit ARN, else the configured mode (create by default). */
export function oidcProviderSource(pipeline: Pick<PipelineAccessSettings, "oidcProvider" | "oidcProviderArn">): { arn: string } | { mode: OidcProviderMode } {
    return pipeline.oidcProviderArn !== undefined ? { arn: pipeline.oidcProviderArn } : { mode: pipeline.oidcProvider ?? "create" };
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

/** "owner/name" of a GitHub repository. */
export const REPO_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/;
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
