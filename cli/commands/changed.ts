/**
 * `ci-images changed --stack S --since <rev>`: the images whose content-hash tag moved since a git
 * revision (what the next `pulumi up` rebuilds). Exit 1 when any did, as `git diff --exit-code`.
 */
import type { TaggedImage } from "../../lib/images/graph";
import { CommandContext, UsageError } from "../context";
import { planAtRevision } from "../revisionPlan";
import { imagesJson } from "./tags";

/**
 * Images whose tag at `rev` differs from the working tree's (or that are new), with the previous tags.
 * When the code that shapes tags changed since `rev`, the revision's own tags (its own `ci-images tags`)
 * are the previous ones, so a change to the tag code counts too.
 */
export async function changedSince(root: string, stack: string, rev: string, current: TaggedImage[], env: NodeJS.ProcessEnv): Promise<{ changed: TaggedImage[]; previous: Map<string, string> }> {
    const { images, ownTags } = await planAtRevision(root, stack, rev, env);
    // An old tree that did not validate: every image counts as changed.
    const previous = ownTags ?? new Map((images ?? []).map((i) => [i.name, i.tag]));
    return { changed: current.filter((i) => previous.get(i.name) !== i.tag), previous };
}

export async function run(ctx: CommandContext): Promise<number> {
    const since = ctx.flag("since");
    if (since === undefined) throw new UsageError("changed needs --since <git-rev>");
    const { images } = await ctx.plan();
    const { changed, previous } = await changedSince(ctx.root(), ctx.stack(), since, images, ctx.env);
    if (ctx.json) ctx.out.write(`${JSON.stringify({ since, images: imagesJson(changed).images.map((i) => ({ ...i, previousTag: previous.get(i.name) ?? null })) }, null, 2)}\n`);
    else ctx.out.write(changed.length === 0 ? "no image changes\n" : `${changed.map((i) => `${i.name}  ${previous.get(i.name) ?? "(new)"} -> ${i.tag}`).join("\n")}\n`);
    return changed.length === 0 ? 0 : 1;
}
