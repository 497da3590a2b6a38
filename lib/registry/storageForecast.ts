/**
 * Storage and cost forecast: replays each repository's lifecycle policy (lib/registry/
 * lifecycleSimulator.ts, ECR's documented rules) day by day over the push history the stack is
 * expected to produce, and reports the stored GB per repository once the policy has had time to
 * reach its steady state, and the monthly ECR storage cost. Pure: no AWS calls, no clock.
 *
 * The expected push history (one Sunday 02:00 UTC rebuild epoch per week, as the weekly workflow runs):
 * - week 0: every image is pushed;
 * - every week: every image of a date-rebuilt family (the nightly epoch: new content hash, new
 *   dated tag) and of every family below one (a child's hash includes its parent's tag);
 * - every `changeEveryWeeks` weeks: every other family's content changes (staggered by family),
 *   and so do its descendants;
 * - every `forcedEveryWeeks` weeks (0 = never): a forced rebuild of every image on Wednesday.
 * Each push adds one manifest per platform (an index joins a multi-platform image; its children
 * are untagged and kept while the index exists), carries the content (or forced) tag, the marker
 * and `-latest` (moved off the previous digest) and, for date-rebuilt families, the dated tag.
 * ECR evaluates lifecycle policies "within 24 hours"; the replay evaluates once a day at 12:00 UTC.
 *
 * Sizes are compressed GB per platform manifest. ECR stores a layer once per repository, and so
 * does the forecast: an image's layers are its parent's layers (the whole parent image, for a child)
 * or its upstream base's (for a root, `sharedGb`), which every build of a cell shares while the
 * parent build (or the upstream base) is unchanged, plus its own layers, new with every build. A
 * repository's stored GB is the sum of its distinct layers. A family without `sharedGb` counts every
 * stored manifest in full (an upper bound).
 */
import { createHash } from "crypto";
import type { ConfigProblem } from "../config/problems";
import { buildTag, datedTag, latestTag, markerTag } from "../images/tags";
import type { StackConfig } from "../config/schema";
import { familyCells } from "../images/matrix";
import { EcrLifecyclePolicy, familyRetention, lifecyclePolicy } from "./lifecyclePolicy";
import { RegistryImage, simulateLifecycle } from "./lifecycleSimulator";

/** ECR private repository storage, USD per GB-month (us-east-1; aws.amazon.com/ecr/pricing, checked 2026-11). */
export const ECR_STORAGE_USD_PER_GB_MONTH = 0.1;

/** One family as the forecast sees it. */
export interface ForecastFamily {
    name: string;
    /** Repository name `<prefix>/<family>`. */
    repository: string;
    /** Cell labels of the family's images, e.g. `cuda13.2-py3.12`. */
    cells: string[];
    platforms: string[];
    /** Compressed GB of one platform manifest (measured, or `sizeEstimateGb`). */
    sizeGb: number;
    /**
     * Compressed GB of the layers every build of a cell shares with the other builds of that cell
     * while the parent (or upstream base) is unchanged: the parent image's size for a child, the
     * upstream base's layers for a root. Undefined: no sharing, every manifest counted in full.
     */
    sharedGb?: number;
    /** Where `sizeGb` comes from, for the report. */
    sizeSource: "measured" | "estimate" | "size budget";
    /**
     * The family pushes a BuildKit registry cache `cache-<cell>` (mlci:build.cache with push;
     * `mode=max,image-manifest=true`, lib/images/bakeFile.ts) with every build: a manifest of its own,
     * moved to each new build (the superseded one is untagged and expires after `untaggedDays`).
     * Its layers are the build's layers (the same blobs: stored once) plus `cacheStagesGb`.
     */
    cache?: { cacheStagesGb: number };
    dateRebuilt: boolean;
    parent?: string;
    /** The repository's lifecycle policy (the one the program puts on it). */
    policy: EcrLifecyclePolicy;
}

/** How the history is generated. */
export interface ForecastOptions {
    /** First rebuild epoch (a Sunday, YYYY-MM-DD): week 0. */
    start: string;
    /** Weeks to replay. @default 52, doubled (up to 208) while a repository is still growing */
    weeks?: number;
    /** A family that is not rebuilt weekly changes content every this many weeks. @default 4 */
    changeEveryWeeks?: number;
    /** A forced rebuild of every image every this many weeks; 0 = never. @default 0 */
    forcedEveryWeeks?: number;
    /** USD per GB-month. @default ECR_STORAGE_USD_PER_GB_MONTH */
    usdPerGbMonth?: number;
}

/** The forecast of one repository. */
export interface RepositoryForecast {
    repository: string;
    family: string;
    /** Peak stored GB over the replay's last 7 days. */
    steadyStateGb: number;
    /** Mean stored GB over the replay's last 28 days (what a GB-month bill averages). */
    averageGb: number;
    /** Manifests stored at the end (indexes and their children included). */
    manifests: number;
    /** Still growing at the end (peak of the last week above the peak four weeks earlier): replay more weeks. */
    growing: boolean;
    monthlyCostUsd: number;
    sizeGb: number;
    sizeSource: ForecastFamily["sizeSource"];
}

/** The whole forecast. */
export interface StorageForecast {
    repositories: RepositoryForecast[];
    /** Sum of the repositories' steady-state GB. */
    totalGb: number;
    monthlyCostUsd: number;
    weeks: number;
    usdPerGbMonth: number;
    /** Stored GB of the whole stack at the end of each replayed week (for plots and growth checks). */
    weeklyTotalGb: number[];
}

/** One push of one image at one time: what gets stored. */
export interface PushEvent {
    at: Date;
    repository: string;
    cell: string;
    /** Tags on the pushed digest (the index for a multi-platform image). */
    tags: string[];
    /** Tag that moves onto this digest (removed from every other image of the repository). */
    movingTag?: string;
    /** GB of each platform manifest. */
    platformSizesGb: number[];
    /** The layer groups of each platform manifest (a key per distinct group), when the family models sharing. */
    platformLayers?: LayerGroup[][];
    /** Seed of the digests. */
    seed: string;
}

/** A group of layers stored once per repository, e.g. the upstream base of a cell or one build's own layers. */
export interface LayerGroup {
    key: string;
    gb: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;

function digestOf(seed: string): string {
    return `sha256:${createHash("sha256").update(seed).digest("hex")}`;
}

function hex12(seed: string): string {
    return createHash("sha256").update(seed).digest("hex").slice(0, 12);
}

/** The expected push history of the families over `weeks` weeks from `start` (see the module comment). */
export function expectedPushes(families: ForecastFamily[], opts: ForecastOptions): PushEvent[] {
    const weeks = opts.weeks ?? 52;
    const changeEvery = opts.changeEveryWeeks ?? 4;
    const forcedEvery = opts.forcedEveryWeeks ?? 0;
    const start = Date.parse(`${opts.start}T00:00:00Z`);
    if (Number.isNaN(start) || new Date(start).getUTCDay() !== 0) throw new Error(`forecast start ${opts.start} is not a Sunday (YYYY-MM-DD)`);
    const byName = new Map(families.map((f) => [f.name, f]));
    const weekly = (f: ForecastFamily): boolean => f.dateRebuilt || (f.parent !== undefined && byName.has(f.parent) && weekly(byName.get(f.parent)!));
    const changes = (f: ForecastFamily, w: number, index: number): boolean =>
        w === 0 || weekly(f) || (index + w) % changeEvery === 0 || (f.parent !== undefined && byName.has(f.parent) && changes(byName.get(f.parent)!, w, families.indexOf(byName.get(f.parent)!)));

    const pushes: PushEvent[] = [];
    /** Content hash and forced-rebuild counter of each image, as of its last push. */
    const current = new Map<string, { hash: string; rebuild: number }>();
    /** The layer groups of one platform of an image as currently built (parents first, so a parent's build is current). */
    const layersOf = (f: ForecastFamily, cell: string, platform: number): LayerGroup[] => {
        const build = current.get(`${f.name}/${cell}`)!;
        const own = (gb: number): LayerGroup => ({ key: `${f.name}/${cell}/${build.hash}/r${build.rebuild}/p${platform}`, gb: Math.max(gb, 0) });
        const parent = f.parent !== undefined ? byName.get(f.parent) : undefined;
        if (parent && current.has(`${parent.name}/${cell}`)) return [...layersOf(parent, cell, platform), own(f.sizeGb - parent.sizeGb)];
        return [{ key: `upstream/${f.name}/${cell}/p${platform}`, gb: f.sharedGb ?? 0 }, own(f.sizeGb - (f.sharedGb ?? 0))];
    };
    const layerModel = (f: ForecastFamily, cell: string): LayerGroup[][] | undefined => (f.sharedGb === undefined ? undefined : f.platforms.map((_, i) => layersOf(f, cell, i)));
    /** The `cache-<cell>` push that follows a build: one manifest holding every platform's layers and the cache-only stages. */
    const cachePush = (f: ForecastFamily, cell: string, at: Date, seed: string): PushEvent[] => {
        if (f.cache === undefined) return [];
        const build = current.get(`${f.name}/${cell}`)!;
        const layers = f.platforms.flatMap((_, i) => (f.sharedGb === undefined ? [{ key: `manifest-of/${seed}#${i}`, gb: f.sizeGb }] : layersOf(f, cell, i)));
        layers.push({ key: `cache/${f.name}/${cell}/${build.hash}/r${build.rebuild}/stages`, gb: f.cache.cacheStagesGb });
        const gb = layers.reduce((a, l) => a + l.gb, 0);
        return [{ at, repository: f.repository, cell, tags: [], movingTag: `cache-${cell}`, platformSizesGb: [gb], platformLayers: [layers], seed: `${seed}/cache` }];
    };
    for (let w = 0; w < weeks; w++) {
        const epochDay = new Date(start + w * 7 * DAY_MS);
        const epoch = epochDay.toISOString().slice(0, 10);
        const at = new Date(epochDay.getTime() + 2 * HOUR_MS);
        families.forEach((f, index) => {
            if (!changes(f, w, index)) return;
            for (const cell of f.cells) {
                const hash = hex12(`${f.name}/${cell}/week${w}`);
                current.set(`${f.name}/${cell}`, { hash, rebuild: 0 });
                const tags = [buildTag(cell, hash, 0), markerTag(cell, hash), ...(f.dateRebuilt ? [datedTag(cell, epoch)] : [])];
                pushes.push({ at, repository: f.repository, cell, tags, movingTag: latestTag(cell), platformSizesGb: f.platforms.map(() => f.sizeGb), platformLayers: layerModel(f, cell), seed: `${f.name}/${cell}/w${w}` });
                pushes.push(...cachePush(f, cell, at, `${f.name}/${cell}/w${w}`));
            }
        });
        if (forcedEvery > 0 && w % forcedEvery === forcedEvery - 1) {
            const forcedAt = new Date(epochDay.getTime() + 3 * DAY_MS + 12 * HOUR_MS);
            for (const f of families) {
                for (const cell of f.cells) {
                    const build = current.get(`${f.name}/${cell}`)!;
                    build.rebuild += 1;
                    const tags = [buildTag(cell, build.hash, build.rebuild), markerTag(cell, build.hash, build.rebuild)];
                    pushes.push({ at: forcedAt, repository: f.repository, cell, tags, movingTag: latestTag(cell), platformSizesGb: f.platforms.map(() => f.sizeGb), platformLayers: layerModel(f, cell), seed: `${f.name}/${cell}/w${w}/forced` });
                    pushes.push(...cachePush(f, cell, forcedAt, `${f.name}/${cell}/w${w}/forced`));
                }
            }
        }
    }
    return pushes.sort((a, b) => a.at.getTime() - b.at.getTime());
}

/** A repository's stored manifests, with their sizes. */
interface StoredImage extends RegistryImage {
    sizeGb: number;
    /** Its layer groups; undefined: the whole manifest is its own group. */
    layers?: LayerGroup[];
}

/** GB a repository stores for these images: each distinct layer group once (ECR stores a layer once per repository). */
export function storedGb(images: { digest: string; sizeGb: number; layers?: LayerGroup[] }[]): number {
    const groups = new Map<string, number>();
    for (const image of images) {
        if (image.layers === undefined) groups.set(`manifest/${image.digest}`, image.sizeGb);
        else for (const layer of image.layers) groups.set(layer.key, layer.gb);
    }
    let gb = 0;
    for (const v of groups.values()) gb += v;
    return gb;
}

/** Applies one push to a repository's images (new manifests, moved tag). */
function applyPush(images: StoredImage[], push: PushEvent): void {
    if (push.movingTag !== undefined) for (const img of images) img.tags = img.tags.filter((t) => t !== push.movingTag);
    const tags = [...push.tags, ...(push.movingTag !== undefined ? [push.movingTag] : [])];
    if (push.platformSizesGb.length === 1) {
        images.push({ digest: digestOf(push.seed), tags, pushedAt: push.at, sizeGb: push.platformSizesGb[0], layers: push.platformLayers?.[0] });
        return;
    }
    const children = push.platformSizesGb.map((gb, i) => ({ digest: digestOf(`${push.seed}#${i}`), tags: [] as string[], pushedAt: push.at, sizeGb: gb, layers: push.platformLayers?.[i] }));
    images.push(...children, { digest: digestOf(`${push.seed}#index`), tags, pushedAt: push.at, sizeGb: 0, layers: [], childDigests: children.map((c) => c.digest) });
}

/**
 * Replays pushes and one lifecycle evaluation per day at 12:00 UTC, per repository, for `days`
 * days from `start`. Returns the stored GB of each repository after each day's evaluation, and
 * the stored images at the end.
 */
export function replayHistory(policies: Map<string, EcrLifecyclePolicy>, pushes: PushEvent[], start: Date, days: number): { dailyGb: Map<string, number[]>; stored: Map<string, StoredImage[]> } {
    const stored = new Map<string, StoredImage[]>([...policies.keys()].map((r) => [r, []]));
    const dailyGb = new Map<string, number[]>([...policies.keys()].map((r) => [r, []]));
    let next = 0;
    for (let d = 0; d < days; d++) {
        const evaluation = new Date(start.getTime() + d * DAY_MS + 12 * HOUR_MS);
        while (next < pushes.length && pushes[next].at.getTime() <= evaluation.getTime()) {
            const push = pushes[next++];
            const images = stored.get(push.repository);
            if (images === undefined) throw new Error(`push to ${push.repository}, which has no lifecycle policy`);
            applyPush(images, push);
        }
        for (const [repository, policy] of policies) {
            const images = stored.get(repository)!;
            const outcome = simulateLifecycle(policy, images, evaluation);
            const kept = outcome.kept.map((k) => k.image as StoredImage);
            stored.set(repository, kept);
            dailyGb.get(repository)!.push(storedGb(kept));
        }
    }
    return { dailyGb, stored };
}

function round(n: number, digits = 2): number {
    const f = 10 ** digits;
    return Math.round(n * f) / f;
}

/** Longest replay {@link forecastStorage} extends to when no `weeks` is given. */
export const MAX_DEFAULT_FORECAST_WEEKS = 208;

/**
 * Forecasts the stored GB and monthly cost of every family repository (see the module comment).
 * Without `weeks`, replays 52 weeks and doubles the replay while a repository is still growing
 * (a count rule fills slowly when a family changes monthly), up to {@link MAX_DEFAULT_FORECAST_WEEKS}.
 */
export function forecastStorage(families: ForecastFamily[], opts: ForecastOptions): StorageForecast {
    if (opts.weeks !== undefined) return forecastOver(families, opts, opts.weeks);
    let forecast = forecastOver(families, opts, 52);
    while (forecast.repositories.some((r) => r.growing) && forecast.weeks < MAX_DEFAULT_FORECAST_WEEKS) forecast = forecastOver(families, opts, Math.min(forecast.weeks * 2, MAX_DEFAULT_FORECAST_WEEKS));
    return forecast;
}

function forecastOver(families: ForecastFamily[], opts: ForecastOptions, weeks: number): StorageForecast {
    if (!Number.isInteger(weeks) || weeks < 5) throw new Error(`forecast weeks must be a whole number of at least 5 (the steady state is read from the last four), got ${weeks}`);
    const usd = opts.usdPerGbMonth ?? ECR_STORAGE_USD_PER_GB_MONTH;
    const policies = new Map(families.map((f) => [f.repository, f.policy]));
    const days = weeks * 7;
    const { dailyGb, stored } = replayHistory(policies, expectedPushes(families, { ...opts, weeks }), new Date(`${opts.start}T00:00:00Z`), days);
    const repositories = families.map((f): RepositoryForecast => {
        const series = dailyGb.get(f.repository)!;
        const lastWeek = series.slice(days - 7);
        const fourWeeksEarlier = series.slice(days - 35, days - 28);
        const last28 = series.slice(days - 28);
        const steadyStateGb = Math.max(...lastWeek);
        const averageGb = last28.reduce((a, b) => a + b, 0) / last28.length;
        return {
            repository: f.repository,
            family: f.name,
            steadyStateGb: round(steadyStateGb),
            averageGb: round(averageGb),
            manifests: stored.get(f.repository)!.length,
            growing: steadyStateGb > Math.max(...fourWeeksEarlier) + 1e-9,
            monthlyCostUsd: round(averageGb * usd),
            sizeGb: f.sizeGb,
            sizeSource: f.sizeSource,
        };
    });
    const weeklyTotalGb = Array.from({ length: weeks }, (_, w) => round(families.reduce((gb, f) => gb + dailyGb.get(f.repository)![w * 7 + 6], 0)));
    return {
        repositories,
        totalGb: round(repositories.reduce((gb, r) => gb + r.steadyStateGb, 0)),
        monthlyCostUsd: round(repositories.reduce((usdSum, r) => usdSum + r.monthlyCostUsd, 0)),
        weeks,
        usdPerGbMonth: usd,
        weeklyTotalGb,
    };
}

/** The budget check of `ci-images check`: a problem when the forecast exceeds `registry.storageBudgetGb`. */
export function storageBudgetProblems(forecast: StorageForecast, budgetGb: number | undefined): ConfigProblem[] {
    if (budgetGb === undefined || forecast.totalGb <= budgetGb) return [];
    const top = [...forecast.repositories].sort((a, b) => b.steadyStateGb - a.steadyStateGb).slice(0, 3);
    return [
        {
            path: "registry.storageBudgetGb",
            message: `the storage forecast is ${forecast.totalGb} GB (${top.map((r) => `${r.repository} ${r.steadyStateGb} GB`).join(", ")}${forecast.repositories.length > 3 ? ", …" : ""}), over the budget of ${budgetGb} GB`,
            fix: "lower registry.retention.keepHashBuilds or datedTagDays, narrow a family's matrix, shrink the largest images (families.<f>.sizeEstimateGb records their size), or raise the budget; `ci-images storage` shows the forecast per repository",
        },
    ];
}

/**
 * The forecast's families from a parsed stack: cells from the matrix, the lifecycle policy the
 * program puts on each repository, and sizes: measured (compressed GB per platform, by family)
 * first, then `families.<f>.sizeEstimateGb`, then the smoke test's size budget (the most an
 * image may weigh).
 */
export function forecastFamiliesFromStack(
    config: Pick<StackConfig, "families" | "matrix" | "registry" | "build">,
    measuredGb: Record<string, number> = {},
    measuredSharedGb: Record<string, number> = {},
    measuredCacheStagesGb: Record<string, number> = {},
): ForecastFamily[] {
    return config.families.map((f) => {
        const measured = measuredGb[f.name];
        const [sizeGb, sizeSource]: [number, ForecastFamily["sizeSource"]] =
            measured !== undefined ? [measured, "measured"] : f.sizeEstimateGb !== undefined ? [f.sizeEstimateGb, "estimate"] : [config.build.smokeTest.sizeBudgetGb, "size budget"];
        return {
            name: f.name,
            repository: `${config.registry.prefix}/${f.name}`,
            cells: familyCells(f, config.matrix).map((c) => c.label),
            platforms: f.platforms,
            sizeGb,
            sizeSource,
            // A child's lower layers are its parent image (the forecast derives them); a root shares
            // its upstream base's layers across builds: measured in the registry, else none assumed.
            sharedGb: f.parent !== undefined ? 0 : (measuredSharedGb[f.name] ?? 0),
            // mode=max also exports the layers of stages the image does not keep (a wheel builder):
            // measured when `storage --measure` recorded it, else none assumed (docs/scaling.md).
            ...(config.build.cache && config.build.push ? { cache: { cacheStagesGb: measuredCacheStagesGb[f.name] ?? 0 } } : {}),
            dateRebuilt: f.dateRebuilt,
            parent: f.parent,
            policy: lifecyclePolicy(familyRetention(config.registry.retention, f), { datedTags: f.dateRebuilt }),
        };
    });
}
