/**
 * The rehearsal's world: one AWS account (moto, awsAccount.ts) and one GitHub organisation
 * (githubOrg.ts), and `pulumi up` of a stack: the real program (index.ts) runs under Pulumi's mocks and
 * every resource it registers is APPLIED to the world, in registration order. A resource type the
 * world does not know fails the run loudly. Afterwards the world writes the stack's checkpoint to the
 * state bucket, with which of its values are secrets and how they are encrypted.
 */
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import YAML from "yaml";
import { AwsAccount, ACCOUNT_ID, REGION, REGISTRY, providerError } from "./awsAccount";
import { GithubOrg } from "./githubOrg";

export const PROJECT_ROOT = path.resolve(__dirname, "..", "..");
export const PROJECT = "ml-ci-images";
export const OWNER = "pytorch";
/** The repository that holds this project's workflows (weekly-rebuild, preview, pr-images): the project itself. */
export const WORKFLOW_REPOSITORY = `${OWNER}/ml-ci-images`;
/** The consumer repositories of the shipped stacks, plus one the program never targets (the intruders' home). */
export const ORG_REPOSITORIES = ["ml-ci-images", "rl", "other"];
/** The shared GPU runner role that exists before any stack (its instance profile is on the GPU runners' launch template). */
export const GPU_RUNNER_ROLE = "gh-runner-gpu-linux";
/** https://docs.github.com/en/actions/how-tos/secure-your-work/security-harden-deployments/oidc-in-aws */
export const GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com";

/** One value of the state that is a secret, and whether it is a long-lived credential. */
export interface StateSecret {
    resource: string;
    key: string;
    credential: boolean;
}

/** The stack's checkpoint as the world stores it: resources and which values are secrets. */
export interface Checkpoint {
    stack: string;
    bucket: string;
    key: string;
    /** "passphrase" or the awskms:// URL of the stack's secrets provider (Pulumi.<stack>.yaml `secretsprovider`). */
    secretsProvider: string;
    secrets: StateSecret[];
    resources: { type: string; name: string; physicalName?: string }[];
}

/** The outcome of one `pulumi up`. */
export interface UpResult {
    stack: string;
    /** Resources applied, in order, with their inputs (secrets unwrapped) and provider state. */
    applied: { type: string; name: string; physicalName?: string; inputs: Record<string, any>; state: Record<string, any> }[];
    /** Every custom resource the program registered (applied or failed), in order, inputs unwrapped. */
    registered: { type: string; name: string; inputs: Record<string, any> }[];
    /** Provider functions the program called (data sources), in order. */
    calls: { token: string; inputs: Record<string, any> }[];
    /** Failed applies (the world's or moto's error), as `pulumi up` would report them. */
    failures: string[];
    /** Resources not created because a dependency failed. */
    skipped: string[];
    outputs: Record<string, any>;
    checkpoint?: Checkpoint;
}

const SECRET_SIG = "4dabf18193072939515e22adb298388d";
function isSecretValue(v: unknown): boolean {
    return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SECRET_SIG] === "1b47061264138c4ac30d75fd1eb44270";
}
function plain(v: any): any {
    if (isSecretValue(v)) return plain(v.value);
    if (Array.isArray(v)) return v.map(plain);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
    return v;
}

/** The stack config file, parsed. */
export function stackFile(stack: string): { config: Record<string, any>; secretsprovider?: string } {
    return YAML.parse(fs.readFileSync(path.join(PROJECT_ROOT, `Pulumi.${stack}.yaml`), "utf8")) ?? {};
}

/** The world: one account, one organisation, and what each stack's `up` left in them. */
export class World {
    readonly ups = new Map<string, UpResult>();
    /** Physical names per stack and logical name (Pulumi's auto-naming: `<name>-<7 hex>`, deterministic here). */
    readonly physicalNames = new Map<string, Map<string, string>>();

    private constructor(readonly aws: AwsAccount, readonly github: GithubOrg) {}

    /** Starts moto and creates what exists before the first `up` (docs/bootstrap.md, "Before the first up"). */
    static async create(): Promise<World> {
        const aws = await AwsAccount.start();
        const world = new World(aws, new GithubOrg(OWNER, ORG_REPOSITORIES));
        try {
            // The GPU runners' role (an EC2 role with an instance profile), made by the runner fleet's own IaC.
            await aws.createRole(GPU_RUNNER_ROLE, JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }] }));
            await aws.createInstanceProfile(GPU_RUNNER_ROLE, GPU_RUNNER_ROLE);
            // The state bucket of every stack with an S3 backend.
            const buckets = new Set(["prod", "dev"].map((s) => stackFile(s).config?.["mlci:access"]?.stateBackend?.bucket).filter((b): b is string => typeof b === "string"));
            for (const b of buckets) await aws.createBucket(b);
        } catch (e) {
            aws.stop();
            throw e;
        }
        return world;
    }

    stop(): void {
        this.aws.stop();
    }

    /** The physical name of a stack's auto-named resource. */
    physical(stack: string, logical: string): string | undefined {
        return this.physicalNames.get(stack)?.get(logical);
    }

    /** IAM paths per stack and logical name (`path` input of roles, policies, instance profiles). */
    readonly iamPaths = new Map<string, Map<string, string>>();

    private autoName(stack: string, logical: string, given: unknown, iamPath?: unknown): string {
        const name = typeof given === "string" && given !== "" ? given : `${logical}-${createHash("sha256").update(`${stack}/${logical}`).digest("hex").slice(0, 7)}`;
        if (!this.physicalNames.has(stack)) this.physicalNames.set(stack, new Map());
        this.physicalNames.get(stack)!.set(logical, name);
        if (!this.iamPaths.has(stack)) this.iamPaths.set(stack, new Map());
        this.iamPaths.get(stack)!.set(logical, typeof iamPath === "string" && iamPath !== "" ? iamPath : "/");
        return name;
    }

    /** `<path><name>` of a stack's auto-named IAM resource, as its ARN ends (e.g. `ml-ci-images/prod/pipeline-access-role-1a2b3c4`). */
    iamResourcePath(stack: string, logical: string): string | undefined {
        const name = this.physical(stack, logical);
        return name === undefined ? undefined : `${(this.iamPaths.get(stack)?.get(logical) ?? "/").slice(1)}${name}`;
    }

    /** Applies one registration to the world; returns the provider state. Unknown types throw. */
    async apply(stack: string, type: string, name: string, rawInputs: Record<string, any>): Promise<{ id: string; state: Record<string, any>; physicalName?: string }> {
        const inputs = plain(rawInputs);
        const aws = this.aws;
        const gh = this.github;
        switch (type) {
            case "pulumi:providers:aws":
            case "pulumi:providers:github":
            case "pulumi:providers:command":
            case "pulumi:providers:docker-build":
            case "pulumi:providers:docker":
                return { id: `${name}-provider`, state: inputs };
            case "aws:iam/openIdConnectProvider:OpenIdConnectProvider": {
                const arn = await aws.createOidcProvider(inputs.url, inputs.clientIdLists ?? [], inputs.thumbprintLists);
                return { id: arn, state: { ...inputs, arn } };
            }
            case "aws:iam/role:Role": {
                const n = this.autoName(stack, name, inputs.name, inputs.path);
                const { arn, uniqueId } = await aws.createRole(n, inputs.assumeRolePolicy, { description: inputs.description, maxSessionDuration: inputs.maxSessionDuration, tags: inputs.tags, path: inputs.path, permissionsBoundary: inputs.permissionsBoundary });
                return { id: n, state: { ...inputs, name: n, arn, uniqueId }, physicalName: n };
            }
            case "aws:iam/policy:Policy": {
                const n = this.autoName(stack, name, inputs.name, inputs.path);
                const arn = await aws.createPolicy(n, inputs.policy, inputs.description, inputs.path);
                return { id: arn, state: { ...inputs, name: n, arn }, physicalName: n };
            }
            case "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
                await aws.attachRolePolicy(inputs.role, inputs.policyArn);
                return { id: `${inputs.role}-${inputs.policyArn}`, state: inputs };
            case "aws:iam/rolePolicy:RolePolicy": {
                const n = this.autoName(stack, name, inputs.name);
                await aws.putRolePolicy(inputs.role, n, inputs.policy);
                return { id: `${inputs.role}:${n}`, state: { ...inputs, name: n }, physicalName: n };
            }
            case "aws:iam/instanceProfile:InstanceProfile": {
                const n = this.autoName(stack, name, inputs.name, inputs.path);
                const arn = await aws.createInstanceProfile(n, inputs.role, inputs.path);
                return { id: n, state: { ...inputs, name: n, arn }, physicalName: n };
            }
            case "aws:ecr/repository:Repository": {
                const r = await aws.createRepository(inputs);
                return { id: inputs.name, state: { ...inputs, arn: r.arn, repositoryUrl: r.url, registryId: r.registryId }, physicalName: inputs.name };
            }
            case "aws:ecr/repositoryPolicy:RepositoryPolicy":
                await aws.setRepositoryPolicy(inputs.repository, inputs.policy);
                return { id: inputs.repository, state: { ...inputs, registryId: ACCOUNT_ID } };
            case "aws:ecr/lifecyclePolicy:LifecyclePolicy":
                await aws.putLifecyclePolicy(inputs.repository, inputs.policy);
                return { id: inputs.repository, state: { ...inputs, registryId: ACCOUNT_ID } };
            case "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration":
                await aws.putRegistryScanningConfiguration(inputs);
                return { id: ACCOUNT_ID, state: { ...inputs, registryId: ACCOUNT_ID } };
            case "aws:ecr/replicationConfiguration:ReplicationConfiguration":
                await aws.putReplicationConfiguration(inputs);
                return { id: ACCOUNT_ID, state: { ...inputs, registryId: ACCOUNT_ID } };
            case "aws:ecr/pullThroughCacheRule:PullThroughCacheRule": {
                // ECR: one rule per prefix in the registry (CreatePullThroughCacheRule: PullThroughCacheRuleAlreadyExistsException).
                if (aws.pullThroughCacheRules.has(inputs.ecrRepositoryPrefix)) throw providerError(`creating ECR Pull Through Cache Rule (${inputs.ecrRepositoryPrefix}): PullThroughCacheRuleAlreadyExistsException`);
                aws.pullThroughCacheRules.set(inputs.ecrRepositoryPrefix, inputs);
                return { id: inputs.ecrRepositoryPrefix, state: { ...inputs, registryId: ACCOUNT_ID } };
            }
            case "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate": {
                if (aws.creationTemplates.has(inputs.prefix)) throw providerError(`creating ECR Repository Creation Template (${inputs.prefix}): TemplateAlreadyExistsException`);
                aws.creationTemplates.set(inputs.prefix, inputs);
                return { id: inputs.prefix, state: { ...inputs, registryId: ACCOUNT_ID } };
            }
            case "aws:secretsmanager/secret:Secret": {
                const n = this.autoName(stack, name, inputs.name);
                const arn = `arn:aws:secretsmanager:${REGION}:${ACCOUNT_ID}:secret:${n}-AbCdEf`;
                return { id: arn, state: { ...inputs, name: n, arn }, physicalName: n };
            }
            case "aws:secretsmanager/secretVersion:SecretVersion":
                return { id: `${inputs.secretId}|v1`, state: { ...inputs, versionId: "v1" } };
            case "docker-build:index:Image": {
                const tags: string[] = inputs.tags ?? [];
                const seed = JSON.stringify([tags, inputs.buildArgs ?? {}, inputs.platforms ?? []]);
                let digest = `sha256:${createHash("sha256").update(seed).digest("hex")}`;
                if (inputs.push === true) {
                    const byRepo = new Map<string, string[]>();
                    for (const t of tags) {
                        if (!t.startsWith(`${REGISTRY}/`)) continue;
                        const rt = t.slice(REGISTRY.length + 1);
                        const i = rt.lastIndexOf(":");
                        byRepo.set(rt.slice(0, i), [...(byRepo.get(rt.slice(0, i)) ?? []), rt.slice(i + 1)]);
                    }
                    for (const [repo, repoTags] of byRepo) digest = await aws.push(repo, repoTags, seed);
                }
                return { id: `${name}-build`, state: { ...inputs, digest, ref: tags.length ? `${tags[0]}@${digest}` : "", contextHash: digest.slice(7, 71) } };
            }
            case "docker-build:index:Index": {
                const seed = JSON.stringify(inputs.sources ?? []);
                let digest = `sha256:${createHash("sha256").update(seed).digest("hex")}`;
                if (inputs.push === true && typeof inputs.tag === "string" && inputs.tag.startsWith(`${REGISTRY}/`)) {
                    const rt = inputs.tag.slice(REGISTRY.length + 1);
                    const i = rt.lastIndexOf(":");
                    digest = await aws.push(rt.slice(0, i), [rt.slice(i + 1)], seed);
                }
                return { id: `${name}-index`, state: { ...inputs, ref: `${inputs.tag}@${digest}` } };
            }
            case "command:local:Command":
                return { id: `${name}-cmd`, state: { ...inputs, ...(await this.runCommand(stack, String(inputs.create ?? ""))), stderr: "" } };
            case "github:index/repositoryEnvironment:RepositoryEnvironment":
                gh.createEnvironment(inputs.repository, inputs.environment, inputs.deploymentBranchPolicy ? { protectedBranches: !!inputs.deploymentBranchPolicy.protectedBranches, customBranchPolicies: !!inputs.deploymentBranchPolicy.customBranchPolicies } : undefined);
                return { id: `${inputs.repository}:${inputs.environment}`, state: inputs };
            case "github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy":
                if (typeof inputs.branchPattern === "string") gh.addDeploymentBranchPolicy(inputs.repository, inputs.environment, inputs.branchPattern);
                return { id: `${inputs.repository}:${inputs.environment}:${inputs.branchPattern ?? inputs.tagPattern}`, state: inputs };
            case "github:index/actionsVariable:ActionsVariable":
                gh.setRepositoryVariable(inputs.repository, inputs.variableName, inputs.value);
                return { id: `${inputs.repository}:${inputs.variableName}`, state: inputs };
            case "github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable":
                gh.setEnvironmentVariable(inputs.repository, inputs.environment, inputs.variableName, inputs.value);
                return { id: `${inputs.repository}:${inputs.environment}:${inputs.variableName}`, state: inputs };
            case "github:index/actionsSecret:ActionsSecret":
                gh.setRepositorySecret(inputs.repository, inputs.secretName, inputs.plaintextValue ?? inputs.value, `program:${stack}`);
                return { id: `${inputs.repository}:${inputs.secretName}`, state: inputs };
            case "github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret":
                gh.setEnvironmentSecret(inputs.repository, inputs.environment, inputs.secretName, inputs.plaintextValue ?? inputs.value, `program:${stack}`);
                return { id: `${inputs.repository}:${inputs.environment}:${inputs.secretName}`, state: inputs };
            default:
                throw new Error(`rehearsal world: no model for resource type ${type} (${name}); add one to test/rehearsal/world.ts with its source`);
        }
    }

    /**
     * A local Command of the program: the smoke test (docker/test_image.sh; its real output lines) and the
     * promotion (`ci-images scan-gate … && ci-images retag <repo>@<digest> <tag>…`, components/images/imageBuild.ts).
     * The scan gate is the CLI's own `runScanGate` (cli/commands/scanGate.ts) with its ECR client on moto and a
     * virtual clock (its waits take no time); the retag is applied to moto (GET the manifest, PUT it per tag).
     */
    private async runCommand(stack: string, create: string): Promise<{ stdout: string }> {
        if (create.includes("docker/test_image.sh")) {
            return { stdout: ["image: (rehearsal)", "PASS size linux/amd64: compressed 4.20 GB <= budget 10 GB (uncompressed 11.03 GB)", "SUMMARY: 1 passed, 0 failed"].join("\n") };
        }
        const repoOf = (url: string) => (url.startsWith(`${REGISTRY}/`) ? url.slice(REGISTRY.length + 1) : undefined);
        const gate = /ci-images scan-gate ((?:\S+@sha256:[0-9a-f]{64} ?)+)((?: --\S+ \S+)*)/.exec(create);
        if (gate) {
            const refs = gate[1].trim().split(/\s+/);
            const flags: Record<string, string> = {};
            for (const m of gate[2].matchAll(/--(\S+) (\S+)/g)) flags[m[1]] = m[2];
            const result = await this.runScanGate(stack, refs, flags);
            if (result.exitCode !== 0) throw providerError(`scan-gate exited ${result.exitCode}: ${result.stderr.trim()}`);
        }
        const retag = /ci-images retag (\S+)@(sha256:[0-9a-f]{64})((?: [^\s;&|]+)+)/.exec(create);
        if (retag) {
            const repo = repoOf(retag[1]);
            if (repo !== undefined) await this.aws.retag(repo, retag[2], retag[3].trim().split(/\s+/));
        }
        return { stdout: "" };
    }

    /** The CLI's scan gate against moto: every ECR method it calls on its client is sent to moto as that SDK command. */
    async runScanGate(stack: string, refs: string[], flags: Record<string, string>): Promise<{ exitCode: number; stderr: string }> {
        const { runScanGate } = require(path.join(PROJECT_ROOT, "cli", "commands", "scanGate"));
        const sdk = require("@aws-sdk/client-ecr");
        const ecr = this.aws.ecr;
        const client = new Proxy({}, {
            get: (_t, method: string | symbol) => {
                if (typeof method !== "string" || method === "then") return undefined;
                return (input: unknown) => {
                    const name = `${method[0].toUpperCase()}${method.slice(1)}Command`;
                    if (typeof sdk[name] !== "function") throw new Error(`rehearsal world: the scan gate called ${method}, which @aws-sdk/client-ecr has no command for`);
                    return ecr.send(new sdk[name](input));
                };
            },
        });
        let clock = Date.parse("2026-12-07T02:17:00Z");
        const promotion = stackFile(stack).config?.["mlci:promotion"] ?? {};
        const settings = { maxSeverity: promotion.maxSeverity ?? "CRITICAL", allowlist: promotion.allowlist ?? [] };
        let out = "";
        let err = "";
        const exitCode: number = await runScanGate(refs, settings, { maxSeverity: flags["max-severity"], timeout: flags.timeout, interval: flags.interval, settle: flags.settle }, {
            out: { write: (t: string) => ((out += t), true) },
            err: { write: (t: string) => ((err += t), true) },
            env: {},
            client: () => client,
            now: () => new Date(clock),
            sleep: async (ms: number) => void (clock += ms),
        });
        return { exitCode, stderr: err || out };
    }
}

/** Who runs `pulumi up` and with which environment: an admin with their own GitHub session token. */
export interface UpOptions {
    /** Environment the program sees (GITHUB_TOKEN etc.); MLCI_*, PULUMI_*, AWS_* of the shell are scrubbed. */
    env?: Record<string, string>;
    /** Secret config values the operator set (`pulumi config set --secret`), full keys. */
    secretConfig?: Record<string, string>;
}

/** Runs `pulumi up` of a stack in the world: the program under mocks, every registration applied. */
export async function pulumiUp(world: World, stack: string, opts: UpOptions = {}): Promise<UpResult> {
    const file = stackFile(stack);
    const config: Record<string, string> = {};
    const secretKeys: string[] = [];
    for (const [k, v] of Object.entries(file.config ?? {})) {
        if (v !== null && typeof v === "object" && typeof (v as { secure?: unknown }).secure === "string") {
            config[k] = `decrypted(${(v as { secure: string }).secure})`;
            secretKeys.push(k);
        } else config[k] = typeof v === "string" ? v : JSON.stringify(v);
    }
    for (const [k, v] of Object.entries(opts.secretConfig ?? {})) {
        config[k] = v;
        secretKeys.push(k);
    }
    pulumi.runtime.setAllConfig(config, secretKeys);

    const result: UpResult = { stack, applied: [], registered: [], calls: [], failures: [], skipped: [], outputs: {} };
    // An unknown resource type ends the run at once (the program's outputs would never settle).
    let failRun: (e: unknown) => void = () => undefined;
    const runFailed = new Promise<never>((_, reject) => (failRun = reject));
    runFailed.catch(() => undefined);
    const stateResources: { type: string; name: string; inputs: Record<string, any>; physicalName?: string }[] = [];
    const mocks: pulumi.runtime.Mocks = {
        async newResource(args) {
            if (process.env.REHEARSAL_DEBUG) console.error("newResource", args.type, args.name);
            // A ComponentResource (custom: false) has no provider: nothing to apply.
            if (args.custom === false) return { id: undefined, state: {} };
            result.registered.push({ type: args.type, name: args.name, inputs: plain(args.inputs) });
            const blockedBy = skipped.get(`${args.type}::${args.name}`);
            if (blockedBy !== undefined) {
                // `pulumi up` never creates a resource whose dependency failed (it is skipped, also with --continue-on-error).
                result.skipped.push(`${args.type} ${args.name}: not created, its dependency ${blockedBy} failed`);
                return { id: `${args.name}-skipped`, state: placeholderState(args.name, args.inputs) };
            }
            try {
                const out = await world.apply(stack, args.type, args.name, args.inputs);
                result.applied.push({ type: args.type, name: args.name, physicalName: out.physicalName, inputs: plain(args.inputs), state: out.state });
                stateResources.push({ type: args.type, name: args.name, inputs: args.inputs, physicalName: out.physicalName });
                return { id: out.id, state: out.state };
            } catch (e) {
                const message = `${args.type} ${args.name}: ${(e as Error).name && (e as Error).name !== "Error" ? `${(e as Error).name}: ` : ""}${(e as Error).message}`;
                if (process.env.REHEARSAL_DEBUG) console.error("FAILED", message);
                if (/no model for resource type/.test(message)) {
                    failRun(e);
                    throw e;
                }
                // As `pulumi up --continue-on-error`: the failure is reported, independent resources go on.
                result.failures.push(message);
                failed.add(`${args.type}::${args.name}`);
                return { id: `${args.name}-failed`, state: placeholderState(args.name, args.inputs) };
            }
        },
        async call(args) {
            result.calls.push({ token: args.token, inputs: args.inputs });
            switch (args.token) {
                case "aws:index/getCallerIdentity:getCallerIdentity": {
                    const account = await world.aws.callerAccount();
                    return { accountId: account, arn: `arn:aws:sts::${account}:assumed-role/admin/session`, userId: "AROAADMIN:session", id: account };
                }
                case "aws:index/getRegion:getRegion":
                    return { name: REGION, region: REGION, id: REGION };
                case "aws:index/getPartition:getPartition":
                    return { partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" };
                case "aws:ecr/getAuthorizationToken:getAuthorizationToken":
                    return world.aws.authorizationToken();
                case "aws:ecr/getImages:getImages":
                    return world.aws.listImages(args.inputs.repositoryName);
                case "aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider": {
                    const found = await world.aws.findOidcProvider(args.inputs.url ?? GITHUB_OIDC_URL);
                    if (found === undefined) {
                        // Read inside an Output, nothing catches it: the deployment fails, as `pulumi up` would.
                        const e = providerError("reading IAM OIDC Provider: no matching IAM OIDC provider found");
                        failRun(e);
                        throw e;
                    }
                    return { ...found, id: found.arn, tags: {} };
                }
                default:
                    throw new Error(`rehearsal world: no model for provider function ${args.token}`);
            }
        },
    };
    await pulumi.runtime.setMocks(mocks, PROJECT, stack, false);
    // Dependencies are on the registration request (explicit dependsOn and the resources whose Outputs its
    // inputs use), not on the mocks' arguments: read them there, and skip a resource whose dependency failed
    // or was skipped. A URN ends in `<type>::<name>` (the parent chain joined by `$` before the last type).
    const failed = new Set<string>();
    const skipped = new Map<string, string>();
    const keyOfUrn = (urn: string) => {
        const parts = urn.split("::");
        return `${parts[parts.length - 2].split("$").pop()}::${parts[parts.length - 1]}`;
    };
    const monitor = (pulumi.runtime as any).getMonitor();
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, cb: any) => {
        const deps: string[] = [...req.getDependenciesList()];
        req.getPropertydependenciesMap().forEach((d: any) => deps.push(...d.getUrnsList()));
        const bad = deps.map(keyOfUrn).find((k) => failed.has(k) || skipped.has(k));
        const key = `${req.getType()}::${req.getName()}`;
        if (bad !== undefined) {
            skipped.set(key, bad);
            failed.add(key);
        }
        return register(req, cb);
    };

    const scrubbed: Record<string, string | undefined> = {};
    for (const k of Object.keys(process.env)) if (/^(MLCI_|PULUMI_|AWS_|GITHUB_)/.test(k)) scrubbed[k] = process.env[k];
    for (const k of Object.keys(scrubbed)) delete process.env[k];
    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "mlci-rehearsal-"));
    process.env.MLCI_HASH_CACHE = path.join(cacheDir, "file-hashes.json");
    Object.assign(process.env, opts.env ?? {});
    try {
        const program: () => Promise<Record<string, any>> = require(path.join(PROJECT_ROOT, "index"));
        const raw = await Promise.race([program(), runFailed]);
        for (const [k, v] of Object.entries(raw)) result.outputs[k] = await Promise.race([new Promise((resolve) => pulumi.output(v).apply(resolve)), runFailed]);
        await Promise.race([require("@pulumi/pulumi/runtime/settings").waitForRPCs(), runFailed]);
    } finally {
        for (const k of Object.keys(opts.env ?? {})) delete process.env[k];
        delete process.env.MLCI_HASH_CACHE;
        for (const [k, v] of Object.entries(scrubbed)) if (v !== undefined) process.env[k] = v;
        fs.rmSync(cacheDir, { recursive: true, force: true });
    }

    // The checkpoint: every secret input (and secret config value) is encrypted with the stack's secrets provider.
    // A stack file without access.stateBackend still keeps its state in the project's one backend: the workflows'
    // PULUMI_BACKEND_URL is a single repository variable for every stack (docs/pipelines.md), so use the one another
    // stack file declares.
    const backend = file.config?.["mlci:access"]?.stateBackend ?? ["prod", "dev"].map((s) => stackFile(s).config?.["mlci:access"]?.stateBackend).find((b) => b?.type === "s3");
    const secrets: StateSecret[] = [];
    for (const r of stateResources) {
        for (const [key, value] of Object.entries(r.inputs)) {
            // A secret anywhere under the input (docker-build's registries[].password is a nested secret).
            if (!isSecretValue(value) && !JSON.stringify(value ?? null).includes("1b47061264138c4ac30d75fd1eb44270")) continue;
            secrets.push({ resource: `${r.type}::${r.name}`, key, credential: isCredential(r.type, key, value) });
        }
    }
    for (const k of secretKeys) secrets.push({ resource: "config", key: k, credential: true });
    if (backend?.type === "s3") {
        const key = `${backend.prefix ? `${backend.prefix}/` : ""}.pulumi/stacks/${PROJECT}/${stack}.json`;
        const checkpoint: Checkpoint = { stack, bucket: backend.bucket, key, secretsProvider: file.secretsprovider ?? "passphrase", secrets, resources: stateResources.map(({ type, name, physicalName }) => ({ type, name, physicalName })) };
        await world.aws.putObject(backend.bucket, key, JSON.stringify(checkpoint));
        result.checkpoint = checkpoint;
    }
    world.ups.set(stack, result);
    return result;
}

/**
 * The state of a resource that failed or was skipped, so the program's remaining Outputs still settle:
 * what the world would have computed, with nothing applied (dependents of it are skipped anyway).
 */
function placeholderState(name: string, inputs: Record<string, any>): Record<string, any> {
    const digest = `sha256:${createHash("sha256").update(`placeholder:${name}`).digest("hex")}`;
    return { ...inputs, arn: `arn:aws:failed:${REGION}:${ACCOUNT_ID}:${name}`, digest, ref: "", stdout: "", stderr: "", contextHash: digest.slice(7) };
}

/** Secret inputs that are long-lived credentials (a role ARN kept secret is an identifier, not a credential). */
function isCredential(type: string, key: string, value?: unknown): boolean {
    if (type.startsWith("pulumi:providers:")) return /token|password|secret|key/i.test(key);
    if (type === "aws:secretsmanager/secretVersion:SecretVersion") return true;
    // A registry login is a credential: a 12-hour ECR push token is all a pull request needs to overwrite images
    // (#27 review, finding 3): docker-build's registries[].password, a Command's MLCI_REGISTRY_AUTH.
    if ((type === "docker-build:index:Image" || type === "docker-build:index:Index") && key === "registries") return true;
    if (type === "command:local:Command" && key === "environment") return /"MLCI_REGISTRY_AUTH":/.test(JSON.stringify(plain(value)).replace(/"MLCI_REGISTRY_AUTH":""/, ""));
    return false;
}
