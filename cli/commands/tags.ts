/** `ci-images tags --stack S [--json]`: every image of the stack with its content-hash tag (offline). */
import type { TaggedImage } from "../../lib/images/graph";
import type { CommandContext } from "../context";

/** The JSON shape of `ci-images tags --json` (one entry per image, parents first). CI parses it: keep it stable. */
export function imagesJson(images: TaggedImage[]) {
    return {
        images: images.map((i) => ({
            name: i.name,
            family: i.family,
            repository: i.repositoryName,
            tag: i.tag,
            aliases: [i.latestTag, ...(i.datedTag ? [i.datedTag] : [])],
            parent: i.parent ?? null,
            cuda: i.cell.cuda ?? null,
            python: i.cell.python,
        })),
    };
}

/** A fixed-width table: the last column is not padded. */
export function table(head: string[], rows: string[][]): string {
    const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
    return [head, ...rows].map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join("  ")).join("\n");
}

function tagsTable(images: TaggedImage[]): string {
    const rows = images.map((i) => [
        i.name,
        `${i.repositoryName}:${i.tag}`,
        [i.latestTag, i.datedTag].filter(Boolean).join(","),
        i.parent ?? "-",
        `dockerfile=${i.hashInputs.dockerfileSha256.slice(0, 8)} context=${i.hashInputs.contextDigest.slice(0, 8)}(${i.hashInputs.contextFiles} files) args=${Object.keys(i.buildArgs).length}${i.hashInputs.rebuildEpoch ? ` epoch=${i.hashInputs.rebuildEpoch}` : ""}`,
    ]);
    return table(["IMAGE", "REPOSITORY:TAG", "ALIASES", "PARENT", "HASH INPUTS"], rows);
}

export async function run(ctx: CommandContext): Promise<number> {
    const { images } = await ctx.plan();
    ctx.out.write(ctx.json ? `${JSON.stringify(imagesJson(images), null, 2)}\n` : `${tagsTable(images)}\n`);
    return 0;
}
