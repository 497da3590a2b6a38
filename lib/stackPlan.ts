/**
 * The one entry point the Pulumi program and the `ci-images` CLI share: raw stack config in,
 * validated config and tagged image graph out. Registers no resources.
 */
import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";
import { CONFIG_NAMESPACE, ConfigError, ConfigProblem } from "./config/problems";
import { CREDENTIAL_KEYS, SECRET_KEYS, StackConfig } from "./config/schema";
import { parseStackConfig, ParseOptions, RawConfig } from "./config/config";
import { FileHashCache } from "./images/contentHash";
import { accessConfigChecks } from "./access/accessChecks";
import { githubConfigProblems } from "./github/access";
import { defaultHashCachePath, expandImageGraph, tagImages, TaggedImage } from "./images/graph";
import { retentionConfigChecks } from "./registry/lifecyclePolicy";
import { registryProblems } from "./registry/documents";
import { builderConfigChecks } from "./images/buildPlan";
import { scanGateProblems } from "./registry/scanGate";

/** A validated stack: its config and its images, parents first. */
export interface StackPlan {
    config: StackConfig;
    images: TaggedImage[];
}

/** Cross-key checks contributed by the registry and access modules. */
export const STACK_CHECKS: ((config: StackConfig) => ConfigProblem[])[] = [
    retentionConfigChecks,
    accessConfigChecks,
    githubConfigProblems,
    builderConfigChecks,
    (c) => (c.registry.backend === "ecr" ? registryProblems(c.registry, { hasDockerHubAccessToken: c.secretsPresent.includes("dockerHubAccessToken"), region: c.region }) : []),
];

/** Options for {@link planStack}. */
export interface PlanOptions extends Omit<ParseOptions, "extraChecks"> {
    /** Use the on-disk per-file hash cache. @default true */
    useHashCache?: boolean;
    /** Where the per-file hash cache persists (outside any build context). @default `<projectRoot>/.cache/mlci/file-hashes.json` */
    hashCachePath?: string;
    /** Called when the hash cache cannot be saved (the plan is unaffected). @default the error is thrown */
    onHashCacheError?: (e: Error) => void;
}

/** Validates config, expands the image graph and computes every tag. */
export async function planStack(raw: RawConfig, opts: PlanOptions): Promise<StackPlan> {
    // The allowlist's expiry dates are checked against the same clock as the default rebuild epoch.
    const today = opts.now ?? new Date();
    const config = parseStackConfig(raw, { ...opts, extraChecks: [...STACK_CHECKS, (c) => scanGateProblems(c.promotion, today)] });
    const nodes = expandImageGraph(config);
    const cache = opts.useHashCache === false ? undefined : new FileHashCache(opts.hashCachePath ?? defaultHashCachePath(opts.projectRoot), undefined, opts.onHashCacheError);
    const images = await tagImages(nodes, config.rebuildEpoch, { cache });
    return { config, images };
}

/** Directory holding Pulumi.yaml, searching upwards from `start`. */
export function findProjectRoot(start: string = process.cwd()): string {
    let dir = path.resolve(start);
    for (;;) {
        if (fs.existsSync(path.join(dir, "Pulumi.yaml"))) return dir;
        const up = path.dirname(dir);
        if (up === dir) throw new Error(`no Pulumi.yaml found in ${start} or above: run ci-images from the ml-ci-images project`);
        dir = up;
    }
}

/**
 * Reads the `mlci:*` keys of `Pulumi.<stack>.yaml` as Pulumi would hand them to the program
 * (namespace stripped). Secure values are skipped: the offline CLI never needs secrets.
 */
export function readStackConfigFile(projectRoot: string, stack: string): RawConfig {
    return rawConfigFromEntries(readStackFileEntries(projectRoot, stack));
}

/** Every config entry of `Pulumi.<stack>.yaml` (all namespaces, secure values as `{ secure }`). */
export function readStackFileEntries(projectRoot: string, stack: string): Record<string, unknown> {
    const file = path.join(projectRoot, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) {
        const stacks = fs.readdirSync(projectRoot).filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f)).map((f) => f.slice(7, -5));
        throw new ConfigError([{ path: "(stack)", message: `no stack file Pulumi.${stack}.yaml`, fix: `use one of: ${stacks.join(", ")}` }]);
    }
    return ((YAML.parse(fs.readFileSync(file, "utf8")) ?? {}).config ?? {}) as Record<string, unknown>;
}

/**
 * Plans a stack from its stack file, as the offline CLI does: the stack's region and plaintext
 * credentials are checked as the program checks them (a github:token in the stack file is refused); the GITHUB_TOKEN
 * environment variable is not (CI may not hold it).
 */
export async function planStackFile(projectRoot: string, stack: string, opts: Omit<PlanOptions, "projectRoot" | "credentials" | "region"> = {}): Promise<StackPlan> {
    const entries = readStackFileEntries(projectRoot, stack);
    const region = typeof entries["aws:region"] === "string" ? entries["aws:region"] : undefined;
    return planStack(rawConfigFromEntries(entries), { ...opts, projectRoot, region, credentials: { githubToken: true, githubTokenInConfig: entries["github:token"] !== undefined, plaintext: plaintextCredentialKeys(entries, (_key, value) => isSecureValue(value)) } });
}

/**
 * The `mlci:*` entries of a config map (stack YAML values, or the engine's all-config strings),
 * namespace stripped and decoded as `pulumi.Config.getObject` would (JSON strings parsed).
 * Secret values are never decrypted or parsed here: only their presence matters to validation.
 */
export function rawConfigFromEntries(entries: Record<string, unknown>): RawConfig {
    const out: RawConfig = {};
    for (const [key, value] of Object.entries(entries)) {
        if (!key.startsWith(`${CONFIG_NAMESPACE}:`)) continue;
        const short = key.slice(CONFIG_NAMESPACE.length + 1);
        const isSecure = (value !== null && typeof value === "object" && "secure" in value) || (SECRET_KEYS as readonly string[]).includes(short);
        out[short] = isSecure ? "(secret)" : typeof value === "string" ? parseJsonOrString(value) : value;
    }
    return out;
}

function parseJsonOrString(value: string): unknown {
    try {
        return JSON.parse(value);
    } catch {
        return value;
    }
}

/** True for a stack-file value written by `pulumi config set --secret` (`{ secure: "v1:…" }`). */
export function isSecureValue(value: unknown): boolean {
    return value !== null && typeof value === "object" && !Array.isArray(value) && typeof (value as { secure?: unknown }).secure === "string";
}

/** The credential keys of {@link CREDENTIAL_KEYS} that are present but not secret. */
export function plaintextCredentialKeys(entries: Record<string, unknown>, isSecret: (key: string, value: unknown) => boolean): string[] {
    return CREDENTIAL_KEYS.filter((key) => entries[key] !== undefined && !isSecret(key, entries[key]));
}
