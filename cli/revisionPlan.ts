/**
 * A stack planned at a git revision, next to the working tree's: `changed`, `explain` and `graph`
 * compare the two. The revision's tree is read into a temporary directory with `git read-tree` into a
 * temporary index and `git checkout-index --prefix` (the working tree and the real index are never
 * touched; unlike `git archive`, `export-ignore` and `export-subst` attributes do not alter it) and
 * planned with this checkout's code, so both sides are hashed the same way; the hash-scheme version is
 * read from the revision's own source, and when the code that shapes tags (tagCode.ts) differs from
 * the revision's, the revision's own `ci-images tags --json` is run: unless it confirms the tags
 * computed here, every verdict carries a caveat that the revision's real tags are unknown.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ConfigError } from "../lib/config/problems";
import type { TaggedImage } from "../lib/images/graph";
import { explainRebuilds, ImageRebuild } from "../lib/images/rebuildReasons";
import { planStackFile, StackPlan } from "../lib/stackPlan";
import type { StackConfig } from "../lib/config/schema";
import { CliError, CommandContext, UsageError } from "./context";
import { tagCodeDifferences, tagCodeFingerprint } from "./tagCode";

function git(cwd: string, args: string[], input?: Buffer, env?: NodeJS.ProcessEnv): { ok: boolean; stdout: Buffer; stderr: string } {
    const r = spawnSync("git", args, { cwd, input, maxBuffer: 1 << 30, env: env ?? process.env });
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
    /** Its validated config, or undefined when it did not validate (check --since compares registry.protect with it). */
    config?: StackConfig;
    /** Why the revision's config did not validate under this checkout's rules: the config paths of its problems. */
    invalid?: string;
    /** The hash-scheme version the revision's code tagged with (`HASH_SCHEME` in its lib/images/contentHash.ts), or undefined when it cannot be read. */
    hashScheme: string | undefined;
    /** Files and packages of the tag code (tagCode.ts) that differ between the revision and the working tree, sorted; empty when the same. */
    tagCodeChanges: string[];
    /**
     * When the tag code differs: the tags the revision's OWN code gives (its `ci-images tags --json`,
     * run from its tree with this checkout's node_modules), by image name; undefined when it could not run.
     */
    ownTags?: Map<string, string>;
}

/** The source file that declares the hash scheme, project-relative. */
const HASH_SCHEME_SOURCE = "lib/images/contentHash.ts";

/** Plans `stack` at `rev` of the repository holding the project `root` (no checkout, no index change). */
export async function planAtRevision(root: string, stack: string, rev: string, env: NodeJS.ProcessEnv, opts: { ownTags?: boolean } = {}): Promise<RevisionPlan> {
    const commit = resolveRevision(root, rev);
    const top = git(root, ["rev-parse", "--show-toplevel"]).stdout.toString().trim();
    const sub = path.relative(top, root);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ci-images-"));
    try {
        // A private index: the repository's own index and working tree are never touched.
        const indexEnv = { ...process.env, GIT_INDEX_FILE: path.join(tmp, "index") };
        const read = git(top, ["read-tree", commit], undefined, indexEnv);
        if (!read.ok) throw new CliError(`git read-tree ${rev} failed: ${read.stderr}`);
        const checkout = git(top, ["checkout-index", "-a", "-f", `--prefix=${path.join(tmp, "tree")}/`], undefined, indexEnv);
        if (!checkout.ok) throw new CliError(`git checkout-index of ${rev} failed: ${checkout.stderr}`);
        const oldRoot = path.join(tmp, "tree", sub);
        let images: TaggedImage[] | undefined;
        let config: StackConfig | undefined;
        let invalid: string | undefined;
        try {
            ({ images, config } = await planStackFile(oldRoot, stack, { env, useHashCache: false }));
        } catch (e) {
            // The old tree did not validate (or had no such stack): every image counts as changed.
            if (!(e instanceof ConfigError)) throw e;
            invalid = [...new Set(e.problems.map((p) => `mlci:${p.path}`))].join(", ");
        }
        const tagCodeChanges = tagCodeDifferences(tagCodeFingerprint(oldRoot), tagCodeFingerprint(root));
        const ownTags = opts.ownTags !== false && tagCodeChanges.length > 0 && images !== undefined ? revisionOwnTags(oldRoot, stack, env, tmp) : undefined;
        return { commit, images, config, invalid, hashScheme: readHashScheme(path.join(oldRoot, HASH_SCHEME_SOURCE)), tagCodeChanges, ownTags };
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
}

/** The revision's CLI entry point, project-relative: `main(argv)` as in this checkout's cli/main.ts. */
const REVISION_CLI = "cli/main.ts";

/**
 * The tags the revision's own code computes: its `ci-images tags --json` run from its tree (ts-node,
 * transpile-only, with this checkout's node_modules linked in, its own hash cache in `scratch`).
 * Undefined when that cannot run (no CLI at the revision, a different interface, an error): the
 * caller then says the previous tags are unknown.
 */
export function revisionOwnTags(revRoot: string, stack: string, env: NodeJS.ProcessEnv, scratch: string): Map<string, string> | undefined {
    // This checkout's node_modules: where this CLI finds ts-node (a devDependency, which `npm ci` installs).
    let nodeModules: string;
    try {
        nodeModules = path.dirname(path.dirname(require.resolve("ts-node/package.json")));
    } catch {
        return undefined;
    }
    if (!fs.existsSync(path.join(revRoot, REVISION_CLI))) return undefined;
    try {
        if (!fs.existsSync(path.join(revRoot, "node_modules"))) fs.symlinkSync(nodeModules, path.join(revRoot, "node_modules"), "dir");
    } catch {
        return undefined;
    }
    const script = [
        `require(${JSON.stringify(path.join(nodeModules, "ts-node"))}).register({ transpileOnly: true, compilerOptions: { module: "commonjs", moduleResolution: "node", esModuleInterop: true }${fs.existsSync(path.join(revRoot, "tsconfig.json")) ? `, project: ${JSON.stringify(path.join(revRoot, "tsconfig.json"))}` : ""} });`,
        `require(${JSON.stringify(path.join(revRoot, REVISION_CLI))}).main(process.argv.slice(1)).then((c) => process.exit(c), (e) => { process.stderr.write(String(e)); process.exit(3); });`,
    ].join("\n");
    const r = spawnSync(process.execPath, ["-e", script, "tags", "--stack", stack, "--root", revRoot, "--json"], {
        cwd: revRoot,
        env: { ...env, MLCI_HASH_CACHE: path.join(scratch, "revision-hashes.json") },
        encoding: "utf8",
        maxBuffer: 1 << 28,
        timeout: 120_000,
    });
    if (r.status !== 0) return undefined;
    try {
        const parsed = JSON.parse(r.stdout) as { images?: { name?: unknown; tag?: unknown }[] };
        if (!Array.isArray(parsed.images)) return undefined;
        const tags = new Map<string, string>();
        for (const i of parsed.images) if (typeof i.name === "string" && typeof i.tag === "string") tags.set(i.name, i.tag);
        return tags;
    } catch {
        return undefined;
    }
}

/** The `HASH_SCHEME` string a contentHash.ts source declares, or undefined. */
export function readHashScheme(file: string): string | undefined {
    if (!fs.existsSync(file)) return undefined;
    return /export const HASH_SCHEME\s*=\s*"([^"]+)"/.exec(fs.readFileSync(file, "utf8"))?.[1];
}

/** The revision `explain` and `graph` compare with when --since is not given: the last commit. */
export const DEFAULT_SINCE = "HEAD";

/**
 * The caveat every verdict carries when the tag code changed since `rev` (at most five of the differing
 * files named) and the revision's own code could not confirm its tags (`differing`: how many of its own
 * tags differ from the ones computed here; undefined when its code could not run).
 */
export function tagCodeCaveat(rev: string, changes: string[], differing?: number): string {
    const named = changes.slice(0, 5).join(", ") + (changes.length > 5 ? ` and ${changes.length - 5} more` : "");
    const own = differing === undefined ? `${rev}'s own code could not be run` : `${rev}'s own code tags ${differing} image${differing === 1 ? "" : "s"} differently`;
    return `the tag code changed since ${rev} (${named}); previous tags unknown (${own}): the verdict compares the inputs as this checkout hashes them, not the tags ${rev} produced`;
}

/** Every image of the working tree's plan compared with its self at `rev`: what rebuilds, and why (and the caveat, when the tag code changed since). */
export async function rebuildsSince(
    ctx: Pick<CommandContext, "plan" | "root" | "stack" | "env">,
    rev: string,
): Promise<{ commit: string; rebuilds: ImageRebuild[]; plan: StackPlan; caveat?: string }> {
    const plan = await ctx.plan();
    const { images } = plan;
    const before = await planAtRevision(ctx.root(), ctx.stack(), rev, ctx.env);
    const previous = before.images === undefined ? { invalid: `${rev}: ${before.invalid ?? "no valid config"}` } : { images: before.images, hashScheme: before.hashScheme };
    const rebuilds = explainRebuilds(previous, { images });
    if (before.tagCodeChanges.length === 0) return { commit: before.commit, rebuilds, plan };
    // The tag code changed: the revision's own code decides whether its tags are the ones computed here.
    const own = before.ownTags;
    if (own !== undefined && before.images !== undefined && before.images.every((i) => own.get(i.name) === i.tag) && own.size === before.images.length) {
        return { commit: before.commit, rebuilds, plan }; // a change of code that moves no tag (a refactor)
    }
    const caveat = tagCodeCaveat(rev, before.tagCodeChanges, own === undefined ? undefined : before.images!.filter((i) => own.get(i.name) !== i.tag).length);
    return { commit: before.commit, rebuilds: rebuilds.map((r) => ({ ...r, caveat })), plan, caveat };
}
