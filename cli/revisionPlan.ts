/**
 * A stack planned at a git revision, next to the working tree's: `changed`, `explain` and `graph`
 * compare the two. The revision's tree is read with `git archive` into a temporary directory (the
 * working tree and the index are never touched) and planned with this checkout's code, so both sides
 * are hashed the same way; only the hash-scheme version is read from the revision's own source.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ConfigError } from "../lib/config/problems";
import type { TaggedImage } from "../lib/images/graph";
import { explainRebuilds, ImageRebuild } from "../lib/images/rebuildReasons";
import { planStackFile, StackPlan } from "../lib/stackPlan";
import { CliError, CommandContext, UsageError } from "./context";

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
    if (!top.ok) throw new CliError(`${root} is not in a git repository (${top.stderr}). Fix: run ci-images in a git checkout`);
    const r = git(root, ["rev-parse", "--verify", "--quiet", `${rev}^{commit}`]);
    if (r.ok) return r.stdout.toString().trim();
    const shallow = git(root, ["rev-parse", "--is-shallow-repository"]).stdout.toString().trim() === "true";
    throw new UsageError(
        shallow
            ? `unknown git revision "${rev}": this checkout is shallow (actions/checkout fetches one commit unless told otherwise). Fix: set \`fetch-depth: 0\` on actions/checkout, or \`git fetch --unshallow\`, then retry`
            : `unknown git revision "${rev}". Fix: pass a commit, branch or tag this clone has (e.g. origin/main after \`git fetch origin main\`)`,
    );
}

/** The stack as it was at a revision. */
export interface RevisionPlan {
    /** The commit the revision resolved to. */
    commit: string;
    /** Its images (this checkout's hashing over the revision's tree), or undefined when its config did not validate (or it had no such stack). */
    images: TaggedImage[] | undefined;
    /** Why the revision's config did not validate under this checkout's rules: the config paths of its problems. */
    invalid?: string;
    /** The hash-scheme version the revision's code tagged with (`HASH_SCHEME` in its lib/images/contentHash.ts), or undefined when it cannot be read. */
    hashScheme: string | undefined;
}

/** The source file that declares the hash scheme, project-relative. */
const HASH_SCHEME_SOURCE = "lib/images/contentHash.ts";

/** Plans `stack` at `rev` of the repository holding the project `root` (no checkout, no index change). */
export async function planAtRevision(root: string, stack: string, rev: string, env: NodeJS.ProcessEnv): Promise<RevisionPlan> {
    const commit = resolveRevision(root, rev);
    const top = git(root, ["rev-parse", "--show-toplevel"]).stdout.toString().trim();
    const sub = path.relative(top, root);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ci-images-"));
    try {
        const archive = git(top, ["archive", "--format=tar", commit, ...(sub ? [sub] : [])]);
        if (!archive.ok) throw new CliError(`git archive ${rev} failed: ${archive.stderr}`);
        const tar = spawnSync("tar", ["-x", "-C", tmp], { input: archive.stdout });
        if (tar.status !== 0) throw new CliError(`unpacking ${rev} failed: ${tar.stderr.toString().trim()}`);
        const oldRoot = path.join(tmp, sub);
        let images: TaggedImage[] | undefined;
        let invalid: string | undefined;
        try {
            images = (await planStackFile(oldRoot, stack, { env, useHashCache: false })).images;
        } catch (e) {
            // The old tree did not validate (or had no such stack): every image counts as changed.
            if (!(e instanceof ConfigError)) throw e;
            invalid = [...new Set(e.problems.map((p) => `mlci:${p.path}`))].join(", ");
        }
        return { commit, images, invalid, hashScheme: readHashScheme(path.join(oldRoot, HASH_SCHEME_SOURCE)) };
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
}

/** The `HASH_SCHEME` string a contentHash.ts source declares, or undefined. */
export function readHashScheme(file: string): string | undefined {
    if (!fs.existsSync(file)) return undefined;
    return /export const HASH_SCHEME\s*=\s*"([^"]+)"/.exec(fs.readFileSync(file, "utf8"))?.[1];
}

/** The revision `explain` and `graph` compare with when --since is not given: the last commit. */
export const DEFAULT_SINCE = "HEAD";

/** Every image of the working tree's plan compared with its self at `rev`: what rebuilds, and why. */
export async function rebuildsSince(ctx: Pick<CommandContext, "plan" | "root" | "stack" | "env">, rev: string): Promise<{ commit: string; rebuilds: ImageRebuild[]; plan: StackPlan }> {
    const plan = await ctx.plan();
    const { images } = plan;
    const before = await planAtRevision(ctx.root(), ctx.stack(), rev, ctx.env);
    const previous = before.images === undefined ? { invalid: `${rev}: ${before.invalid ?? "no valid config"}` } : { images: before.images, hashScheme: before.hashScheme };
    return { commit: before.commit, rebuilds: explainRebuilds(previous, { images }), plan };
}
