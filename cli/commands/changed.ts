/**
 * `ci-images changed --stack S --since <rev>`: the images whose content-hash tag moved since a git
 * revision (what the next `pulumi up` rebuilds). Exit 1 when any did, as `git diff --exit-code`.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ConfigError } from "../../lib/config/problems";
import type { TaggedImage } from "../../lib/images/graph";
import { planStackFile, StackPlan } from "../../lib/stackPlan";
import { CliError, CommandContext, UsageError } from "../context";
import { imagesJson } from "./tags";

function git(cwd: string, args: string[], input?: Buffer): { ok: boolean; stdout: Buffer; stderr: string } {
    const r = spawnSync("git", args, { cwd, input, maxBuffer: 1 << 30 });
    if (r.error) throw new CliError(`git could not run (${r.error.message}). Fix: install git`);
    return { ok: r.status === 0, stdout: r.stdout, stderr: r.stderr.toString().trim() };
}

/**
 * The commit `rev` names in the repository at `root`. An unknown revision is a usage error that says
 * why: in a shallow clone (actions/checkout's default fetch-depth: 1) older commits are absent.
 */
export function resolveRevision(root: string, rev: string): string {
    const top = git(root, ["rev-parse", "--show-toplevel"]);
    if (!top.ok) throw new CliError(`${root} is not in a git repository (${top.stderr}). Fix: run changed in a git checkout`);
    const r = git(root, ["rev-parse", "--verify", "--quiet", `${rev}^{commit}`]);
    if (r.ok) return r.stdout.toString().trim();
    const shallow = git(root, ["rev-parse", "--is-shallow-repository"]).stdout.toString().trim() === "true";
    throw new UsageError(
        shallow
            ? `unknown git revision "${rev}": this checkout is shallow (actions/checkout fetches one commit unless told otherwise). Fix: set \`fetch-depth: 0\` on actions/checkout, or \`git fetch --unshallow\`, then retry`
            : `unknown git revision "${rev}". Fix: pass a commit, branch or tag this clone has (e.g. origin/main after \`git fetch origin main\`)`,
    );
}

/** The stack planned from the tree at git revision `rev`; undefined when that tree did not validate (or had no such stack). */
export async function planStackAtRevision(root: string, stack: string, rev: string, env: NodeJS.ProcessEnv): Promise<StackPlan | undefined> {
    const commit = resolveRevision(root, rev);
    const top = git(root, ["rev-parse", "--show-toplevel"]).stdout.toString().trim();
    const sub = path.relative(top, root);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ci-images-"));
    try {
        const archive = git(top, ["archive", "--format=tar", commit, ...(sub ? [sub] : [])]);
        if (!archive.ok) throw new CliError(`git archive ${rev} failed: ${archive.stderr}`);
        const tar = spawnSync("tar", ["-x", "-C", tmp], { input: archive.stdout });
        if (tar.status !== 0) throw new CliError(`unpacking ${rev} failed: ${tar.stderr.toString().trim()}`);
        try {
            return await planStackFile(path.join(tmp, sub), stack, { env, useHashCache: false });
        } catch (e) {
            if (!(e instanceof ConfigError)) throw e;
            return undefined;
        }
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
}

/** Images whose tag at `rev` differs from the working tree's (or that are new), with the previous tags. */
export async function changedSince(root: string, stack: string, rev: string, current: TaggedImage[], env: NodeJS.ProcessEnv): Promise<{ changed: TaggedImage[]; previous: Map<string, string> }> {
    const old = await planStackAtRevision(root, stack, rev, env);
    // An old tree that did not validate: every image counts as changed.
    const previous = new Map<string, string>((old?.images ?? []).map((i) => [i.name, i.tag]));
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
