/**
 * `ci-images graph --stack S [--since <rev>] --format mermaid|dot|json`: the image DAG, each image
 * unchanged, rebuilds (own input) or rebuilds (cascade) since a git revision, with its one-line reason.
 */
import * as fs from "fs";
import { closest } from "../../lib/config/problems";
import { planBuilds } from "../../lib/images/buildPlan";
import { BuildEstimate, DEFAULT_MINUTES_PER_BUILD, estimateBuildTime, GRAPH_FORMATS, GraphFormat, renderGraph } from "../../lib/images/rebuildGraph";
import type { ImageRebuild } from "../../lib/images/rebuildReasons";
import { CommandContext, UsageError } from "../context";
import { DEFAULT_SINCE, rebuildsSince } from "../revisionPlan";

/** A graph `graph --format json` wrote, checked enough to be drawn again. */
function readSavedGraph(file: string): { since: string; nodes: ImageRebuild[]; estimate: BuildEstimate } {
    let saved: { since?: unknown; nodes?: unknown; estimate?: unknown };
    try {
        saved = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (e) {
        throw new UsageError(`--from-json ${file} could not be read as JSON (${(e as Error).message.split("\n")[0]}). Fix: pass a file written by \`ci-images graph --format json\``);
    }
    const nodes = saved.nodes;
    if (typeof saved.since !== "string" || !Array.isArray(nodes) || !nodes.every((n) => typeof n?.name === "string" && typeof n?.status === "string") || typeof saved.estimate !== "object" || saved.estimate === null) {
        throw new UsageError(`--from-json ${file} is not a graph (expected { since, nodes: [{ name, status, … }], estimate }). Fix: pass a file written by \`ci-images graph --format json\``);
    }
    return { since: saved.since, nodes: nodes as ImageRebuild[], estimate: saved.estimate as BuildEstimate };
}

export async function run(ctx: CommandContext): Promise<number> {
    const format = ctx.flag("format") ?? (ctx.json ? "json" : undefined);
    if (format === undefined) throw new UsageError(`graph needs --format ${GRAPH_FORMATS.join("|")}`);
    if (!(GRAPH_FORMATS as readonly string[]).includes(format)) {
        const hint = closest(format, [...GRAPH_FORMATS]);
        throw new UsageError(`unknown --format "${format}"${hint ? ` (did you mean ${hint}?)` : ""}: use one of ${GRAPH_FORMATS.join(", ")}`);
    }
    if (ctx.json && format !== "json") throw new UsageError(`--json prints JSON: drop it, or use --format json instead of --format ${format}`);
    const from = ctx.flag("from-json");
    if (from !== undefined) {
        const saved = readSavedGraph(from);
        ctx.out.write(renderGraph(saved.nodes, format as GraphFormat, saved.since, saved.estimate));
        return 0;
    }
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
