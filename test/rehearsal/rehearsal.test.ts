/**
 * The rehearsal (#27): one AWS account (moto) and one GitHub organisation, every actor of ACTORS in the
 * documented order with the rights the program gives it, every IAM decision by iam-simulate.
 * Tests tagged [defect N] are issue 27's seams 1-7: each failed on d3b2fd0 (see the closing note of #27).
 */
import { strict as assert } from "assert";
import { AWS_REGION_VARIABLE, IMAGE_VARIABLE_PREFIX, PIPELINE_ROLE_NAME, PIPELINE_SESSION_VARIABLE, PREVIEW_ROLE_VARIABLE, REGISTRY_VARIABLE } from "../../lib/github/names";
import { ACTORS, DEFAULT_KEY_POLICY, allowedCalls, allWorkflowJobs, assumeWithOidc, AwsCall, deniedCalls, instanceProfileSession, jobRun, repoArn, roleArnFor, roleNameOf, roleSession, Session } from "./actors";
import { callContext, manifestActor, manifestCalls, worldResource } from "./awsApisManifest";
import { ACCOUNT_ID, REGION, REGISTRY } from "./awsAccount";
import { evaluate } from "./iamEvaluator";
import { upCalls } from "./upCalls";
import { pipelineCalls, withStackContext } from "./adminOnlyCalls";
import { requireMoto } from "../motoIam";
import { GPU_RUNNER_ROLE, OWNER, pulumiUp, stackFile, UpResult, World, WORKFLOW_REPOSITORY } from "./world";

const WORKFLOW_REPO_NAME = WORKFLOW_REPOSITORY.split("/")[1];
/** The admin's own GitHub session token while running `pulumi up` by hand (a long-lived credential). */
const ADMIN_GITHUB_TOKEN = "ghp_admin_session_token";
const FEATURE_REF = "refs/heads/feature-x";
/** The ARN of a stack's auto-named role in the world (with its IAM path). */
let roleArnIn: (stack: string, logical: string) => string;

/** The job of a workflow file that assumes an AWS role (configure-aws-credentials). */
function roleJob(file: string) {
    const job = allWorkflowJobs().find((j) => j.file === file && j.roleSource !== undefined);
    if (job === undefined) throw new Error(`${file} has no job that assumes an AWS role`);
    return job;
}
const weeklyJob = () => roleJob("weekly-rebuild.yml");
const previewJob = () => roleJob("preview.yml");
const prImagesJob = () => roleJob("pr-images.yml");

/** An `up`'s failures and the resources they kept from being created, at most 8 lines each and a count. */
/** A job of the workflows' own repository starts (`event` on `ref`) and assumes its role through OIDC: the session, or why it was denied. */
async function enterJobRole(world: World, job: ReturnType<typeof roleJob>, event: Parameters<typeof jobRun>[1]["event"], ref: string, sessionName: string): Promise<{ session?: Session; denied: string }> {
    const ctx = world.github.startJob(jobRun(job, { repository: WORKFLOW_REPOSITORY, event, ref }));
    const out = await assumeWithOidc(world, ctx, roleArnFor(job, ctx), sessionName);
    return "session" in out ? { session: out.session, denied: "" } : { denied: out.denied };
}

function failuresOf(up: UpResult): string {
    const part = (what: string, lines: string[]) => (lines.length === 0 ? "" : `${lines.length} ${what}:\n${lines.slice(0, 8).join("\n")}${lines.length > 8 ? `\n… ${lines.length - 8} more` : ""}\n`);
    return part("failed", up.failures) + part("skipped", up.skipped);
}

/** The repositories of a stack (prefix/family), from its config. */
function stackRepositories(stack: string): string[] {
    const c = stackFile(stack).config;
    return Object.keys(c["mlci:families"]).map((f) => `${c["mlci:registry"].prefix}/${f}`);
}

/** Whether the program writes a variable or secret of this name (lib/github/names.ts). */
function programWrites(name: string): boolean {
    return [REGISTRY_VARIABLE, AWS_REGION_VARIABLE, PIPELINE_ROLE_NAME, PIPELINE_SESSION_VARIABLE, PREVIEW_ROLE_VARIABLE].includes(name) || name.startsWith(IMAGE_VARIABLE_PREFIX);
}

/**
 * The admin sets, once, the secrets and variables this project's workflows read that the program never
 * writes (e.g. the GitHub App's key and client ID, PULUMI_BACKEND_URL), each at the narrowest scope every
 * reading job can reach: an environment when every job that reads it runs in that environment, else the
 * repository (docs/bootstrap.md, step 2). Optional variables (`vars.X || default`) are left unset.
 */
function adminSetsWorkflowSettings(world: World): { name: string; where: string }[] {
    const jobs = allWorkflowJobs().filter((j) => j.file !== "consumer-example.yml");
    const set: { name: string; where: string }[] = [];
    const scopeOf = (readers: typeof jobs) => {
        const envs = new Set(readers.map((j) => j.environment ?? ""));
        const env = envs.size === 1 ? [...envs][0] : "";
        // The settings page creates the environment (unprotected) if the program has not.
        if (env !== "" && world.github.environment(WORKFLOW_REPO_NAME, env) === undefined) world.github.createEnvironment(WORKFLOW_REPO_NAME, env);
        return env;
    };
    for (const name of [...new Set(jobs.flatMap((j) => j.secrets))].filter((n) => !programWrites(n) && n !== "GITHUB_TOKEN")) {
        const env = scopeOf(jobs.filter((j) => j.secrets.includes(name)));
        if (env === "") world.github.setRepositorySecret(WORKFLOW_REPO_NAME, name, `admin-value-of-${name}`, "admin");
        else world.github.setEnvironmentSecret(WORKFLOW_REPO_NAME, env, name, `admin-value-of-${name}`, "admin");
        set.push({ name, where: env === "" ? WORKFLOW_REPO_NAME : `${WORKFLOW_REPO_NAME}/${env}` });
    }
    const required = (j: (typeof jobs)[number]) => j.variables.filter((n) => !j.optionalVariables.includes(n));
    for (const name of [...new Set(jobs.flatMap(required))].filter((n) => !programWrites(n))) {
        const env = scopeOf(jobs.filter((j) => required(j).includes(name)));
        if (env === "") world.github.setRepositoryVariable(WORKFLOW_REPO_NAME, name, `admin-value-of-${name}`);
        else world.github.setEnvironmentVariable(WORKFLOW_REPO_NAME, env, name, `admin-value-of-${name}`);
        set.push({ name, where: env === "" ? WORKFLOW_REPO_NAME : `${WORKFLOW_REPO_NAME}/${env}` });
    }
    return set;
}

/**
 * An actor's calls from docs/aws-apis.md, on the world's resources, with the request context each carries:
 * s3:prefix of Pulumi's S3 backend, iam:PolicyARN of an attach onto an existing runner role (the stack's
 * pull policy), iam:AWSServiceName of ECR replication's service-linked role.
 */
let worldCalls: (actor: string) => AwsCall[] | undefined;

describe("rehearsal: one AWS account and one GitHub org, every actor in order (#27)", function () {
    this.timeout(120_000);
    let world: World;
    let prod: UpResult;
    let dev: UpResult;

    before(async function () {
        requireMoto(this, "The rehearsal");
        world = await World.create();
        worldCalls = (actor) => {
            const m = manifestActor(actor);
            if (m === undefined) return undefined;
            // A stack, or several ("prod+dev" for the runner, which pulls both stacks' images).
            const stack = m.stack.split("+")[0];
            const up = world.ups.get(stack)!;
            const backend = stackFile(stack).config["mlci:access"]?.stateBackend;
            return m.calls.map((c) => {
                const call = { ...c, resource: worldResource(world, stack, c.resource) };
                // The service of a service-linked role is the path segment after aws-service-role/ (replication or pull-through cache).
                if (call.action === "iam:CreateServiceLinkedRole") return { ...call, context: { "iam:AWSServiceName": call.resource.split("/")[2] } };
                if (/^iam:(Attach|Detach)RolePolicy$/.test(call.action)) return { ...call, context: { "iam:PolicyARN": up.outputs.runnerPullPolicyArn } };
                return { ...call, context: callContext(backend, call, "ml-ci-images", stack) };
            });
        };
        roleArnIn = (stack, logical) => `arn:aws:iam::${ACCOUNT_ID}:role/${world.iamResourcePath(stack, logical)}`;
        // Actor 1: the admin, with their own credentials and GitHub session, prod first, then dev.
        // docs/bootstrap.md: prod's first up, then the settings no program writes, then dev's first up.
        prod = await pulumiUp(world, "prod", { env: { GITHUB_TOKEN: ADMIN_GITHUB_TOKEN } });
        adminSetsWorkflowSettings(world);
        dev = await pulumiUp(world, "dev", { env: { GITHUB_TOKEN: ADMIN_GITHUB_TOKEN } });
    });
    after(() => world?.stop());

    describe(`1. ${ACTORS[0].label}`, () => {
        it("the world refuses, loudly, a resource type it has no model for", async () => {
            await assert.rejects(world.apply("prod", "aws:s3/bucket:Bucket", "unmodelled", {}), /no model for resource type aws:s3\/bucket:Bucket/);
        });

        it("pulumi up prod applies every registered resource to the world without an error", () => {
            assert.ok(prod.applied.some((r) => r.type === "aws:iam/openIdConnectProvider:OpenIdConnectProvider"), "prod creates the account's OIDC provider");
            assert.equal(failuresOf(prod), "");
        });

        it("[defect 2, 3] pulumi up dev applies every registered resource to the world without an error (environments exist, promotion's scan gate gets a scan)", () => {
            assert.ok(dev.applied.some((r) => r.type === "aws:ecr/repository:Repository"));
            assert.equal(failuresOf(dev), "");
        });

        it("[defect 2] every dev repository is scanned on push under prod's account-wide scanning configuration (ECR's effective frequency)", async () => {
            const repos = stackRepositories("dev");
            const frequency = await world.aws.effectiveScanFrequency(repos);
            assert.deepEqual(repos.filter((r) => frequency[r] !== "SCAN_ON_PUSH" && frequency[r] !== "CONTINUOUS_SCAN").map((r) => `${r}: ${frequency[r]}`), []);
        });

        it("[defect 3] the program creates every environment it writes variables or secrets to, before writing them", () => {
            const problems: string[] = [];
            for (const up of [prod, dev]) {
                const envIndex = (repo: string, env: string) => up.applied.findIndex((r) => r.type === "github:index/repositoryEnvironment:RepositoryEnvironment" && r.inputs.repository === repo && r.inputs.environment === env);
                for (const r of up.registered.filter((x) => /ActionsEnvironment(Variable|Secret)$/.test(x.type))) {
                    const at = envIndex(r.inputs.repository, r.inputs.environment);
                    const mine = up.applied.findIndex((x) => x.type === r.type && x.name === r.name);
                    if (at < 0) problems.push(`${up.stack}: ${r.name} writes to ${r.inputs.repository}/${r.inputs.environment}, which the program does not create`);
                    else if (mine >= 0 && mine < at) problems.push(`${up.stack}: ${r.name} was written before its environment`);
                }
            }
            assert.deepEqual([...new Set(problems)].slice(0, 10), []);
        });

        it("[defect 3] prod deploys from main only, in every repository where the program creates it", () => {
            const envs = [...prod.applied, ...dev.applied].filter((r) => r.type === "github:index/repositoryEnvironment:RepositoryEnvironment" && r.inputs.environment === "prod");
            assert.ok(envs.length > 0, "the program creates the prod environment of the workflows' repository");
            for (const e of envs) {
                const env = world.github.environment(e.inputs.repository, "prod")!;
                assert.ok(env.deploymentBranchPolicy?.customBranchPolicies && !env.deploymentBranchPolicy.protectedBranches, `${e.inputs.repository}/prod: custom deployment branch policy`);
                assert.deepEqual(env.branchPatterns, ["main"], `${e.inputs.repository}/prod deploys from main only`);
            }
        });
    });

    describe(`2. ${ACTORS[1].label}`, () => {
        let session: Session | undefined;
        let denied = "";
        before(async () => {
            ({ session, denied } = await enterJobRole(world, weeklyJob(), "schedule", "refs/heads/main", "ml-ci-images-weekly-rebuild"));
        });

        it("[defect 4] the workflows' own repository holds every variable and secret its weekly, preview and PR-images jobs read", () => {
            const missing: string[] = [];
            for (const job of [weeklyJob(), previewJob(), prImagesJob()]) {
                const ctx = world.github.startJob(jobRun(job, { repository: WORKFLOW_REPOSITORY, event: job.events.includes("schedule") ? "schedule" : "pull_request", ref: job.events.includes("schedule") ? "refs/heads/main" : FEATURE_REF }));
                assert.ok(ctx.started, `${job.file} starts`);
                if (!ctx.started) continue;
                for (const v of job.variables.filter((n) => n.startsWith("CI_IMAGES_") && !job.optionalVariables.includes(n))) if (!ctx.variables.has(v)) missing.push(`${job.file}: vars.${v}`);
                for (const s of job.secrets) if (!ctx.secrets.has(s)) missing.push(`${job.file}: secrets.${s}`);
            }
            assert.deepEqual(missing, []);
        });

        it("[defect 4] enters the prod pipeline role through the OIDC claims of a scheduled run on main in environment prod", () => {
            assert.equal(denied, "");
            assert.ok(session);
            assert.equal(session!.roleName, world.physical("prod", "pipeline-access-role"));
        });

        it("[defect 1] the prod pipeline role may make every AWS call of pulumi up for prod (docs/aws-apis.md manifest: state backend, managed resources, data sources, promotion)", async () => {
            // The role's rights, whichever way the job entered it (entering is the test above).
            const rights = session ?? (await roleSession(world, roleNameOf(prod.outputs.pipelineRoleArn), "ml-ci-images-weekly-rebuild"));
            const calls = pipelineCalls("prod", worldCalls("weekly")!.map((c) => withStackContext("prod", c)));
            assert.ok(calls.some((c) => c.action.startsWith("s3:")), "the manifest lists the state backend");
            assert.deepEqual(await deniedCalls(world, rights, calls), []);
        });
        it("[defect 1] the prod pipeline role may make the calls of every resource and data source prod's up used, on their real ARNs (terraform-provider-aws)", async () => {
            const rights = session ?? (await roleSession(world, roleNameOf(prod.outputs.pipelineRoleArn), "ml-ci-images-weekly-rebuild"));
            const calls = pipelineCalls("prod", await upCalls(world, prod));
            assert.ok(calls.length > 50, `${calls.length} calls`);
            assert.deepEqual(await deniedCalls(world, rights, calls), []);
        });

        it("docs/aws-apis.md lists every action prod's up made in the world", async () => {
            const listed = new Set(manifestCalls("weekly")!.map((c) => c.action));
            const made = [...new Set((await upCalls(world, prod)).map((c) => c.action))];
            assert.deepEqual(made.filter((a) => !listed.has(a)).sort(), []);
        });
    });

    describe(`3. ${ACTORS[2].label}`, () => {
        let session: Session | undefined;
        let denied = "";
        const backend = () => stackFile("prod").config["mlci:access"].stateBackend;
        before(async () => {
            ({ session, denied } = await enterJobRole(world, previewJob(), "pull_request", FEATURE_REF, "ml-ci-images-preview"));
        });

        it("[defect 4] enters the preview role with pull_request claims", () => {
            assert.equal(denied, "");
            assert.equal(session!.roleName, world.physical("prod", "preview-access-role"));
        });

        it("the preview role can make preview's reads", async () => {
            session ??= await roleSession(world, roleNameOf(prod.outputs.previewRoleArn), "ml-ci-images-preview");
            const b = backend();
            const reads: AwsCall[] = worldCalls("preview") ?? [
                // docs/pipelines.md, "Preview role": read the state, describe the stack's repositories and roles.
                { action: "s3:GetObject", resource: `arn:aws:s3:::${b.bucket}/${b.prefix}/.pulumi/stacks/ml-ci-images/prod.json` },
                { action: "ecr:GetAuthorizationToken", resource: "*" },
                ...stackRepositories("prod").flatMap((r) => ["ecr:DescribeImages", "ecr:ListImages", "ecr:DescribeRepositories"].map((action) => ({ action, resource: repoArn(r) }))),
                { action: "iam:GetRole", resource: roleArnIn("prod", "pipeline-access-role") },
            ];
            assert.deepEqual(await deniedCalls(world, session!, reads), []);
        });

        it("the preview role cannot push, write the state, or change a role", async () => {
            session ??= await roleSession(world, roleNameOf(prod.outputs.previewRoleArn), "ml-ci-images-preview");
            const b = backend();
            const writes: AwsCall[] = [
                ...stackRepositories("prod").flatMap((r) => ["ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:DeleteRepository"].map((action) => ({ action, resource: repoArn(r) }))),
                { action: "s3:PutObject", resource: `arn:aws:s3:::${b.bucket}/${b.prefix}/.pulumi/stacks/ml-ci-images/prod.json` },
                { action: "iam:UpdateAssumeRolePolicy", resource: roleArnIn("prod", "pipeline-access-role") },
            ];
            assert.deepEqual(await allowedCalls(world, session!, writes), []);
        });

        it("[defect 5] a pull_request run can obtain no long-lived secret: no admin secret, no credential in the state, no Docker Hub secret value", async () => {
            const reachable: string[] = [];
            // The PR's author controls the workflow file: it may read any secret of the repository and of any
            // environment whose deployment branches admit the PR's branch [SECRET-SCOPE], [BRANCH-POLICY].
            const adminSecrets = world.github.allSecrets().filter((s) => s.writer === "admin" && s.where.startsWith(WORKFLOW_REPO_NAME));
            const obtained = new Set<string>();
            for (const env of [undefined, ...new Set(adminSecrets.map((s) => s.where.split("/")[1]).filter((e): e is string => e !== undefined))]) {
                const ctx = world.github.startJob({ repository: WORKFLOW_REPOSITORY, event: "pull_request", ref: FEATURE_REF, environment: env, idToken: true });
                if (!ctx.started) continue;
                for (const s of adminSecrets) if (ctx.secrets.get(s.name) === s.value) obtained.add(s.name);
            }
            reachable.push(...[...obtained].map((n) => `GitHub secret ${n}`));
            // The state: readable with the preview role, decryptable with the passphrase (if obtained) or kms:Decrypt.
            for (const up of [prod, dev]) {
                const cp = up.checkpoint;
                session ??= await roleSession(world, roleNameOf(prod.outputs.previewRoleArn), "ml-ci-images-preview");
                // Every stack here keeps its state in S3: a missing checkpoint means the check would pass unexamined.
                assert.ok(cp, `${up.stack}: the up wrote no checkpoint, so its state could not be examined`);
                const read = await evaluate({ principal: session.principal, action: "s3:GetObject", resource: `arn:aws:s3:::${cp!.bucket}/${cp!.key}`, resourceAccount: ACCOUNT_ID, identityPolicies: session.policies });
                let decrypt = false;
                if (cp!.secretsProvider === "passphrase") decrypt = obtained.has("PULUMI_CONFIG_PASSPHRASE");
                else {
                    const keyArn = stackFile(up.stack).config["mlci:access"]?.secretsKeyArn ?? cp!.secretsProvider.replace(/^awskms:\/\/\/?/, "").replace(/\?.*$/, "");
                    const keyResource = keyArn.startsWith("arn:") ? keyArn : `arn:aws:kms:${REGION}:${ACCOUNT_ID}:${keyArn.startsWith("alias/") ? keyArn : `key/${keyArn}`}`;
                    decrypt = (await evaluate({ principal: session.principal, action: "kms:Decrypt", resource: keyResource, resourceAccount: ACCOUNT_ID, identityPolicies: session.policies, resourcePolicy: DEFAULT_KEY_POLICY })).allowed;
                }
                if (read.allowed && decrypt) for (const s of cp!.secrets.filter((x) => x.credential)) reachable.push(`${up.stack} state: ${s.resource} ${s.key}`);
            }
            // Docker Hub credentials by Secrets Manager ARN.
            session ??= await roleSession(world, roleNameOf(prod.outputs.previewRoleArn), "ml-ci-images-preview");
            for (const stack of ["prod", "dev"]) {
                const arn = stackFile(stack).config["mlci:registry"]?.pullThroughCache?.credentialSecretArn;
                if (!arn) continue;
                const d = await evaluate({ principal: session.principal, action: "secretsmanager:GetSecretValue", resource: `${arn}-AbCdEf`, resourceAccount: ACCOUNT_ID, identityPolicies: session.policies });
                if (d.allowed) reachable.push(`${stack} Docker Hub secret ${arn}`);
            }
            assert.deepEqual(reachable, []);
        });
    });

    describe(`4. ${ACTORS[3].label}`, () => {
        let session: Session | undefined;
        let denied = "";
        before(async () => {
            ({ session, denied } = await enterJobRole(world, prImagesJob(), "pull_request", FEATURE_REF, "ml-ci-images-pr-images"));
        });

        it("[defect 4] enters the dev pipeline role with the claims of environment dev", () => {
            assert.equal(denied, "");
            assert.equal(session!.roleName, world.physical("dev", "pipeline-access-role"));
        });

        it("the dev pipeline role may make publish's registry calls, on dev's repositories only", async () => {
            session ??= await roleSession(world, roleNameOf(dev.outputs.pipelineRoleArn), "ml-ci-images-pr-images");
            const publish = ["ecr:ListImages", "ecr:DescribeImages", "ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"];
            const calls: AwsCall[] = worldCalls("publish") ?? [
                { action: "ecr:GetAuthorizationToken", resource: "*" },
                ...stackRepositories("dev").flatMap((r) => publish.map((action) => ({ action, resource: repoArn(r) }))),
            ];
            assert.deepEqual(await deniedCalls(world, session!, calls), []);
            assert.deepEqual(await allowedCalls(world, session!, stackRepositories("prod").map((r) => ({ action: "ecr:PutImage", resource: repoArn(r) }))), [], "the dev role cannot push prod images");
        });

        it("[defect 2] an image it publishes to dev passes the promotion's scan gate (the CLI's gate against ECR, 30 min timeout)", async () => {
            const repo = stackRepositories("dev")[0];
            const digest = await world.aws.push(repo, ["rehearsal-pr-1"], "pr-images-rehearsal");
            const gate = await world.runScanGate("dev", [`${REGISTRY}/${repo}@${digest}`], { timeout: "30m" });
            assert.equal(gate.exitCode, 0, gate.stderr);
        });
    });

    describe(`5. ${ACTORS[4].label}`, () => {
        it("[defect 6] the GPU runner's instance profile role may wait for and pull prod AND dev images", async () => {
            const session = await instanceProfileSession(world, GPU_RUNNER_ROLE);
            const pull = (r: string): AwsCall[] => ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"].map((action) => ({ action, resource: repoArn(r) }));
            const calls: AwsCall[] = worldCalls("runner") ?? [
                { action: "ecr:GetAuthorizationToken", resource: "*" },
                ...stackRepositories("prod").flatMap(pull),
                ...stackRepositories("dev").flatMap(pull),
            ];
            assert.ok(calls.some((c) => c.resource.includes(":repository/ml-ci-dev/")), "the consumer pulls dev images too");
            assert.deepEqual(await deniedCalls(world, session, calls), []);
        });
    });

    describe(`6. ${ACTORS[5].label}`, () => {
        const pipelineRoleArns = () => ["prod", "dev"].map((s) => roleArnIn(s, "pipeline-access-role"));
        const previewRoleArn = () => roleArnIn("prod", "preview-access-role");

        it("a fork's pull request gets no OIDC token and no secret", async () => {
            const ctx = world.github.startJob({ repository: WORKFLOW_REPOSITORY, event: "pull_request", ref: FEATURE_REF, fromFork: true, idToken: true });
            assert.ok(ctx.started && ctx.secrets.size === 0 && ctx.claims === undefined);
            for (const arn of [...pipelineRoleArns(), previewRoleArn()]) assert.ok("denied" in (await assumeWithOidc(world, ctx, arn, "fork")), arn);
        });

        it("[defect 3] a branch workflow that claims environment prod gets no pipeline role, in any repository of the org", async () => {
            const admitted: string[] = [];
            for (const repo of world.github.repositoryNames()) {
                const ctx = world.github.startJob({ repository: `${OWNER}/${repo}`, event: "push", ref: FEATURE_REF, environment: "prod", idToken: true });
                for (const arn of pipelineRoleArns()) if ("session" in (await assumeWithOidc(world, ctx, arn, "intruder"))) admitted.push(`${repo}: ${roleNameOf(arn)}`);
            }
            assert.deepEqual(admitted, []);
        });

        it("[defect 3] a workflow on main WITHOUT an environment cannot assume the role that runs pulumi up", async () => {
            const admitted: string[] = [];
            for (const repo of world.github.repositoryNames()) {
                const ctx = world.github.startJob({ repository: `${OWNER}/${repo}`, event: "push", ref: "refs/heads/main", idToken: true });
                const arn = pipelineRoleArns()[0];
                if ("session" in (await assumeWithOidc(world, ctx, arn, "main-no-env"))) admitted.push(`${repo}: ${roleNameOf(arn)}`);
            }
            assert.deepEqual(admitted, []);
        });

        it("another repository's workflow, even in its own prod environment on main, gets no role", async () => {
            const ctx = world.github.startJob({ repository: `${OWNER}/other`, event: "push", ref: "refs/heads/main", environment: "prod", idToken: true });
            for (const arn of [...pipelineRoleArns(), previewRoleArn()]) assert.ok("denied" in (await assumeWithOidc(world, ctx, arn, "other")), arn);
            const pr = world.github.startJob({ repository: `${OWNER}/other`, event: "pull_request", ref: FEATURE_REF, idToken: true });
            assert.ok("denied" in (await assumeWithOidc(world, pr, previewRoleArn(), "other-pr")), "another repository's pull request gets no preview role");
        });

        it("a GPU runner cannot push to, or delete from, any prod or dev repository", async () => {
            const session = await instanceProfileSession(world, GPU_RUNNER_ROLE);
            const writes: AwsCall[] = [...stackRepositories("prod"), ...stackRepositories("dev")].flatMap((r) => ["ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:BatchDeleteImage"].map((action) => ({ action, resource: repoArn(r) })));
            assert.deepEqual(await allowedCalls(world, session, writes), []);
        });
    });
});
