/** `ci-images github-import --stack S [--variables A,B]`: the Pulumi import file of existing Actions variables (#27). */
import { githubImportFile } from "../../lib/github/imports";
import type { CommandContext } from "../context";

export async function run(ctx: CommandContext): Promise<number> {
    const { config, images } = await ctx.plan();
    const only = ctx.flag("variables")?.split(",").map((s) => s.trim()).filter(Boolean);
    const file = githubImportFile(config, ctx.stack(), images.map((i) => i.name), only);
    ctx.out.write(`${JSON.stringify(file, null, 2)}\n`);
    if (file.resources.length === 0) ctx.err.write(`ci-images: no Actions variable of stack ${ctx.stack()} matches${only ? ` ${only.join(", ")}` : ""}\n`);
    return 0;
}
