/**
 * The actors of the system, in the documented order (../shared/DESIGN.md "actors and seams",
 * docs/bootstrap.md), and what each does in the world: enter a role (OIDC claims evaluated against the
 * role's trust policy, or an instance profile) and make AWS calls evaluated against the role's policies
 * as IAM stores them. Every decision is iam-simulate's (iamEvaluator.ts).
 *
 * ACTORS is the one table both the rehearsal and docs/bootstrap.md's Mermaid diagram follow
 * (test/rehearsal/bootstrapDoc.test.ts keeps them in step).
 */
import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";
import { evaluate, IamDecision, NamedPolicy } from "./iamEvaluator";
import { ACCOUNT_ID, REGION } from "./awsAccount";
import { JobContext, JobRun } from "./githubOrg";
import { PROJECT_ROOT, World, GITHUB_OIDC_URL } from "./world";

/** One actor: who, how it gets its rights, which role, what it touches. */
export interface Actor {
    /** Mermaid node id and test label. */
    id: string;
    label: string;
    /** How it enters its role. */
    via: string;
    /** Mermaid node id of the role it acts as ("none" for intruders, who must get none). */
    role: string;
    /** Mermaid node ids of the resources it may touch. */
    resources: string[];
}

/** Roles and resources of the diagram (Mermaid node id → label). */
export const ROLES: Record<string, string> = {
    adminCreds: "admin's own AWS credentials + GitHub session",
    pipelineRole: "prod pipeline role (pipeline-access-role, deploy policy)",
    previewRole: "preview role (read-only)",
    devPipelineRole: "dev pipeline role",
    runnerRole: "GPU runner role gh-runner-gpu-linux (instance profile)",
    none: "no role: denied",
};
export const RESOURCES: Record<string, string> = {
    state: "state bucket (S3) + secrets key",
    prodRepos: "ECR ml-ci/*",
    devRepos: "ECR ml-ci-dev/*",
    iam: "IAM roles, policies, OIDC provider",
    registrySettings: "registry scanning / replication (account-wide)",
    githubVars: "GitHub environments, variables, secrets",
};

/** The actors, in the order they act. */
export const ACTORS: Actor[] = [
    { id: "admin", label: "admin: pulumi up prod, then dev (bootstrap)", via: "own credentials", role: "adminCreds", resources: ["state", "prodRepos", "devRepos", "iam", "registrySettings", "githubVars"] },
    { id: "weekly", label: "weekly run (schedule, main, environment prod)", via: "OIDC environment:prod", role: "pipelineRole", resources: ["state", "prodRepos", "iam", "registrySettings", "githubVars"] },
    { id: "preview", label: "PR preview (pull_request)", via: "OIDC pull_request", role: "previewRole", resources: ["state", "prodRepos", "iam"] },
    { id: "prImages", label: "PR images: ci-images publish --stack dev", via: "OIDC environment:dev", role: "devPipelineRole", resources: ["devRepos"] },
    { id: "consumer", label: "consumer job on a GPU runner: ci-images wait + docker pull", via: "instance profile", role: "runnerRole", resources: ["prodRepos", "devRepos"] },
    { id: "intruders", label: "intruders: fork PR, branch claiming prod, another repository, runner pushing", via: "any", role: "none", resources: [] },
];

// ---- workflows: what a job reads --------------------------------------------------------------------

/** One job of one of this project's workflows, as the YAML says. */
export interface WorkflowJob {
    file: string;
    job: string;
    environment?: string;
    events: string[];
    /** `role-to-assume` of aws-actions/configure-aws-credentials: `{ kind: "secrets" | "vars", name }`. */
    roleSource?: { kind: "secrets" | "vars"; name: string };
    /** Every `secrets.X` and `vars.X` the job's text reads. */
    secrets: string[];
    variables: string[];
    /** Variables read with a fallback (`vars.X || 'default'`): optional. */
    optionalVariables: string[];
}

export function workflowJob(file: string, job: string): WorkflowJob {
    const doc = YAML.parse(fs.readFileSync(path.join(PROJECT_ROOT, ".github", "workflows", file), "utf8"));
    const j = doc.jobs?.[job];
    if (j === undefined) throw new Error(`${file} has no job ${job}`);
    const text = YAML.stringify(j);
    const env = typeof j.environment === "string" ? j.environment : j.environment?.name;
    const events = Object.keys(doc.on ?? doc[true as any] ?? {});
    const roleStep = (j.steps ?? []).find((s: any) => String(s.uses ?? "").startsWith("aws-actions/configure-aws-credentials"));
    const m = /\$\{\{\s*(secrets|vars)\.([A-Z0-9_]+)\s*\}\}/.exec(String(roleStep?.with?.["role-to-assume"] ?? ""));
    const uniq = (re: RegExp) => [...new Set([...text.matchAll(re)].map((x) => x[1]))].sort();
    return { file, job, environment: env, events, roleSource: m ? { kind: m[1] as "secrets" | "vars", name: m[2] } : undefined, secrets: uniq(/secrets\.([A-Z0-9_]+)/g), variables: uniq(/vars\.([A-Z0-9_]+)/g), optionalVariables: uniq(/vars\.([A-Z0-9_]+)\s*\|\|/g) };
}

/** Every job of every workflow of this project. */
export function allWorkflowJobs(): WorkflowJob[] {
    const dir = path.join(PROJECT_ROOT, ".github", "workflows");
    return fs.readdirSync(dir).filter((f) => f.endsWith(".yml")).flatMap((f) => Object.keys(YAML.parse(fs.readFileSync(path.join(dir, f), "utf8")).jobs ?? {}).map((j) => workflowJob(f, j)));
}

// ---- sessions -----------------------------------------------------------------------------------------

/** An AWS session of a role: its identity policies as IAM stores them. */
export interface Session {
    roleName: string;
    principal: string;
    policies: NamedPolicy[];
}

/** Why a job got no session, or the session. */
export type SessionOutcome = { session: Session } | { denied: string };

const OIDC_PROVIDER_ARN = `arn:aws:iam::${ACCOUNT_ID}:oidc-provider/${GITHUB_OIDC_URL.replace(/^https:\/\//, "")}`;

/** The role name of a role ARN. */
export function roleNameOf(arn: string): string {
    return arn.replace(/^arn:aws:iam::\d+:role\/(.*\/)?/, "");
}

/** AssumeRoleWithWebIdentity with the job's OIDC claims against the role's trust policy (from IAM). */
export async function assumeWithOidc(world: World, ctx: JobContext, roleArn: string | undefined, session: string): Promise<SessionOutcome> {
    if (!ctx.started) return { denied: `job not started: ${ctx.reason}` };
    if (ctx.claims === undefined) return { denied: "the job gets no OIDC token" };
    if (roleArn === undefined || roleArn === "") return { denied: "the job has no role ARN to assume (its secret/variable is not set where it runs)" };
    const roleName = roleNameOf(roleArn);
    const trust = await world.aws.trustPolicy(roleName);
    const d = await evaluate({
        principal: OIDC_PROVIDER_ARN,
        action: "sts:AssumeRoleWithWebIdentity",
        resource: roleArn,
        resourceAccount: ACCOUNT_ID,
        identityPolicies: [],
        resourcePolicy: trust,
        context: { "token.actions.githubusercontent.com:sub": ctx.claims.sub, "token.actions.githubusercontent.com:aud": ctx.claims.aud },
    });
    if (!d.allowed) return { denied: `trust policy of ${roleName}: ${d.result} for sub ${ctx.claims.sub}` };
    return { session: { roleName, principal: `arn:aws:sts::${ACCOUNT_ID}:assumed-role/${roleName}/${session}`, policies: await world.aws.roleIdentityPolicies(roleName) } };
}

/** A session of a role by name (its rights, whatever entered it): the role's policies as IAM stores them. */
export async function roleSession(world: World, roleName: string, session: string): Promise<Session> {
    return { roleName, principal: `arn:aws:sts::${ACCOUNT_ID}:assumed-role/${roleName}/${session}`, policies: await world.aws.roleIdentityPolicies(roleName) };
}

/** The session of an EC2 instance profile's role (the runner: no trust decision beyond EC2's). */
export async function instanceProfileSession(world: World, roleName: string): Promise<Session> {
    return { roleName, principal: `arn:aws:sts::${ACCOUNT_ID}:assumed-role/${roleName}/i-0123456789abcdef0`, policies: await world.aws.roleIdentityPolicies(roleName) };
}

/** The role ARN a job reads from its secrets/variables (`role-to-assume`). */
export function roleArnFor(job: WorkflowJob, ctx: JobContext): string | undefined {
    if (!ctx.started || job.roleSource === undefined) return undefined;
    return (job.roleSource.kind === "secrets" ? ctx.secrets : ctx.variables).get(job.roleSource.name);
}

/** One AWS call: action on resource. */
export interface AwsCall {
    action: string;
    resource: string;
    /** Why the actor makes it (manifest text). */
    why?: string;
    /** Request context (condition keys) the call carries. */
    context?: Record<string, string>;
}

/** The default key policy of a KMS key created without one: the account's IAM policies decide. */
export const DEFAULT_KEY_POLICY = { Version: "2012-10-17", Statement: [{ Sid: "Enable IAM User Permissions", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT_ID}:root` }, Action: "kms:*", Resource: "*" }] };

/** Evaluates one call of a session; ECR repository resources bring their repository policy (from ECR). */
export async function decide(world: World, session: Session, call: AwsCall): Promise<IamDecision> {
    let resourcePolicy: unknown;
    const repo = /^arn:aws:ecr:[^:]+:\d+:repository\/(.+)$/.exec(call.resource)?.[1];
    if (repo !== undefined && !repo.includes("*") && (await world.aws.repositoryExists(repo))) resourcePolicy = await world.aws.repositoryPolicy(repo);
    // A KMS key's policy: the default one, which delegates to IAM (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html).
    if (call.action.startsWith("kms:")) resourcePolicy = DEFAULT_KEY_POLICY;
    return evaluate({ principal: session.principal, action: call.action, resource: call.resource, resourceAccount: ACCOUNT_ID, identityPolicies: session.policies, resourcePolicy, context: call.context });
}

/** "action resource: result" for each call the session may NOT make. */
export async function deniedCalls(world: World, session: Session, calls: AwsCall[]): Promise<string[]> {
    const out: string[] = [];
    for (const c of calls) {
        const d = await decide(world, session, c);
        if (!d.allowed) out.push(`${c.action} ${c.resource}: ${d.result}${c.why ? ` (${c.why})` : ""}`);
    }
    return out;
}

/** "action resource" for each call the session MAY make (for must-not lists). */
export async function allowedCalls(world: World, session: Session, calls: AwsCall[]): Promise<string[]> {
    const out: string[] = [];
    for (const c of calls) if ((await decide(world, session, c)).allowed) out.push(`${c.action} ${c.resource}`);
    return out;
}

export const repoArn = (name: string) => `arn:aws:ecr:${REGION}:${ACCOUNT_ID}:repository/${name}`;

/** A job run of this project's workflow (the weekly, preview, PR images) in the world's org. */
export function jobRun(job: WorkflowJob, run: Omit<JobRun, "environment" | "idToken">): JobRun {
    return { ...run, environment: job.environment, idToken: true };
}
