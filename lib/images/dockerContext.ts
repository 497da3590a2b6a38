/**
 * What Docker sends as a build context: the files of a directory that `.dockerignore`
 * (or `<Dockerfile>.dockerignore`, which BuildKit prefers) lets through, with BuildKit's own
 * matching rules (moby/patternmatcher + tonistiigi/fsutil, ported in ./dockerignorePatterns.ts; see
 * docs/decisions/0010-own-dockerignore-matcher-and-listing-cache.md). Also checks that a
 * Dockerfile's COPY/ADD sources are inside the context and not excluded.
 */
import { createHash } from "crypto";
import type { DockerfileParser as Parser } from "dockerfile-ast";
import * as fs from "fs";
import * as path from "path";
import { compileIgnoreLines, DockerignoreError, IgnoreRules, MATCHER_VERSION, matchUsingParentResults, ParentMatchInfo, pathExcluder, readIgnoreLines } from "./dockerignorePatterns";

export { DockerignoreError } from "./dockerignorePatterns";

/** A file the context sends: its POSIX path relative to the context and its stat. */
export interface ContextFile {
    /** Relative POSIX path, e.g. `scripts/install.sh`. */
    path: string;
    /** Absolute path on disk. */
    absolutePath: string;
    /** `file` or `symlink` (Docker sends a symlink as a link, not its target). */
    kind: "file" | "symlink";
    stat: fs.BigIntStats;
}

/** The ignore file Docker uses for this Dockerfile/context pair, or undefined. */
export function dockerignoreFile(contextDir: string, dockerfilePath: string): string | undefined {
    const specific = `${dockerfilePath}.dockerignore`;
    if (fs.existsSync(specific)) return specific;
    const general = path.join(contextDir, ".dockerignore");
    return fs.existsSync(general) ? general : undefined;
}

/** Parses .dockerignore text as Docker does (moby/patternmatcher ignorefile.ReadAll): the patterns, cleaned. */
export function parseDockerignore(text: string): string[] {
    return readIgnoreLines(text).map((l) => l.pattern);
}

/**
 * A matcher answering "does Docker exclude this relative path?" with BuildKit's rules
 * (lib/images/dockerignorePatterns.ts: moby/patternmatcher's MatchesUsingParentResults with the
 * per-directory match state tonistiigi/fsutil's walker carries). Throws DockerignoreError for a
 * pattern Docker rejects (a lone `!`, `[]`).
 */
export function dockerignoreMatcher(patterns: string[]): (relPath: string) => boolean {
    const m = pathExcluder(compileIgnoreLines(patterns.map((pattern) => ({ pattern, line: 0 }))));
    return (file) => m.excluded(file);
}

/**
 * A context's sent-file list remembered with the stat stamp of every directory the walk read, as git's
 * untracked cache does: adding, removing or renaming an entry moves its directory's mtime and ctime,
 * so while every stamp holds, the list holds, and a warm listing needs no readdir and no
 * `.dockerignore` evaluation, only a stat per directory and per file.
 */
export interface CachedListing {
    /** SHA-256 of the ignore file's path and text the list was made under. */
    ignoreSha256: string;
    /** Each walked directory (relative, `""` for the context root) and its stamp. */
    dirs: [string, string][];
    /** The sent files, sorted: relative path and `f` (file) or `l` (symlink). */
    files: [string, "f" | "l"][];
}

/** Where listings persist (the hash cache, lib/images/contentHash.ts `FileHashCache`), keyed by context directory and ignore file. */
export interface ListingCache {
    getListing(key: string): CachedListing | undefined;
    setListing(key: string, listing: CachedListing): void;
}

/** Options for {@link listContextFiles}. */
export interface ListContextOptions {
    /** Remembered listings. @default none (every directory read, every path matched) */
    cache?: ListingCache;
    /** Now (wall clock, ns): a directory changed within the racy window is not remembered. @default Date.now() */
    nowNs?: bigint;
    /** @default 2 s, as the file hash cache */
    racyWindowNs?: bigint;
}

/** What a remembered listing is valid for: a directory's mtime (ns), ctime (ns) and inode. */
function dirStamp(st: fs.BigIntStats): string {
    return `${st.mtimeNs}:${st.ctimeNs}:${st.ino}`;
}

/** The files of a remembered listing, when every directory's stamp still holds (else undefined). */
function replayListing(contextDir: string, cached: CachedListing): ContextFile[] | undefined {
    for (const [rel, stamp] of cached.dirs) {
        let st: fs.BigIntStats;
        try {
            st = fs.lstatSync(rel === "" ? contextDir : path.join(contextDir, rel), { bigint: true });
        } catch {
            return undefined;
        }
        if (!st.isDirectory() || dirStamp(st) !== stamp) return undefined;
    }
    const out = new Array<ContextFile>(cached.files.length);
    for (let i = 0; i < cached.files.length; i++) {
        const [rel, kind] = cached.files[i];
        const abs = path.join(contextDir, rel);
        let st: fs.BigIntStats;
        try {
            st = fs.lstatSync(abs, { bigint: true });
        } catch {
            return undefined; // removed after its directory was stamped: walk again
        }
        if (kind === "l" ? !st.isSymbolicLink() : !st.isFile()) return undefined;
        out[i] = { path: rel, absolutePath: abs, kind: kind === "l" ? "symlink" : "file", stat: st };
    }
    return out;
}

/**
 * Lists the files of `contextDir` that a build with `dockerfilePath` sends, sorted by path.
 * Excluded directories are not walked unless the file has a `!` (re-include) pattern. With a cache,
 * a listing whose directories are all unchanged (and made under the same ignore file) is reused.
 */
export function listContextFiles(contextDir: string, dockerfilePath: string, opts: ListContextOptions = {}): ContextFile[] {
    const ignorePath = dockerignoreFile(contextDir, dockerfilePath);
    const ignoreText = ignorePath ? fs.readFileSync(ignorePath, "utf8") : "";
    // The matcher's version is part of the key: a listing made by an older matcher is never replayed.
    const ignoreSha256 = createHash("sha256").update(`mlci-dockerignore-matcher/v${MATCHER_VERSION}\0${ignorePath ?? ""}\0${ignoreText}`).digest("hex");
    // Two Dockerfiles sharing a context with their own ignore files keep one listing each.
    const key = `${contextDir}\0${ignorePath ?? ""}`;
    const cached = opts.cache?.getListing(key);
    if (cached !== undefined && cached.ignoreSha256 === ignoreSha256) {
        const replayed = replayListing(contextDir, cached);
        if (replayed !== undefined) return replayed;
    }
    let rules: IgnoreRules;
    try {
        rules = compileIgnoreLines(readIgnoreLines(ignoreText));
    } catch (e) {
        if (e instanceof DockerignoreError && ignorePath) throw new DockerignoreError(e.line, e.pattern, e.problem, ignorePath);
        throw e;
    }
    const nowNs = opts.nowNs ?? BigInt(Date.now()) * 1_000_000n;
    const racyWindowNs = opts.racyWindowNs ?? 2_000_000_000n;
    const dirs: [string, string][] = [];
    let racy = false;
    const out: ContextFile[] = [];
    // BuildKit's walk (tonistiigi/fsutil filterFS.Walk): each entry is matched with its directory's match info.
    const walk = (dirAbs: string, dirRel: string, dirInfo: ParentMatchInfo) => {
        if (opts.cache) {
            // Stamped before it is read: an entry added meanwhile moves the stamp, so the next run walks again.
            const st = fs.lstatSync(dirAbs, { bigint: true });
            if (nowNs - st.mtimeNs < racyWindowNs || nowNs - st.ctimeNs < racyWindowNs) racy = true;
            dirs.push([dirRel, dirStamp(st)]);
        }
        const entries = fs.readdirSync(dirAbs, { withFileTypes: true });
        for (const e of entries) {
            const rel = dirRel === "" ? e.name : `${dirRel}/${e.name}`;
            const abs = path.join(dirAbs, e.name);
            if (e.isDirectory()) {
                const m = matchUsingParentResults(rules.patterns, rel, dirInfo);
                // With no `!` pattern nothing inside an excluded directory can be sent (fsutil skips it too).
                if (m.excluded && !rules.hasExclusions) continue;
                walk(abs, rel, m.info);
            } else if (e.isFile() || e.isSymbolicLink()) {
                if (matchUsingParentResults(rules.patterns, rel, dirInfo).excluded) continue;
                out.push({ path: rel, absolutePath: abs, kind: e.isSymbolicLink() ? "symlink" : "file", stat: fs.lstatSync(abs, { bigint: true }) });
            }
        }
    };
    walk(contextDir, "", undefined);
    out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    // A directory changed within the racy window could change again without its stamp moving: not remembered.
    if (opts.cache && !racy) opts.cache.setListing(key, { ignoreSha256, dirs, files: out.map((f) => [f.path, f.kind === "symlink" ? "l" : "f"]) });
    return out;
}

/** A COPY/ADD source that the build would not find in its context. */
export interface ContextViolation {
    line: number;
    instruction: string;
    /** The source as written, e.g. `requirements-py${PYTHON_VERSION}.lock`. */
    source: string;
    /** The source after build-arg and ARG-default substitution, e.g. `requirements-py3.13.lock`. */
    expanded: string;
    reason: "outside-context" | "not-in-context";
}

const VALUE_FLAGS = /^--(from|chown|chmod|parents|link|exclude|checksum|keep-git-dir)(=|$)/;

interface PropertyLike {
    getName(): string;
    getValue(): string | null;
}

/** Marks a variable the Dockerfile does not define (it may come from the parent image's ENV). */
const UNKNOWN = "\u0000";

/**
 * Expands `$X`, `${X}`, `${X:-d}`, `${X-d}`, `${X:+d}`, `${X+d}` as BuildKit does for COPY/ADD, from the
 * variables in scope. A variable not in scope becomes {@link UNKNOWN}.
 */
export function expandVariables(text: string, scope: Map<string, string>): string {
    return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_m, braced, op, word, bare) => {
        const name = (braced ?? bare) as string;
        const value = scope.get(name);
        const set = value !== undefined;
        const nonEmpty = set && value !== "";
        switch (op) {
            case ":-":
                return nonEmpty ? value! : (word as string);
            case "-":
                return set ? value! : (word as string);
            case ":+":
                return nonEmpty ? (word as string) : "";
            case "+":
                return set ? (word as string) : "";
            default:
                return set ? value! : UNKNOWN;
        }
    });
}

/**
 * Checks each COPY/ADD of a Dockerfile against the files the context sends: a source that
 * escapes the context, or matches no sent file (missing, or excluded by .dockerignore), breaks
 * both the build and the content-hash tag. Sources are expanded first with what one image's build
 * sees: `buildArgs` (the args the program passes) over the Dockerfile's ARG defaults, with Docker's
 * scoping (an ARG before the first FROM is visible in a stage only when redeclared there; an ARG
 * declared without a value and not passed is empty), and the stage's ENV. A source that uses a
 * variable the Dockerfile never defines (the parent image's ENV) cannot be known and is skipped.
 */
export function checkCopySources(dockerfileText: string, sentPaths: string[], buildArgs: Record<string, string> = {}): ContextViolation[] {
    const violations: ContextViolation[] = [];
    // Loaded on first use: a warm `ci-images tags` answers from the hash cache's verdicts without it.
    const { DockerfileParser } = require("dockerfile-ast") as { DockerfileParser: typeof Parser };
    const doc = DockerfileParser.parse(dockerfileText);
    const globalDefaults = new Map<string, string>();
    let scope = new Map<string, string>();
    let inStage = false;
    for (const ins of doc.getInstructions()) {
        const keyword = ins.getKeyword();
        if (keyword === "FROM") {
            inStage = true;
            scope = new Map();
            continue;
        }
        if (keyword === "ARG") {
            const property = (ins as unknown as { getProperty?: () => PropertyLike | null }).getProperty?.();
            if (!property) continue;
            const name = property.getName();
            const declared = property.getValue();
            const fallback = declared !== null ? expandVariables(declared, inStage ? scope : globalDefaults) : inStage ? globalDefaults.get(name) : undefined;
            const value = Object.prototype.hasOwnProperty.call(buildArgs, name) ? buildArgs[name] : fallback ?? "";
            (inStage ? scope : globalDefaults).set(name, value);
            continue;
        }
        if (keyword === "ENV" && inStage) {
            const properties = (ins as unknown as { getProperties?: () => PropertyLike[] }).getProperties?.() ?? [];
            for (const p of properties) scope.set(p.getName(), expandVariables(p.getValue() ?? "", scope));
            continue;
        }
        if (keyword !== "COPY" && keyword !== "ADD") continue;
        const flags = (ins as unknown as { getFlags?: () => { getName(): string }[] }).getFlags?.() ?? [];
        if (flags.some((f) => f.getName() === "from")) continue; // stage or image copy
        const json = (ins as unknown as { getJSONStrings?: () => { getJSONValue(): string }[] }).getJSONStrings?.() ?? [];
        const raw = json.length > 0 ? json.map((s) => s.getJSONValue()) : ins.getArguments().map((a) => a.getValue());
        if (raw.some((a) => /^--from(=|$)/.test(a))) continue;
        const args = raw.filter((a) => !VALUE_FLAGS.test(a));
        if (args.length < 2 || args.some((a) => a.startsWith("<<"))) continue; // heredoc or malformed: left to the linter
        const line = (ins.getRange()?.start.line ?? 0) + 1;
        for (const source of args.slice(0, -1)) {
            if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source) || source.startsWith("git@")) continue; // remote ADD: the linter forbids it
            const expanded = expandVariables(source, scope);
            if (expanded.includes(UNKNOWN)) continue; // a variable from the parent image's ENV: unknowable statically
            const normalized = path.posix.normalize(expanded.replace(/^\/+/, "") || ".");
            if (normalized === ".." || normalized.startsWith("../")) {
                violations.push({ line, instruction: keyword, source, expanded, reason: "outside-context" });
                continue;
            }
            if (normalized === "." || normalized === "./") continue;
            let matches: (relPath: string) => boolean;
            try {
                // The same globbing as .dockerignore (escaping `c++`, `a(b)c`, `torch-2.5.1+cu124-….whl`; case-sensitive).
                matches = dockerignoreMatcher([normalized.replace(/\/$/, "")]);
            } catch (e) {
                if (e instanceof DockerignoreError) continue; // not a pattern Docker accepts: the build reports it
                throw e;
            }
            if (!sentPaths.some((p) => matches(p))) violations.push({ line, instruction: keyword, source, expanded, reason: "not-in-context" });
        }
    }
    return violations;
}

/** Why a COPY source reaches no sent file: no such file, or the ignore-file line that excludes it. */
export type MissingSourceCause = { kind: "missing" } | { kind: "excluded"; ignoreFile: string; line: number; pattern: string; file: string };

/**
 * Explains a `not-in-context` violation: when a file on disk matches the (expanded) source, names the
 * `.dockerignore` line that excludes it (Docker's rule: the last matching pattern decides).
 */
export function explainMissingSource(contextDir: string, dockerfilePath: string, expandedSource: string): MissingSourceCause {
    const normalized = path.posix.normalize(expandedSource.replace(/^\/+/, "")).replace(/\/$/, "");
    const matches = dockerignoreMatcher([normalized]);
    const onDisk: string[] = [];
    const walk = (dirAbs: string, dirRel: string) => {
        for (const e of fs.readdirSync(dirAbs, { withFileTypes: true })) {
            const rel = dirRel === "" ? e.name : `${dirRel}/${e.name}`;
            if (e.isDirectory()) walk(path.join(dirAbs, e.name), rel);
            else if (matches(rel)) onDisk.push(rel);
        }
    };
    walk(contextDir, "");
    const ignorePath = dockerignoreFile(contextDir, dockerfilePath);
    if (onDisk.length === 0 || !ignorePath) return { kind: "missing" };
    const lines = fs.readFileSync(ignorePath, "utf8").split(/\r?\n/);
    const file = onDisk.sort()[0];
    let decisive: { line: number; pattern: string } | undefined;
    lines.forEach((text, i) => {
        const pattern = text.trim();
        if (pattern === "" || pattern.startsWith("#")) return;
        const body = pattern.startsWith("!") ? pattern.slice(1) : pattern;
        if (dockerignoreMatcher([body])(file)) decisive = { line: i + 1, pattern };
    });
    if (!decisive || decisive.pattern.startsWith("!")) return { kind: "missing" };
    return { kind: "excluded", ignoreFile: ignorePath, line: decisive.line, pattern: decisive.pattern, file };
}
