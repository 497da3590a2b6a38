/**
 * The rehearsal's GitHub organisation, in memory. Each rule it applies names its source:
 * - [ENV-404] Environment variables and secrets live under /repos/{o}/{r}/environments/{env}/…; the
 *   environment must exist, else 404 Not Found. https://docs.github.com/en/rest/actions/variables#create-an-environment-variable
 *   and https://docs.github.com/en/rest/actions/secrets#create-or-update-an-environment-secret
 * - [VAR-409] Creating a repository or environment variable that exists answers 409 Conflict; the
 *   provider's create does not upsert (terraform-provider-github v6.13
 *   github/resource_github_actions_variable.go, issue 27 "Also from the providers' own trackers").
 * - [LIMITS] At most 500 variables per repository and 100 per environment; a variable is at most 48 KB; at most
 *   100 secrets per environment, 48 KB each. https://docs.github.com/en/actions/reference/workflows-and-actions/variables#limits-for-configuration-variables,
 *   https://docs.github.com/en/actions/reference/security/secrets#limits-for-secrets
 * - [ENV-AUTO] "If an environment is referenced that does not exist, GitHub creates it" (with no protection).
 *   https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax#jobsjob_idenvironment
 * - [BRANCH-POLICY] With deployment branches "Selected branches and tags", only refs matching a policy may run a
 *   job in the environment; "Protected branches only": only protected branches.
 *   https://docs.github.com/en/actions/how-tos/deploy/configure-and-manage-deployments/manage-environments#deployment-branches-and-tags
 * - [OIDC-SUB] The `sub` claim: `repo:O/R:environment:E` for a job with an environment, else `repo:O/R:pull_request`
 *   for pull_request events, else `repo:O/R:ref:<ref>`; `aud` is `sts.amazonaws.com` for
 *   aws-actions/configure-aws-credentials. https://docs.github.com/en/actions/reference/security/oidc#example-subject-claims
 * - [FORK] Workflows of pull requests from forks get no secrets (except GITHUB_TOKEN) and at most read
 *   permissions, id-token: none, so no OIDC token. https://docs.github.com/en/actions/reference/security/secrets#using-secrets-in-a-workflow,
 *   https://docs.github.com/en/actions/tutorials/authenticate-with-github_token#permissions-for-the-github_token
 * - [SECRET-SCOPE] A job gets the repository's secrets and, when it runs in an environment, that environment's
 *   (which win over repository ones of the same name). Environment secrets reach only jobs that reference the
 *   environment and pass its protection rules. https://docs.github.com/en/actions/how-tos/write-workflows/choose-what-workflows-do/use-secrets
 */

/** [LIMITS] */
export const GITHUB_LIMITS = { variablesPerRepository: 500, variablesPerEnvironment: 100, secretsPerEnvironment: 100, valueBytes: 48 * 1024 };

/** An HTTP error of the GitHub REST API as the provider reports it. */
export class GithubApiError extends Error {
    constructor(readonly status: number, message: string) {
        super(`${status} ${message}`);
    }
}

interface Scope {
    variables: Map<string, string>;
    secrets: Map<string, { value: string; writer: string }>;
}

/** A repository environment with its deployment branch policy. */
export interface Environment extends Scope {
    /** undefined: any branch may deploy. */
    deploymentBranchPolicy?: { protectedBranches: boolean; customBranchPolicies: boolean };
    /** Branch name patterns of "Selected branches" (RepositoryEnvironmentDeploymentPolicy). */
    branchPatterns: string[];
    /** true when GitHub created it because a workflow referenced it [ENV-AUTO]. */
    autoCreated: boolean;
}

interface Repository extends Scope {
    environments: Map<string, Environment>;
    protectedBranches: Set<string>;
}

/** One workflow job as GitHub starts it. */
export interface JobRun {
    /** `owner/name` of the repository whose workflow runs. */
    repository: string;
    event: "schedule" | "push" | "pull_request" | "workflow_dispatch";
    /** The ref the run is for, e.g. refs/heads/main (for pull_request: the PR head branch's ref, refs/heads/<head>). */
    ref: string;
    /** A pull request from a fork. */
    fromFork?: boolean;
    /** `environment:` of the job. */
    environment?: string;
    /** The job asks for an OIDC token (permissions: id-token: write). */
    idToken?: boolean;
}

/** What GitHub hands a started job: its OIDC claims (when any), secrets and variables; or why it refused to run. */
export type JobContext =
    | { started: true; claims?: Record<string, string>; secrets: Map<string, string>; variables: Map<string, string> }
    | { started: false; reason: string };

/** The organisation (one owner) and its repositories. */
export class GithubOrg {
    private readonly repositories = new Map<string, Repository>();

    constructor(readonly owner: string, repositoryNames: string[]) {
        for (const name of repositoryNames) this.repositories.set(name, { variables: new Map(), secrets: new Map(), environments: new Map(), protectedBranches: new Set(["main"]) });
    }

    private repo(name: string): Repository {
        const r = this.repositories.get(name);
        if (r === undefined) throw new GithubApiError(404, `Not Found: repository ${this.owner}/${name}`);
        return r;
    }

    private env(repository: string, environment: string): Environment {
        const e = this.repo(repository).environments.get(environment);
        if (e === undefined) throw new GithubApiError(404, `Not Found: environment "${environment}" of ${this.owner}/${repository} does not exist [ENV-404]`);
        return e;
    }

    repositoryNames(): string[] {
        return [...this.repositories.keys()];
    }

    environment(repository: string, environment: string): Environment | undefined {
        return this.repositories.get(repository)?.environments.get(environment);
    }

    // ---- what the GitHub provider's resources do ----------------------------------------------------

    createEnvironment(repository: string, name: string, deploymentBranchPolicy?: { protectedBranches: boolean; customBranchPolicies: boolean }): void {
        const r = this.repo(repository);
        const existing = r.environments.get(name);
        // PUT /repos/{o}/{r}/environments/{name} creates or updates.
        r.environments.set(name, { variables: existing?.variables ?? new Map(), secrets: existing?.secrets ?? new Map(), deploymentBranchPolicy, branchPatterns: existing?.branchPatterns ?? [], autoCreated: false });
    }

    addDeploymentBranchPolicy(repository: string, environment: string, pattern: string): void {
        const e = this.env(repository, environment);
        // The branch policy API needs "Selected branches" (custom_branch_policies: true), else 404.
        // https://docs.github.com/en/rest/deployments/branch-policies#create-a-deployment-branch-policy
        if (!e.deploymentBranchPolicy?.customBranchPolicies) throw new GithubApiError(404, `Not Found: environment "${environment}" does not use custom deployment branch policies`);
        e.branchPatterns.push(pattern);
    }

    private setVariable(scope: Scope, limit: number, where: string, name: string, value: string): void {
        if (scope.variables.has(name)) throw new GithubApiError(409, `Conflict: variable ${name} already exists in ${where} [VAR-409]`);
        if (scope.variables.size >= limit) throw new GithubApiError(422, `too many variables in ${where} (limit ${limit}) [LIMITS]`);
        if (Buffer.byteLength(value) > GITHUB_LIMITS.valueBytes) throw new GithubApiError(422, `variable ${name} is larger than 48 KB [LIMITS]`);
        scope.variables.set(name, value);
    }

    setRepositoryVariable(repository: string, name: string, value: string): void {
        this.setVariable(this.repo(repository), GITHUB_LIMITS.variablesPerRepository, repository, name, value);
    }

    setEnvironmentVariable(repository: string, environment: string, name: string, value: string): void {
        this.setVariable(this.env(repository, environment), GITHUB_LIMITS.variablesPerEnvironment, `${repository} environment ${environment}`, name, value);
    }

    setRepositorySecret(repository: string, name: string, value: string, writer: string): void {
        if (Buffer.byteLength(value) > GITHUB_LIMITS.valueBytes) throw new GithubApiError(422, `secret ${name} is larger than 48 KB [LIMITS]`);
        this.repo(repository).secrets.set(name, { value, writer });
    }

    setEnvironmentSecret(repository: string, environment: string, name: string, value: string, writer: string): void {
        const e = this.env(repository, environment);
        if (!e.secrets.has(name) && e.secrets.size >= GITHUB_LIMITS.secretsPerEnvironment) throw new GithubApiError(422, `too many secrets in environment ${environment} [LIMITS]`);
        if (Buffer.byteLength(value) > GITHUB_LIMITS.valueBytes) throw new GithubApiError(422, `secret ${name} is larger than 48 KB [LIMITS]`);
        e.secrets.set(name, { value, writer });
    }

    /** Every secret anywhere in the org with who wrote it: `repo`, `repo/env`. */
    allSecrets(): { where: string; name: string; value: string; writer: string }[] {
        const out: { where: string; name: string; value: string; writer: string }[] = [];
        for (const [rn, r] of this.repositories) {
            for (const [n, s] of r.secrets) out.push({ where: rn, name: n, ...s });
            for (const [en, e] of r.environments) for (const [n, s] of e.secrets) out.push({ where: `${rn}/${en}`, name: n, ...s });
        }
        return out;
    }

    // ---- what GitHub does when a job starts -------------------------------------------------------

    /** [BRANCH-POLICY] Whether a ref may run a job in the environment. */
    private refMayDeploy(r: Repository, e: Environment, ref: string): boolean {
        const policy = e.deploymentBranchPolicy;
        if (policy === undefined) return true;
        const branch = ref.startsWith("refs/heads/") ? ref.slice("refs/heads/".length) : undefined;
        if (branch === undefined) return false;
        if (policy.protectedBranches) return r.protectedBranches.has(branch);
        // fnmatch-style patterns (GitHub uses Ruby File.fnmatch): * matches within a path segment.
        return e.branchPatterns.some((p) => new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, ".")}$`).test(branch));
    }

    /** Starts a job: applies [ENV-AUTO], [BRANCH-POLICY], [FORK], [SECRET-SCOPE] and [OIDC-SUB]. */
    startJob(job: JobRun): JobContext {
        const [owner, name] = job.repository.split("/");
        if (owner !== this.owner) throw new Error(`the world holds only the ${this.owner} organisation, not ${job.repository}`);
        const r = this.repo(name);
        let env: Environment | undefined;
        if (job.environment !== undefined) {
            env = r.environments.get(job.environment);
            if (env === undefined) {
                env = { variables: new Map(), secrets: new Map(), branchPatterns: [], autoCreated: true };
                r.environments.set(job.environment, env);
            }
            if (!this.refMayDeploy(r, env, job.ref)) return { started: false, reason: `${job.ref} is not allowed to deploy to ${job.environment} due to environment protection rules [BRANCH-POLICY]` };
        }
        const fork = job.event === "pull_request" && job.fromFork === true;
        const secrets = new Map<string, string>();
        if (!fork) {
            for (const [n, s] of r.secrets) secrets.set(n, s.value);
            for (const [n, s] of env?.secrets ?? []) secrets.set(n, s.value);
        }
        const variables = new Map<string, string>([...r.variables, ...(env?.variables ?? [])]);
        let claims: Record<string, string> | undefined;
        if (job.idToken && !fork) {
            const sub = job.environment !== undefined ? `repo:${job.repository}:environment:${job.environment}` : job.event === "pull_request" ? `repo:${job.repository}:pull_request` : `repo:${job.repository}:ref:${job.ref}`;
            claims = { sub, aud: "sts.amazonaws.com", repository: job.repository, ref: job.ref, event_name: job.event, ...(job.environment !== undefined ? { environment: job.environment } : {}) };
        }
        return { started: true, claims, secrets, variables };
    }
}
