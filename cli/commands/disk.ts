/**
 * `ci-images disk --stack S [--free-gb N]`: the disk one run of the stack needs on the machine that runs
 * it, from the images' size budgets and the build plan (lib/images/runnerDisk.ts), every image built.
 * With `--free-gb`, exits 1 when the machine has less, naming the figure and the fix.
 */
import { planBuilds } from "../../lib/images/buildPlan";
import { runnerDiskNeed } from "../../lib/images/runnerDisk";
import { CliError, CommandContext, UsageError } from "../context";

export async function run(ctx: CommandContext): Promise<number> {
    const freeText = ctx.flag("free-gb");
    const free = freeText === undefined ? undefined : Number(freeText);
    if (free !== undefined && !(Number.isFinite(free) && free >= 0)) throw new UsageError(`--free-gb: "${freeText}" is not a number of GB`);
    const stack = ctx.stack();
    const { config, images } = await ctx.plan();
    const families = new Map(config.families.map((f) => [f.name, f]));
    const byName = new Map(images.map((i) => [i.name, i]));
    const plan = planBuilds(images, config.build.builders, { defaultBuilderName: config.build.builder?.name });
    const need = runnerDiskNeed({
        plan,
        builders: config.build.builders,
        sizeBudgetGb: (name) => families.get(byName.get(name)!.family)?.sizeBudgetGb ?? config.build.smokeTest.sizeBudgetGb,
        smokeTest: config.build.smokeTest.enabled,
    });
    const enough = free === undefined || free >= need.totalGb;
    if (ctx.json) ctx.out.write(`${JSON.stringify({ stack, ...need, ...(free === undefined ? {} : { freeGb: free, enough }) }, null, 2)}\n`);
    else {
        ctx.out.write(
            `stack ${stack}: a run that builds every image needs ${need.totalGb} GB: wave ${need.peakWave + 1} (${need.peakImages.length} images) holds ${need.buildGb} GB of builds and ${need.smokeTestGb} GB of smoke-test pulls (uncompressed), plus ${need.buildkitKeepGb} GB of BuildKit cache and ${need.fixedGb} GB for the checkout and Pulumi\n`,
        );
    }
    if (!enough) {
        throw new CliError(`stack ${stack} needs ${need.totalGb} GB of disk for a run that builds every image; this machine has ${free} GB free. Fix: set the repository variable CI_IMAGES_RUNNER to a runner label with at least ${need.totalGb} GB free (docs/pipelines.md, "Runner disk"), or build on remote builders (mlci:build.builders)`);
    }
    return 0;
}
