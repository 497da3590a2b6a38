/**
 * How much disk the machine that runs `pulumi up` (or `ci-images publish`) needs for one run, from the
 * images' size budgets and the build plan: the figure the weekly workflow checks before it builds on a
 * GitHub-hosted runner (docs/pipelines.md, "Runner disk"). Pure; a worst case, every image built.
 *
 * The model, per wave of the build plan (builds that run at the same time):
 * - each build on the runner (the engine's default builder, a `docker-container` builder, or the named
 *   local `build.builder`) holds its image's layers, uncompressed, in BuildKit's store;
 * - each image of the wave is then smoke-tested on the runner's Docker engine, which pulls it (its
 *   layers uncompressed again, in Docker's own store) and removes it afterwards;
 * - remote and cloud builders build elsewhere: only the smoke test's pull lands on the runner.
 * The run needs the largest wave, plus the BuildKit cache the gc policy keeps, plus a fixed allowance
 * for the checkout, node_modules and Pulumi's plugins.
 */
import type { BuilderSpec, BuildPlan } from "./buildPlan";

/**
 * Uncompressed size ÷ compressed (registry) size assumed for an image: the size budget is compressed
 * (the smoke test checks the registry size), layers on disk are not. CUDA/PyTorch layers are mostly
 * shared libraries, which gzip about 2–3×; 3 is the cautious end (an assumption, not a measurement).
 */
export const UNCOMPRESSED_RATIO = 3;

/** Checkout, node_modules, the Pulumi CLI and provider plugins, logs: GB a run needs besides images. */
export const FIXED_ALLOWANCE_GB = 10;

/** BuildKit cache the weekly workflow's gc policy keeps between builds (`maxUsedSpace`), in GB. */
export const BUILDKIT_KEEP_GB = 20;

/** Inputs of {@link runnerDiskNeed}. */
export interface RunnerDiskInputs {
    plan: Pick<BuildPlan, "tasks">;
    /** The configured builders (`build.builders`); a task on one of these with driver remote/cloud builds off the runner. */
    builders: Pick<BuilderSpec, "name" | "driver">[];
    /** Compressed size budget (GB) of each image, by name (`families.<f>.sizeBudgetGb`, else `build.smokeTest.sizeBudgetGb`). */
    sizeBudgetGb: (image: string) => number;
    /** Smoke tests run on the runner. @default true */
    smokeTest?: boolean;
    /** @default BUILDKIT_KEEP_GB */
    buildkitKeepGb?: number;
}

/** The disk a run needs, and where it goes. */
export interface RunnerDiskNeed {
    /** Total GB, rounded up. */
    totalGb: number;
    /** The wave that needs most, 0-based, and its image names. */
    peakWave: number;
    peakImages: string[];
    /** GB of that wave's builds on the runner (uncompressed). */
    buildGb: number;
    /** GB of that wave's smoke-test pulls (uncompressed). */
    smokeTestGb: number;
    buildkitKeepGb: number;
    fixedGb: number;
}

/** The disk one run needs on the machine that runs it (see the module comment for the model). */
export function runnerDiskNeed(inputs: RunnerDiskInputs): RunnerDiskNeed {
    const offRunner = new Set(inputs.builders.filter((b) => b.driver === "remote" || b.driver === "cloud").map((b) => b.name));
    const smokeTest = inputs.smokeTest ?? true;
    const waves = new Map<number, { build: number; smoke: number; images: Set<string> }>();
    for (const task of inputs.plan.tasks) {
        const w = waves.get(task.wave) ?? { build: 0, smoke: 0, images: new Set<string>() };
        const uncompressed = inputs.sizeBudgetGb(task.image) * UNCOMPRESSED_RATIO;
        // A per-platform build holds one platform's layers; the budget is per image, so count it per task.
        if (task.builder === undefined || !offRunner.has(task.builder)) w.build += uncompressed;
        // The smoke test pulls the image once (the runner's platform), whatever the number of platforms.
        if (smokeTest && !w.images.has(task.image)) w.smoke += uncompressed;
        w.images.add(task.image);
        waves.set(task.wave, w);
    }
    let peak = { wave: 0, gb: 0, build: 0, smoke: 0, images: [] as string[] };
    for (const [wave, w] of [...waves].sort(([a], [b]) => a - b)) {
        if (w.build + w.smoke > peak.gb) peak = { wave, gb: w.build + w.smoke, build: w.build, smoke: w.smoke, images: [...w.images] };
    }
    const buildkitKeepGb = inputs.buildkitKeepGb ?? BUILDKIT_KEEP_GB;
    return {
        totalGb: Math.ceil(FIXED_ALLOWANCE_GB + buildkitKeepGb + peak.gb),
        peakWave: peak.wave,
        peakImages: peak.images,
        buildGb: peak.build,
        smokeTestGb: peak.smoke,
        buildkitKeepGb,
        fixedGb: FIXED_ALLOWANCE_GB,
    };
}
