/**
 * Stack config for ml-ci-images, validated once: the schema (schema.ts), then the semantic checks
 * (checks.ts), every problem in the one format (problems.ts). Shared by the Pulumi program and the
 * offline `ci-images` CLI; registers no resources and reads no environment (callers pass it in).
 */
import { CredentialFacts, checkGithubAndBackend, checkParents, credentialProblems, resolveFamilies } from "./checks";
import { CONFIG_NAMESPACE, ConfigError, ConfigProblem, closest } from "./problems";
import { ResolvedFamily, SECRET_KEYS, SECTION_SCHEMAS, Sections, StackConfig, zodProblems } from "./schema";
import { z } from "zod";

/** Inputs to {@link parseStackConfig} besides the raw values. */
export interface ParseOptions {
    /** Directory that holds Pulumi.yaml; Dockerfile paths are relative to it. */
    projectRoot: string;
    /** Environment overrides: MLCI_REBUILD_EPOCH, MLCI_FORCE_REBUILD (the caller passes its environment). @default {} */
    env?: Record<string, string | undefined>;
    /** Credentials as the composition root found them; undefined skips the checks. */
    credentials?: CredentialFacts;
    /** The stack's AWS region (`aws:region`), when known. */
    region?: string;
    /** Clock for the default rebuild epoch. @default new Date() */
    now?: Date;
    /**
     * Checks contributed by other modules whose problems make every later check meaningless (the
     * build matrix: its cells are what retention, builders and GitHub limits count): run first, and
     * their problems are reported alone.
     */
    gateChecks?: ((config: StackConfig) => ConfigProblem[])[];
    /** Extra cross-key checks contributed by other modules (retention, access…). */
    extraChecks?: ((config: StackConfig) => ConfigProblem[])[];
}

/** Raw config: the `mlci:*` keys (namespace stripped) with JSON-parsed values. */
export type RawConfig = Record<string, unknown>;
/** Most recent Sunday (UTC) on or before `now`, as YYYY-MM-DD: the weekly rebuild bucket. */
export function defaultRebuildEpoch(now: Date): string {
    const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
    d.setUTCDate(d.getUTCDate() - d.getUTCDay());
    return d.toISOString().slice(0, 10);
}

/** Overlays MLCI_REBUILD_EPOCH / MLCI_FORCE_REBUILD from the environment onto raw build config. */
function applyEnvOverrides(raw: RawConfig, env: Record<string, string | undefined>): RawConfig {
    const build = { ...((raw.build as Record<string, unknown> | undefined) ?? {}) };
    if (env.MLCI_REBUILD_EPOCH) build.rebuildEpoch = env.MLCI_REBUILD_EPOCH;
    const force = env.MLCI_FORCE_REBUILD?.trim();
    if (force) build.forceRebuild = force === "all" || force === "true" ? true : force === "false" ? false : force.split(",").map((s) => s.trim()).filter(Boolean);
    return { ...raw, build };
}

/**
 * Validates the raw `mlci:*` config of a stack and resolves defaults and paths.
 * Throws {@link ConfigError} listing every problem; touches only the filesystem.
 */
export function parseStackConfig(rawConfig: RawConfig, opts: ParseOptions): StackConfig {
    const problems: ConfigProblem[] = [];
    const raw = applyEnvOverrides(rawConfig, opts.env ?? {});
    const known = new Set<string>([...Object.keys(SECTION_SCHEMAS), ...SECRET_KEYS]);
    for (const key of Object.keys(raw)) {
        if (!known.has(key)) {
            const hint = closest(key, [...known]);
            problems.push({ path: key, message: `unknown config key${hint ? ` (did you mean ${CONFIG_NAMESPACE}:${hint}?)` : ""}`, fix: `remove it; known keys are ${[...known].map((k) => `${CONFIG_NAMESPACE}:${k}`).join(", ")}` });
        }
    }
    const parsed: Partial<Sections> = {};
    for (const [key, schema] of Object.entries(SECTION_SCHEMAS)) {
        const value = raw[key] ?? (key === "families" || key === "matrix" ? undefined : {});
        if (value === undefined) {
            problems.push({ path: key, message: "is required", fix: `set ${CONFIG_NAMESPACE}:${key} in Pulumi.<stack>.yaml (see docs/config.md)` });
            continue;
        }
        const result = (schema as z.ZodType).safeParse(value);
        if (result.success) (parsed as Record<string, unknown>)[key] = result.data;
        else problems.push(...zodProblems(key, result.error, value));
    }
    let families: ResolvedFamily[] | undefined;
    if (parsed.families) families = resolveFamilies(parsed.families, opts.projectRoot, problems);
    if (families) checkParents(families, problems);
    if (problems.length > 0 || !families) throw new ConfigError(problems);

    const config: StackConfig = {
        projectRoot: opts.projectRoot,
        families,
        matrix: parsed.matrix!,
        registry: parsed.registry!,
        build: parsed.build!,
        promotion: parsed.promotion!,
        access: parsed.access!,
        github: parsed.github!,
        rebuildEpoch: parsed.build!.rebuildEpoch ?? defaultRebuildEpoch(opts.now ?? new Date()),
        secretsPresent: SECRET_KEYS.filter((k) => raw[k] !== undefined),
        region: opts.region,
    };
    for (const check of opts.gateChecks ?? []) problems.push(...check(config));
    if (problems.length > 0) throw new ConfigError(problems);
    checkGithubAndBackend(config, problems);
    problems.push(...credentialProblems(config, opts.credentials));
    for (const check of opts.extraChecks ?? []) problems.push(...check(config));
    if (problems.length > 0) throw new ConfigError(problems);
    return config;
}
