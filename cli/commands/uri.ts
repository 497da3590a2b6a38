/**
 * `ci-images uri <image> [--from outputs.json]`: the digest-pinned ref from `pulumi stack output --json`,
 * or from the value of the CI_IMAGES_JSON Actions variable (`{"<image>": "<ref>"}`).
 */
import * as fs from "fs";
import { asImagesJson, IMAGES_JSON_VARIABLE, resolveImagesJsonRef } from "../../lib/github/imagesJson";
import { parseStackOutputs, resolveImageRef } from "../../lib/images/stackOutputs";
import { CliError, CommandContext } from "../context";

export async function run(ctx: CommandContext): Promise<number> {
    const name = ctx.positional[0];
    const from = ctx.flag("from") ?? "-";
    let text: string;
    try {
        text = fs.readFileSync(from === "-" ? 0 : from, "utf8");
    } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new CliError(
            `cannot read ${from === "-" ? "stdin" : from}: ${code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : (e as Error).message}. Fix: save the outputs first: pulumi stack output --json --stack <stack> > ${from === "-" ? "outputs.json" : from}`,
        );
    }
    let ref: string;
    const source = from === "-" ? "stdin" : from;
    try {
        const refs = asImagesJson(parseJsonOrUndefined(text));
        ref = refs !== undefined ? resolveImagesJsonRef(refs, name, `${IMAGES_JSON_VARIABLE} (${source})`) : resolveImageRef(parseStackOutputs(text, source), name);
    } catch (e) {
        throw new CliError((e as Error).message);
    }
    ctx.out.write(ctx.json ? `${JSON.stringify({ name, ref })}\n` : `${ref}\n`);
    return 0;
}

function parseJsonOrUndefined(text: string): unknown {
    try {
        return JSON.parse(text);
    } catch {
        return undefined; // parseStackOutputs names the JSON error
    }
}
