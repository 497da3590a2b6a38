/**
 * `ci-images storage --stack S [--weeks N] [--from outputs.json] [--json]`: the storage and cost
 * forecast of a stack (lib/registry/storageForecast.ts) — steady-state GB per repository and the
 * monthly ECR storage cost — and the budget check `ci-images check` runs.
 */
import * as fs from "fs";
import type { ConfigProblem } from "../../lib/config/problems";
import type { StackConfig } from "../../lib/config/schema";
import { defaultRebuildEpoch } from "../../lib/config/config";
import { CliError, CommandContext, UsageError } from "../context";
import { forecastFamiliesFromStack, forecastStorage, StorageForecast, storageBudgetProblems } from "../../lib/registry/storageForecast";
import type { RepositoryMeasurement } from "../../lib/registry/layerStorage";

/** Options of {@link storageForecastFor}. */
export interface StorageOptions {
    /** Weeks to replay; undefined = until the steady state (52 to 208). */
    weeks?: number;
    /** Compressed GB per platform, by family, measured in the registry. */
    measuredGb?: Record<string, number>;
    /** GB a root family's builds of one cell share (its upstream layers), measured in the registry. */
    measuredSharedGb?: Record<string, number>;
    /** GB a family's `cache-<cell>` ref stores beyond its images (mode=max build stages), measured in the registry. */
    measuredCacheStagesGb?: Record<string, number>;
    /** Clock: the replay starts on the rebuild epoch (Sunday) on or before it. */
    now?: Date;
}

/** The forecast of a parsed stack. */
export function storageForecastFor(config: StackConfig, opts: StorageOptions = {}): StorageForecast {
    return forecastStorage(forecastFamiliesFromStack(config, opts.measuredGb, opts.measuredSharedGb, opts.measuredCacheStagesGb), { start: defaultRebuildEpoch(opts.now ?? new Date()), weeks: opts.weeks });
}

/** Where `check` reads a stack's recorded registry measurements (written by `storage --measure --write-measurements`). */
export const MEASUREMENTS_DIR = "storage-measurements";

/** A stack's measurements as recorded: per family, compressed GB per platform and the shared / cache-only GB. */
export interface StorageMeasurements {
    stack: string;
    /** ISO time of the measurement. */
    measuredAt: string;
    families: Record<string, { sizeGb: number; sharedGb?: number; cacheStagesGb?: number }>;
}

/** The forecast options a recorded measurement gives (empty for none). */
export function measurementOptions(m: StorageMeasurements | undefined): Pick<StorageOptions, "measuredGb" | "measuredSharedGb" | "measuredCacheStagesGb"> {
    const measuredGb: Record<string, number> = {};
    const measuredSharedGb: Record<string, number> = {};
    const measuredCacheStagesGb: Record<string, number> = {};
    for (const [family, f] of Object.entries(m?.families ?? {})) {
        measuredGb[family] = f.sizeGb;
        if (f.sharedGb !== undefined) measuredSharedGb[family] = f.sharedGb;
        if (f.cacheStagesGb !== undefined) measuredCacheStagesGb[family] = f.cacheStagesGb;
    }
    return { measuredGb, measuredSharedGb, measuredCacheStagesGb };
}

/** Reads `storage-measurements/<stack>.json` under the project root; undefined when there is none. */
export function readStackMeasurements(root: string, stack: string): StorageMeasurements | undefined {
    const file = require("path").join(root, MEASUREMENTS_DIR, `${stack}.json`) as string;
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw new CliError(`cannot read ${MEASUREMENTS_DIR}/${stack}.json: ${(e as Error).message}`);
    }
    let m: StorageMeasurements;
    try {
        m = JSON.parse(text) as StorageMeasurements;
    } catch (e) {
        throw new CliError(`${MEASUREMENTS_DIR}/${stack}.json is not JSON: ${(e as Error).message}. Fix: regenerate it with npx ci-images storage --measure --stack ${stack} --write-measurements ${MEASUREMENTS_DIR}/${stack}.json`);
    }
    const bad = Object.entries(m.families ?? {}).find(([, f]) => typeof f?.sizeGb !== "number" || !(f.sizeGb > 0));
    if (m.families === undefined || bad) throw new CliError(`${MEASUREMENTS_DIR}/${stack}.json: ${bad ? `families.${bad[0]}.sizeGb must be a positive number` : "has no families"}. Fix: regenerate it with npx ci-images storage --measure --stack ${stack} --write-measurements ${MEASUREMENTS_DIR}/${stack}.json`);
    return m;
}

/** The budget problems `ci-images check` reports: none without `registry.storageBudgetGb` or on the local backend. */
export function storageCheckProblems(config: StackConfig, opts: StorageOptions = {}): ConfigProblem[] {
    if (config.registry.backend !== "ecr" || config.registry.storageBudgetGb === undefined) return [];
    return storageBudgetProblems(storageForecastFor(config, opts), config.registry.storageBudgetGb);
}

/**
 * Measured sizes from `pulumi stack output --json`: each image's `sizeBytes` (compressed, all
 * platforms), divided by the family's platform count; the largest image of a family counts.
 */
export function measuredGbFromOutputs(outputsJson: string, config: Pick<StackConfig, "families">): Record<string, number> {
    const outputs = JSON.parse(outputsJson) as { images?: Record<string, { family?: string; sizeBytes?: number | null }> };
    const platforms = new Map(config.families.map((f) => [f.name, f.platforms.length]));
    const out: Record<string, number> = {};
    for (const image of Object.values(outputs.images ?? {})) {
        if (typeof image.family !== "string" || typeof image.sizeBytes !== "number" || !platforms.has(image.family)) continue;
        const gb = image.sizeBytes / 1e9 / platforms.get(image.family)!;
        out[image.family] = Math.max(out[image.family] ?? 0, Math.round(gb * 1000) / 1000);
    }
    return out;
}

/** The forecast as a table for people. */
export function storageTable(stack: string, forecast: StorageForecast, budgetGb: number | undefined): string {
    const rows = forecast.repositories.map((r) => [
        r.repository,
        `${r.sizeGb} GB (${r.sizeSource})`,
        r.steadyStateGb.toFixed(1),
        r.averageGb.toFixed(1),
        String(r.manifests),
        `$${r.monthlyCostUsd.toFixed(2)}${r.growing ? "  (still growing)" : ""}`,
    ]);
    const head = ["REPOSITORY", "SIZE/PLATFORM", "STEADY GB", "AVG GB", "MANIFESTS", "USD/MONTH"];
    const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
    const lines = [head, ...rows].map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join("  "));
    lines.push(
        "",
        `stack ${stack}: ${forecast.totalGb} GB at steady state, $${forecast.monthlyCostUsd.toFixed(2)}/month at $${forecast.usdPerGbMonth}/GB-month (replayed ${forecast.weeks} weeks of the lifecycle policy)`,
        budgetGb === undefined ? "no budget set (mlci:registry.storageBudgetGb)" : `budget ${budgetGb} GB: ${forecast.totalGb <= budgetGb ? "within" : "EXCEEDED"}`,
        "Layers are counted once per repository, as ECR stores them: a child's builds share their parent's layers while the parent is unchanged, a root's builds their upstream base's (measured with --measure).",
    );
    return lines.join("\n");
}

/** `ci-images storage`: prints the forecast; exits 1 when it exceeds the budget. */
export function runStorage(config: StackConfig, stack: string, flags: { weeks?: string; from?: string; json?: boolean; measured?: RepositoryMeasurement[]; writeMeasurements?: string }, out: NodeJS.WritableStream, now?: Date): number {
    const weeks = flags.weeks !== undefined ? Number(flags.weeks) : undefined;
    if (weeks !== undefined && (!Number.isInteger(weeks) || weeks < 5)) throw new UsageError(`--weeks must be a whole number of at least 5, got ${flags.weeks}`);
    let measuredGb: Record<string, number> = {};
    if (flags.from !== undefined) {
        let text: string;
        try {
            text = fs.readFileSync(flags.from, "utf8");
        } catch (e) {
            throw new CliError(`cannot read --from ${flags.from}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}. Fix: pulumi stack output --json > ${flags.from}`);
        }
        try {
            measuredGb = measuredGbFromOutputs(text, config);
        } catch (e) {
            throw new CliError(`--from ${flags.from} is not \`pulumi stack output --json\`: ${(e as Error).message}`);
        }
    }
    const measuredSharedGb: Record<string, number> = {};
    const measuredCacheStagesGb: Record<string, number> = {};
    const measuredNow = (flags.measured ?? []).map((m) => ({ repository: m.repository, storedGb: round3(m.storedBytes / 1e9), manifestsGb: round3(m.manifestBytes / 1e9), manifests: m.manifests.length, blobs: m.blobs.size }));
    if (flags.measured) {
        const { largestImageGb, sharedAcrossBuildsGb, cacheOnlyGb } = require("../../lib/registry/layerStorage") as typeof import("../../lib/registry/layerStorage");
        for (const f of config.families) {
            const m = flags.measured.find((x) => x.repository === `${config.registry.prefix}/${f.name}`);
            if (!m) continue;
            const size = largestImageGb(m);
            if (size !== undefined) measuredGb[f.name] = round3(size);
            const shared = sharedAcrossBuildsGb(m);
            if (shared !== undefined && f.parent === undefined) measuredSharedGb[f.name] = round3(shared);
            const cacheOnly = cacheOnlyGb(m);
            if (cacheOnly !== undefined) measuredCacheStagesGb[f.name] = round3(cacheOnly);
        }
    }
    if (flags.writeMeasurements !== undefined) {
        if (!flags.measured) throw new UsageError("--write-measurements needs --measure (it records what --measure reads from the registry)");
        const record: StorageMeasurements = { stack, measuredAt: (now ?? new Date()).toISOString(), families: {} };
        for (const [family, sizeGb] of Object.entries(measuredGb)) {
            record.families[family] = { sizeGb, ...(measuredSharedGb[family] !== undefined ? { sharedGb: measuredSharedGb[family] } : {}), ...(measuredCacheStagesGb[family] !== undefined ? { cacheStagesGb: measuredCacheStagesGb[family] } : {}) };
        }
        fs.writeFileSync(flags.writeMeasurements, `${JSON.stringify(record, null, 2)}\n`);
    }
    const forecast = storageForecastFor(config, { weeks, measuredGb, measuredSharedGb, measuredCacheStagesGb, now });
    const budget = config.registry.storageBudgetGb;
    if (flags.json) out.write(`${JSON.stringify({ stack, budgetGb: budget ?? null, ...forecast, ...(flags.measured ? { measuredNow } : {}) }, null, 2)}\n`);
    else {
        if (flags.measured) {
            const lines = measuredNow.map((m) => `  ${m.repository}: ${m.storedGb} GB stored (${m.blobs} distinct blobs of ${m.manifests} manifests; ${m.manifestsGb} GB if each manifest counted in full)`);
            out.write(`measured in the registry now:\n${lines.join("\n")}\n\n`);
        }
        out.write(`${storageTable(stack, forecast, budget)}\n`);
    }
    return budget !== undefined && forecast.totalGb > budget ? 1 : 0;
}

function round3(n: number): number {
    return Math.round(n * 1000) / 1000;
}

export async function run(ctx: CommandContext): Promise<number> {
    const stack = ctx.stack();
    const plan = await ctx.plan();
    let measured: RepositoryMeasurement[] | undefined;
    if (ctx.has("measure")) {
        const { registryAccess } = require("../registryAccess") as typeof import("../registryAccess");
        const { measureRepository } = require("../../lib/registry/layerStorage") as typeof import("../../lib/registry/layerStorage");
        const access = await registryAccess(ctx, plan, { registry: ctx.flag("registry") });
        try {
            measured = await Promise.all([...new Set(plan.images.map((i) => i.repositoryName))].map((r) => measureRepository(access.client, r)));
        } catch (e) {
            throw new CliError(`measuring ${access.host} failed: ${(e as Error).message}. Fix: the caller needs ecr:ListImages and ecr:BatchGetImage on the repositories (the pipeline role has them), or start the local registry`);
        }
    }
    return runStorage(plan.config, stack, { weeks: ctx.flag("weeks"), from: ctx.flag("from"), json: ctx.json, measured, writeMeasurements: ctx.flag("write-measurements") }, ctx.out, ctx.services.now());
}
