/**
 * Mocks harness: runs the real program (index.ts) for a stack config file under Pulumi's
 * unit-test mocks, records every registered resource with its inputs and options, and
 * answers the provider functions the program calls with realistic state.
 */
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as os from "os";
import YAML from "yaml";
import { EcrModel } from "./ecrModel";
import { IamModel } from "./iamModel";
import { GithubModel } from "./githubModel";
import { FakeRegistry } from "./fakeRegistry";
import { localRegistryHooks } from "../components/registry/localRegistryClient";

export const ACCOUNT_ID = "123456789012";
export const REGION = "us-east-1";
export const REGISTRY = `${ACCOUNT_ID}.dkr.ecr.${REGION}.amazonaws.com`;
export const PROJECT_ROOT = path.resolve(__dirname, "..");

/** One registered resource as the engine saw it. */
export interface RecordedResource {
    type: string;
    name: string;
    urn: string;
    inputs: Record<string, any>;
    /** Resource options read off the registration request. */
    protect: boolean;
    retainOnDelete: boolean;
    /** Input properties the engine keeps from state on later updates. */
    ignoreChanges: string[];
    parentUrn: string;
    dependencies: string[];
    custom: boolean;
}

/** One provider function call. */
export interface RecordedCall {
    token: string;
    inputs: Record<string, any>;
}

/** What a test controls about the world the program runs in. */
export interface RunOptions {
    /** Stack name; its Pulumi.<stack>.yaml is loaded unless `configYaml` is given. @default "dev" */
    stack?: string;
    /** Stack YAML text to use instead of the stack file. */
    configYaml?: string;
    /** Deep-merged over the stack file's `mlci:*` values, e.g. `{ build: { push: false } }`. */
    overrides?: Record<string, unknown>;
    /** Extra raw config keys (full keys, e.g. `github:token`), string values. */
    extraConfig?: Record<string, string>;
    /** Config keys to mark secret. */
    secretKeys?: string[];
    /** Images already in the registry: `<repository>:<tag>` → digest. */
    registryImages?: Record<string, string>;
    /** Repositories that exist in the registry (for getImage's RepositoryNotFound). @default those named in registryImages */
    existingRepositories?: string[];
    /**
     * GITHUB_TOKEN of a stack whose `mlci:github.enabled` is true (the provider reads it from the environment); `null`:
     * none (to test the missing-token error). Ignored when `env` sets GITHUB_TOKEN. @default DEFAULT_GITHUB_TOKEN
     */
    githubToken?: string | null;
    /** Run as `pulumi preview`. @default false */
    preview?: boolean;
    /** Environment overrides the program reads (MLCI_*); restored afterwards. The shell's MLCI_*, PULUMI_* and AWS_* are scrubbed first. */
    env?: Record<string, string | undefined>;
    /** The ECR world (images, immutability, injected failures, call counts). @default built from registryImages/existingRepositories */
    ecr?: EcrModel;
    /** The ECR login token `getAuthorizationToken` answers (it rotates every real run). @default "ecr-token-abc123" */
    ecrToken?: string;
    /** The local registry the program's lookups and retags reach (in memory, no port). @default an empty one */
    localRegistry?: FakeRegistry;
    /** The program module to run (a copy of the project at another path). @default the project's index.ts */
    programPath?: string;
    /**
     * The account's IAM world (OIDC providers). Given: a provider create is applied to it (a second one fails with
     * EntityAlreadyExists). @default an account where the GitHub provider already exists and creates are not checked
     */
    iam?: IamModel;
    /** The GitHub organisation (environments must exist before their values; an existing repository variable answers 409). @default an empty one */
    github?: GithubModel;
}

/** The outcome of one program run. */
export interface RunResult {
    resources: RecordedResource[];
    calls: RecordedCall[];
    outputs: Record<string, any>;
    /** The outputs before unwrapping, for secrecy checks. */
    rawOutputs: Record<string, pulumi.Output<any> | any>;
    byType(type: string): RecordedResource[];
    one(type: string, name: string): RecordedResource;
    /** The ECR world after the run (pushes and retags applied, call counts). */
    ecr: EcrModel;
    /** The local registry after the run. */
    localRegistry: FakeRegistry;
    /** The GitHub organisation after the run (environments created, variables written). */
    github: GithubModel;
}

const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** True when a recorded input value arrived as a Pulumi secret. */
export function isSecretInput(v: unknown): boolean {
    return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SECRET_SIG] === "1b47061264138c4ac30d75fd1eb44270";
}

/** A recorded input value with Pulumi secret wrappers removed (deeply). */
export function plain(v: any): any {
    if (isSecretInput(v)) return plain(v.value);
    if (Array.isArray(v)) return v.map(plain);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
    return v;
}

/** Deterministic fake digest for a pushed image. */
export function fakeDigest(seed: string): string {
    return `sha256:${createHash("sha256").update(seed).digest("hex")}`;
}

function deepMerge(base: any, over: any): any {
    if (over === null || typeof over !== "object" || Array.isArray(over) || base === null || typeof base !== "object" || Array.isArray(base)) return over;
    const out = { ...base };
    for (const [k, v] of Object.entries(over)) out[k] = k in base ? deepMerge(base[k], v) : v;
    return out;
}

/** Resolves an Output (or plain value, deeply) to a Promise for assertions outside apply. */
export function unwrap<T>(value: pulumi.Input<T> | any): Promise<any> {
    return new Promise((resolve) => pulumi.output(value).apply((v) => resolve(v)));
}

/** True when the Output is marked secret. */
export async function isSecret(value: unknown): Promise<boolean> {
    return pulumi.Output.isInstance(value) ? await (value as any).isSecret : false;
}

function stateFor(type: string, name: string, inputs: Record<string, any>): { id: string; state: Record<string, any> } {
    switch (type) {
        case "aws:ecr/repository:Repository": {
            const repoName = inputs.name ?? name;
            return { id: repoName, state: { ...inputs, name: repoName, arn: `arn:aws:ecr:${REGION}:${ACCOUNT_ID}:repository/${repoName}`, registryId: ACCOUNT_ID, repositoryUrl: `${REGISTRY}/${repoName}` } };
        }
        case "aws:iam/role:Role": {
            const n = inputs.name ?? `${name}-a1b2c3d`;
            return { id: n, state: { ...inputs, name: n, arn: `arn:aws:iam::${ACCOUNT_ID}:role${inputs.path ?? "/"}${n}`, uniqueId: `AROA${createHash("md5").update(n).digest("hex").slice(0, 17).toUpperCase()}` } };
        }
        case "aws:iam/policy:Policy": {
            const n = inputs.name ?? `${name}-a1b2c3d`;
            const arn = `arn:aws:iam::${ACCOUNT_ID}:policy${inputs.path ?? "/"}${n}`;
            return { id: arn, state: { ...inputs, name: n, arn } };
        }
        case "aws:iam/instanceProfile:InstanceProfile": {
            const n = inputs.name ?? `${name}-a1b2c3d`;
            return { id: n, state: { ...inputs, name: n, arn: `arn:aws:iam::${ACCOUNT_ID}:instance-profile${inputs.path ?? "/"}${n}` } };
        }
        case "aws:iam/openIdConnectProvider:OpenIdConnectProvider": {
            const arn = `arn:aws:iam::${ACCOUNT_ID}:oidc-provider/${String(inputs.url ?? "").replace(/^https:\/\//, "")}`;
            return { id: arn, state: { ...inputs, arn } };
        }
        case "aws:secretsmanager/secret:Secret": {
            const n = inputs.name ?? name;
            const arn = `arn:aws:secretsmanager:${REGION}:${ACCOUNT_ID}:secret:${n}-AbCdEf`;
            return { id: arn, state: { ...inputs, name: n, arn } };
        }
        case "docker-build:index:Image": {
            const tags: string[] = inputs.tags ?? [];
            // A per-platform build pushed by digest has no tags: its platform tells it apart.
            const digest = fakeDigest(JSON.stringify([tags, inputs.buildArgs ?? {}, ...(tags.length === 0 ? [inputs.platforms ?? []] : [])]));
            return { id: `${name}-build`, state: { ...inputs, digest, ref: tags.length ? `${tags[0]}@${digest}` : "", contextHash: fakeDigest(`context:${name}`).slice(7) } };
        }
        case "docker-build:index:Index": {
            const digest = fakeDigest(JSON.stringify(inputs.sources ?? []));
            return { id: `${name}-index`, state: { ...inputs, ref: `${inputs.tag}@${digest}` } };
        }
        case "docker:index/remoteImage:RemoteImage":
            return { id: `${inputs.name}-id`, state: { ...inputs, imageId: `sha256:${createHash("sha256").update(inputs.name ?? name).digest("hex")}`, repoDigest: `${inputs.name}@${fakeDigest(inputs.name ?? name)}` } };
        case "docker:index/container:Container":
            return { id: createHash("sha256").update(name).digest("hex"), state: { ...inputs, exitCode: null } };
        case "command:local:Command": {
            // docker/test_image.sh's real line shapes: one size line per platform, then the summary.
            const smoke = typeof inputs.create === "string" && inputs.create.includes("docker/test_image.sh");
            const stdout = smoke
                ? ["image: (mock)", "PASS size linux/amd64: compressed 4.20 GB <= budget 10 GB (uncompressed 11.03 GB)", "PASS python: 3.12", "SUMMARY: 2 passed, 0 failed"].join("\n")
                : "PASS all checks";
            return { id: `${name}-cmd`, state: { ...inputs, stdout, stderr: "" } };
        }
        default:
            return { id: `${name}-id`, state: { ...inputs, arn: inputs.arn ?? `arn:aws:mock:${REGION}:${ACCOUNT_ID}:${type.split(":").pop()}/${name}` } };
    }
}

/**
 * What a registration does to the ECR world when it is created (update phase only): a repository
 * declares its tag mutability, a pushed docker-build Image puts its tags on its digest, and the
 * promotion Command (`ci-images retag <repository-url>@<digest> <tag>…`) retags that digest. A
 * move of an immutable tag fails with ECR's text, as the real push or retag would.
 */
function applyToRegistries(ecr: EcrModel, type: string, inputs: Record<string, any>, state: Record<string, any>): void {
    if (type === "aws:ecr/repository:Repository" && typeof inputs.name === "string") {
        ecr.configureRepository(inputs.name, inputs.imageTagMutability, inputs.imageTagMutabilityExclusionFilters, inputs.imageScanningConfiguration?.scanOnPush);
        return;
    }
    if (type === "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration") {
        // PutRegistryScanningConfiguration replaces the account's rules.
        ecr.registryScanningRules = inputs.rules ?? [];
        return;
    }
    const ecrRef = (ref: string) => (ref.startsWith(`${REGISTRY}/`) ? ref.slice(REGISTRY.length + 1) : undefined);
    if (type === "docker-build:index:Image" && inputs.push === true) {
        for (const t of (inputs.tags ?? []) as string[]) {
            const r = ecrRef(t);
            if (r === undefined) continue;
            const i = r.lastIndexOf(":");
            ecr.putTags(r.slice(0, i), state.digest, [r.slice(i + 1)]);
        }
        return;
    }
    if (type === "docker-build:index:Index" && inputs.push === true && typeof inputs.tag === "string") {
        // An index joining per-platform builds is pushed under its tag (components/images/builders.ts).
        const r = ecrRef(inputs.tag);
        const i = r?.lastIndexOf(":") ?? -1;
        if (r !== undefined) ecr.putTags(r.slice(0, i), String(state.ref).split("@")[1], [r.slice(i + 1)]);
        return;
    }
    if (type === "command:local:Command" && typeof inputs.create === "string") {
        const m = /ci-images retag (\S+)@(sha256:[0-9a-f]{64})((?: [^\s;&|]+)+)/.exec(inputs.create);
        const r = m ? ecrRef(m[1]) : undefined;
        if (m && r !== undefined) ecr.putTags(r, m[2], m[3].trim().split(/\s+/));
    }
}

/**
 * Wraps the current mock monitor (call right after `setMocks`) so every registration is pushed
 * to `into` with its inputs and the options the engine would see (protect, retainOnDelete, parent, dependencies).
 */
export function recordRegistrations(into: RecordedResource[]): void {
    const monitor = (pulumi.runtime as any).getMonitor();
    const original = monitor.registerResource.bind(monitor);
    const { deserializeProperties } = require("@pulumi/pulumi/runtime/rpc");
    monitor.registerResource = (req: any, cb: any) =>
        original(req, (err: any, res: any) => {
            if (!err) {
                into.push({
                    type: req.getType(),
                    name: req.getName(),
                    urn: res.getUrn(),
                    inputs: deserializeProperties(req.getObject()),
                    protect: req.getProtect?.() ?? false,
                    retainOnDelete: req.getRetainondelete?.() ?? false,
                    ignoreChanges: req.getIgnorechangesList?.() ?? [],
                    parentUrn: req.getParent(),
                    dependencies: req.getDependenciesList(),
                    custom: req.getCustom(),
                });
            }
            cb(err, res);
        });
}

/** The program's per-file hash cache for this test process: a temp dir, removed at exit. */
const HASH_CACHE_DIR = fs.mkdtempSync(path.join(os.tmpdir(), "mlci-harness-hashcache-"));
const HASH_CACHE_FILE = path.join(HASH_CACHE_DIR, "file-hashes.json");
process.once("exit", () => fs.rmSync(HASH_CACHE_DIR, { recursive: true, force: true }));

/** Runs index.ts for a stack under mocks and returns what it registered and exported. */
export async function runProgram(opts: RunOptions = {}): Promise<RunResult> {
    // Hermetic: the shell's MLCI_*, PULUMI_* and AWS_* never reach the program (restored afterwards).
    const scrubbed: Record<string, string> = {};
    for (const k of Object.keys(process.env)) {
        if (/^(MLCI_|PULUMI_|AWS_)/.test(k)) {
            scrubbed[k] = process.env[k]!;
            delete process.env[k];
        }
    }
    // The program's hash cache goes to a temp dir, never into the working tree.
    process.env.MLCI_HASH_CACHE = HASH_CACHE_FILE;
    const savedFetch = localRegistryHooks.fetch;
    try {
        return await runScrubbed(opts);
    } finally {
        delete process.env.MLCI_HASH_CACHE;
        Object.assign(process.env, scrubbed);
        localRegistryHooks.fetch = savedFetch;
    }
}

/** The GITHUB_TOKEN a run gets when its stack enables GitHub and the test names no token. */
export const DEFAULT_GITHUB_TOKEN = "ghp_harness_default_token";

/** Whether a raw `mlci:github` config value (JSON text) turns the GitHub wiring on. */
function githubEnabled(raw: string | undefined): boolean {
    if (raw === undefined) return false;
    try {
        return (JSON.parse(raw) as { enabled?: unknown })?.enabled === true;
    } catch {
        return false;
    }
}

async function runScrubbed(opts: RunOptions): Promise<RunResult> {
    const stack = opts.stack ?? "dev";
    const text = opts.configYaml ?? fs.readFileSync(path.join(PROJECT_ROOT, `Pulumi.${stack}.yaml`), "utf8");
    const doc = YAML.parse(text) ?? {};
    const config: Record<string, string> = {};
    const secretKeys = [...(opts.secretKeys ?? [])];
    for (const [k, v] of Object.entries((doc.config ?? {}) as Record<string, unknown>)) {
        // As the engine does: a `{ secure: … }` value reaches the program decrypted, its key marked secret.
        if (v !== null && typeof v === "object" && typeof (v as { secure?: unknown }).secure === "string") {
            config[k] = `decrypted(${(v as { secure: string }).secure})`;
            secretKeys.push(k);
            continue;
        }
        const short = k.startsWith("mlci:") ? k.slice(5) : undefined;
        const value = short !== undefined && opts.overrides && short in opts.overrides ? deepMerge(v, opts.overrides[short]) : v;
        config[k] = typeof value === "string" ? value : JSON.stringify(value);
    }
    for (const [k, v] of Object.entries(opts.overrides ?? {})) if (!(`mlci:${k}` in config)) config[`mlci:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
    Object.assign(config, opts.extraConfig ?? {});
    // A stack that enables GitHub gets GITHUB_TOKEN in its environment, as the weekly job's App token step gives
    // it, unless the test gives one itself (env GITHUB_TOKEN) or asks for none (githubToken: null).
    const githubToken = opts.githubToken === undefined ? DEFAULT_GITHUB_TOKEN : opts.githubToken;
    const env: Record<string, string | undefined> = { ...(opts.env ?? {}) };
    if (githubToken !== null && githubEnabled(config["mlci:github"]) && env.GITHUB_TOKEN === undefined) env.GITHUB_TOKEN = githubToken;
    if (githubToken === null && !("GITHUB_TOKEN" in env)) env.GITHUB_TOKEN = undefined;
    pulumi.runtime.setAllConfig(config, secretKeys);

    const resources: RecordedResource[] = [];
    const calls: RecordedCall[] = [];
    const ecr = opts.ecr ?? EcrModel.fromTagMap(opts.registryImages ?? {}, opts.existingRepositories);
    const localRegistry = opts.localRegistry ?? new FakeRegistry();
    localRegistryHooks.fetch = localRegistry.fetch;
    const preview = opts.preview ?? false;
    const iam = opts.iam ?? new IamModel(ACCOUNT_ID, ["https://token.actions.githubusercontent.com"]);
    const github = opts.github ?? new GithubModel();
    // A failed registration (e.g. a push onto an immutable tag) fails the run, as `pulumi up` would.
    let failRegistration: (e: unknown) => void = () => undefined;
    const registrationFailed = new Promise<never>((_, reject) => (failRegistration = reject));
    registrationFailed.catch(() => undefined);
    const mocks: pulumi.runtime.Mocks = {
        newResource(args) {
            const result = stateFor(args.type, args.name, args.inputs);
            try {
                if (!preview) applyToRegistries(ecr, args.type, args.inputs, result.state);
                if (!preview && opts.iam && args.type === "aws:iam/openIdConnectProvider:OpenIdConnectProvider") opts.iam.createOidcProvider(args.inputs.url);
                if (!preview) github.apply(args.type, args.inputs);
            } catch (e) {
                failRegistration(e);
                throw e;
            }
            return result;
        },
        call(args) {
            calls.push({ token: args.token, inputs: args.inputs });
            switch (args.token) {
                case "aws:index/getCallerIdentity:getCallerIdentity":
                    return { accountId: ACCOUNT_ID, arn: `arn:aws:sts::${ACCOUNT_ID}:assumed-role/deployer/session`, userId: "AROAEXAMPLE:session", id: ACCOUNT_ID };
                case "aws:index/getRegion:getRegion":
                    return { name: REGION, region: REGION, id: REGION, endpoint: `ec2.${REGION}.amazonaws.com`, description: "US East (N. Virginia)" };
                case "aws:index/getPartition:getPartition":
                    return { partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" };
                case "aws:ecr/getAuthorizationToken:getAuthorizationToken":
                    return { userName: "AWS", password: opts.ecrToken ?? "ecr-token-abc123", authorizationToken: Buffer.from(`AWS:${opts.ecrToken ?? "ecr-token-abc123"}`).toString("base64"), proxyEndpoint: `https://${REGISTRY}`, expiresAt: "2026-11-23T21:00:00Z", id: ACCOUNT_ID };
                case "aws:ecr/getImage:getImage":
                    return ecr.getImage(args.inputs as { repositoryName: string; imageTag?: string });
                case "aws:ecr/getImages:getImages":
                    return ecr.getImages(args.inputs as { repositoryName: string });
                case "aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider":
                    try {
                        return iam.getOpenIdConnectProvider(args.inputs as { url?: string; arn?: string });
                    } catch (e) {
                        // Read inside an Output, nothing catches it: the deployment fails, as `pulumi up` would.
                        failRegistration(e);
                        throw e;
                    }
                default:
                    throw new Error(`harness: unmocked call ${args.token}`);
            }
        },
    };
    await pulumi.runtime.setMocks(mocks, "ml-ci-images", stack, opts.preview ?? false);
    recordRegistrations(resources);

    const savedEnv: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(env)) {
        savedEnv[k] = process.env[k];
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
    }
    try {
        const program: () => Promise<Record<string, any>> = require(opts.programPath ?? "../index");
        const rawOutputs = await Promise.race([program(), registrationFailed]);
        const outputs: Record<string, any> = {};
        for (const [k, v] of Object.entries(rawOutputs)) outputs[k] = await Promise.race([unwrap(v), registrationFailed]);
        await require("@pulumi/pulumi/runtime/settings").waitForRPCs();
        return {
            resources,
            calls,
            outputs,
            rawOutputs,
            ecr,
            localRegistry,
            github,
            byType: (type) => resources.filter((r) => r.type === type),
            one(type, name) {
                const found = resources.filter((r) => r.type === type && r.name === name);
                if (found.length !== 1) throw new Error(`expected one ${type} named ${name}, found ${found.length}; registered: ${resources.map((r) => r.urn).join(", ")}`);
                return found[0];
            },
        };
    } finally {
        for (const [k, v] of Object.entries(savedEnv)) {
            if (v === undefined) delete process.env[k];
            else process.env[k] = v;
        }
    }
}

/** Runs the program expecting it to throw; returns the error and what was registered first. */
export async function runProgramExpectingError(opts: RunOptions = {}): Promise<{ error: Error; resources: RecordedResource[] }> {
    const resources: RecordedResource[] = [];
    try {
        const r = await runProgram(opts);
        resources.push(...r.resources);
    } catch (error) {
        // Outputs waiting on the failed resource never settle: wait for the rest only briefly.
        await Promise.race([require("@pulumi/pulumi/runtime/settings").waitForRPCs().catch(() => undefined), new Promise((r) => setTimeout(r, 1000))]);
        const monitor = (pulumi.runtime as any).getMonitor();
        const registered = [...monitor.getRegisteredResources().values()] as { urn: string }[];
        return { error: error as Error, resources: registered.map((r) => ({ urn: r.urn }) as RecordedResource) };
    }
    throw new Error(`expected the program to fail, but it registered ${resources.length} resources`);
}
