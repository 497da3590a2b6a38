/**
 * `ci-images bake --stack S [--registry H] [--output F]`: the stack's `docker buildx bake` file
 * (lib/images/bakeFile.ts). It is JSON already: `--json` changes nothing.
 */
import * as fs from "fs";
import { bakeFile } from "../../lib/images/bakeFile";
import { baseRegistryFor } from "../../lib/registry/documents";
import { CliError, CommandContext } from "../context";
import { registryAccess } from "../registryAccess";

export async function run(ctx: CommandContext): Promise<number> {
    const plan = await ctx.plan();
    const { host } = await registryAccess(ctx, plan, { registry: ctx.flag("registry") });
    const provenance = { source: ctx.env.GITHUB_SERVER_URL && ctx.env.GITHUB_REPOSITORY ? `${ctx.env.GITHUB_SERVER_URL}/${ctx.env.GITHUB_REPOSITORY}` : undefined, revision: ctx.env.GITHUB_SHA || undefined };
    const file = bakeFile(plan.images, { registryHost: host, cache: plan.config.build.cache, push: plan.config.build.push, baseRegistry: baseRegistryFor(plan.config.registry, host), provenance });
    const text = `${JSON.stringify(file, null, 2)}\n`;
    const output = ctx.flag("output");
    if (output === undefined) {
        ctx.out.write(text);
        return 0;
    }
    try {
        fs.writeFileSync(output, text);
    } catch (e) {
        throw new CliError(`cannot write ${output}: ${(e as Error).message}`);
    }
    ctx.err.write(`wrote ${output}: ${plan.images.length} targets for ${host}\n`);
    return 0;
}
