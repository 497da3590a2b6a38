/**
 * `ci-images explain [<image>] --stack S [--since <rev>]`: which hash inputs of an image differ between a
 * git revision and the working tree (context files, build args, target, platforms, parent tag, epoch,
 * hash scheme), and what that causes: a rebuild for an input of its own, or because its parent rebuilds.
 * Without an image, every image that rebuilds.
 */
import { closest } from "../../lib/config/problems";
import { describeChange, ImageRebuild } from "../../lib/images/rebuildReasons";
import { CommandContext, UsageError } from "../context";
import { DEFAULT_SINCE, rebuildsSince } from "../revisionPlan";

const STATUS_TEXT: Record<ImageRebuild["status"], string> = {
    unchanged: "unchanged",
    "rebuilds-own-input": "rebuilds (own input)",
    "rebuilds-cascade": "rebuilds (cascade)",
};

/** The text of one image's explanation: a head line, then one line per differing input. */
export function explanationText(r: ImageRebuild, since: string): string {
    const mark = r.caveat !== undefined ? " [previous tag unknown: tag code changed]" : "";
    if (r.status === "unchanged") return `${r.name}: unchanged since ${since} (${r.tag})${mark}\n`;
    const lines = [`${r.name}: ${STATUS_TEXT[r.status]}  ${r.previousTag ?? "(new)"} -> ${r.tag}${mark}`, `  ${r.reason}`];
    for (const c of r.changes) if (c.input !== "image") lines.push(`  - ${describeChange(c)}`);
    return `${lines.join("\n")}\n`;
}

export async function run(ctx: CommandContext): Promise<number> {
    const since = ctx.flag("since") ?? DEFAULT_SINCE;
    const { rebuilds, caveat } = await rebuildsSince(ctx, since);
    const name = ctx.positional[0];
    let shown: ImageRebuild[];
    if (name !== undefined) {
        const one = rebuilds.find((r) => r.name === name);
        if (one === undefined) {
            const hint = closest(name, rebuilds.map((r) => r.name));
            throw new UsageError(`unknown image "${name}"${hint ? `. Did you mean ${hint}?` : ""} (ci-images tags lists the stack's images)`);
        }
        shown = [one];
    } else shown = rebuilds.filter((r) => r.status !== "unchanged");
    if (ctx.json) ctx.out.write(`${JSON.stringify({ since, ...(caveat !== undefined ? { caveat } : {}), images: shown }, null, 2)}\n`);
    else if (caveat !== undefined) ctx.out.write(`caveat: ${caveat}\n`);
    if (ctx.json) return 0;
    if (shown.length === 0) ctx.out.write(`no image rebuilds since ${since}\n`);
    else ctx.out.write(shown.map((r) => explanationText(r, since)).join(""));
    return 0;
}
