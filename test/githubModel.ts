/**
 * The GitHub organisation as the program's resources meet it, with terraform-provider-github v6.13's behaviour
 * (bundled by pulumi-github 6.15), for the mocks harness:
 * - `RepositoryEnvironment` creates (or updates) an environment with ONE PUT /repos/{o}/{r}/environments/{env} that
 *   replaces its protection: unset reviewers and deployment_branch_policy go as null and CLEAR what was there
 *   (resource_github_repository_environment.go createUpdateEnvironmentData; go-github: "API expects null values for
 *   reviewers and deployment_branch_policy to clear them"); can_admins_bypass defaults to true, prevent_self_review to false;
 * - an environment variable or secret needs its environment: `resource_github_actions_environment_variable.go` POSTs
 *   to /repos/{o}/{r}/environments/{env}/variables, and go-github renders the 404 as "POST <url>: 404 Not Found []";
 * - a repository `ActionsVariable` is created with a POST and never upserts (`resourceGithubActionsVariableCreate`):
 *   one that exists answers 409 (the status is the provider's; the message text here is not verified).
 */
export class GithubModel {
    readonly environments = new Set<string>();
    /** Each environment's protection, as the last PUT left it ("repo@env" → settings). */
    readonly protection = new Map<string, EnvironmentProtection>();
    readonly variables = new Map<string, string>();

    /** @param existing what the organisation already has: environments as "repo@env", variables as "repo:NAME" → value */
    constructor(readonly owner = "pytorch", existing: { environments?: string[]; variables?: Record<string, string>; protection?: Record<string, EnvironmentProtection> } = {}) {
        for (const e of existing.environments ?? []) this.environments.add(e);
        for (const [e, p] of Object.entries(existing.protection ?? {})) {
            this.environments.add(e);
            this.protection.set(e, p);
        }
        for (const [k, v] of Object.entries(existing.variables ?? {})) this.variables.set(k, v);
    }

    /** Applies one resource create of the GitHub provider; throws the provider's error as `pulumi up` would show it. */
    apply(type: string, inputs: Record<string, any>): void {
        const api = `https://api.github.com/repos/${this.owner}/${inputs.repository}`;
        switch (type) {
            case "github:index/repositoryEnvironment:RepositoryEnvironment": {
                const key = `${inputs.repository}@${inputs.environment}`;
                this.environments.add(key);
                // The PUT replaces everything: what the inputs leave unset is null, i.e. cleared.
                const r = inputs.reviewers?.[0];
                this.protection.set(key, {
                    reviewers: r === undefined ? null : { teams: [...(r.teams ?? [])], users: [...(r.users ?? [])] },
                    deploymentBranchPolicy: inputs.deploymentBranchPolicy ?? null,
                    canAdminsBypass: inputs.canAdminsBypass ?? true,
                    preventSelfReview: inputs.preventSelfReview ?? false,
                });
                return;
            }
            case "github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable":
            case "github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret": {
                const kind = type.includes("Variable") ? "variables" : "secrets";
                if (!this.environments.has(`${inputs.repository}@${inputs.environment}`)) {
                    throw new Error(`POST ${api}/environments/${encodeURIComponent(inputs.environment)}/${kind}: 404 Not Found []`);
                }
                if (kind === "variables") this.variables.set(`${inputs.repository}@${inputs.environment}:${inputs.variableName}`, inputs.value);
                return;
            }
            case "github:index/actionsVariable:ActionsVariable": {
                const key = `${inputs.repository}:${inputs.variableName}`;
                if (this.variables.has(key)) throw new Error(`POST ${api}/actions/variables: 409 Already exists []`);
                this.variables.set(key, inputs.value);
                return;
            }
            default:
                return;
        }
    }
}

/** An environment's protection rules as the REST API holds them (null: none). */
export interface EnvironmentProtection {
    reviewers: { teams: number[]; users: number[] } | null;
    deploymentBranchPolicy: { protectedBranches: boolean; customBranchPolicies: boolean } | null;
    canAdminsBypass: boolean;
    preventSelfReview: boolean;
}
