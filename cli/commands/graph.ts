/**
 * `ci-images graph --stack S [--since <rev>] --format mermaid|dot|json`: the image DAG, each image
 * unchanged, rebuilds (own input) or rebuilds (cascade) since a git revision, with its one-line reason.
 */
import { closest } from "../../lib/config/problems";
import { planBuilds } from "../../lib/images/buildPlan";
import { DEFAULT_MINUTES_PER_BUILD, estimateBuildTime, GRAPH_FORMATS, GraphFormat, renderGraph } from "../../lib/images/rebuildGraph";
import { CommandContext, UsageError } from "../context";
import { DEFAULT_SINCE, rebuildsSince } from "../revisionPlan";

export async function run(ctx: CommandContext): Promise<number> {
    const format = ctx.flag("format") ?? (ctx.json ? "json" : undefined);
    if (format === undefined) throw new UsageError(`graph needs --format ${GRAPH_FORMATS.join("|")}`);
    if (!(GRAPH_FORMATS as readonly string[]).includes(format)) {
        const hint = closest(format, [...GRAPH_FORMATS]);
        throw new UsageError(`unknown --format "${format}"${hint ? ` (did you mean ${hint}?)` : ""}: use one of ${GRAPH_FORMATS.join(", ")}`);
    }
    if (ctx.json && format !== "json") throw new UsageError(`--json prints JSON: drop it, or use --format json instead of --format ${format}`);
    const since = ctx.flag("since") ?? DEFAULT_SINCE;
    const minutes = ctx.flag("minutes-per-build");
    const minutesPerBuild = minutes === undefined ? DEFAULT_MINUTES_PER_BUILD : Number(minutes);
    if (!(minutesPerBuild > 0)) throw new UsageError(`--minutes-per-build must be a positive number of minutes, not "${minutes}"`);
    const { rebuilds, plan } = await rebuildsSince(ctx, since);
    const rebuilding = new Set(rebuilds.filter((r) => r.status !== "unchanged").map((r) => r.name));
    const buildPlan = planBuilds(plan.images, plan.config.build.builders, { isBuilt: (name) => rebuilding.has(name), defaultBuilderName: plan.config.build.builder?.name });
    ctx.out.write(renderGraph(rebuilds, format as GraphFormat, since, estimateBuildTime(buildPlan, minutesPerBuild)));
    return 0;
}
