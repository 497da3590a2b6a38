// Config-time checks of the `mlci:access` section: each problem with its config path and the fix.
import type { ConfigProblem } from "../config/problems";
import { hasWildcard } from "./documents";
import { githubSubjectProblems, REPO_PATTERN } from "./githubOidc";
import type { AccessSettings } from "./settings";

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
        if (pipeline.runsPulumiUp === true) {
            // The role that runs `pulumi up` holds deploy rights: only a job in a protected environment may assume it.
            (pipeline.subjects ?? []).forEach((s, i) => {
                if ((s.branches ?? []).length > 0 || s.pullRequests === true) {
                    problems.push({
                        path: `access.pipeline.subjects[${i}]`,
                        message: `trusts ${(s.branches ?? []).length > 0 ? `branches (${(s.branches ?? []).join(", ")})` : "pull requests"}, but this role runs \`pulumi up\` (runsPulumiUp): every workflow on such a ref could deploy`,
                        fix: "trust environment-scoped subjects only, e.g. { repo: <owner>/<repo>, environments: [prod] }, and restrict the environment to main with github.repositories[].deploymentBranches",
                    });
                }
            });
        }
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
/** Every access check against a parsed stack config; pass it in `ParseOptions.extraChecks`. */
export function accessConfigChecks(config: { access: AccessSettings; secretsPresent?: string[] }): ConfigProblem[] {
    return [...accessProblems(config.access), ...ciSecretProblems(config)];
}

/**
 * A stack that runs in CI (its pipeline runs `pulumi up`, or a PR preview reads its state) keeps every long-lived secret
 * out of its state, which the preview may decrypt: Docker Hub credentials only by Secrets Manager ARN, never
 * `mlci:dockerHubAccessToken` (the stack would store it in a SecretVersion). `github:token` is refused for every stack.
 */
export function ciSecretProblems(config: { access: AccessSettings; secretsPresent?: string[] }): ConfigProblem[] {
    const runsInCi = config.access.pipeline?.runsPulumiUp === true || config.access.preview?.enabled === true;
    if (!runsInCi || !(config.secretsPresent ?? []).includes("dockerHubAccessToken")) return [];
    return [{
        path: "dockerHubAccessToken",
        message: "is set in a stack that runs in CI: the stack would store the Docker Hub token in its state, which the PR preview may decrypt",
        fix: "create the ecr-pullthroughcache/ secret once as an admin and set registry.pullThroughCache.credentialSecretArn, then pulumi config rm mlci:dockerHubAccessToken",
    }];
}
