/**
 * What Docker sends as a build context: the files of a directory that `.dockerignore`
 * (or `<Dockerfile>.dockerignore`, which BuildKit prefers) lets through, with Docker's own
 * matching rules (via @balena/dockerignore, a port of Docker's matcher). Also checks that a
 * Dockerfile's COPY/ADD sources are inside the context and not excluded.
 */
import ignore from "@balena/dockerignore";
import { DockerfileParser } from "dockerfile-ast";
import * as fs from "fs";
import * as path from "path";

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

/** Parses .dockerignore text as Docker does: `#` comments, blank lines, trimmed patterns. */
export function parseDockerignore(text: string): string[] {
    return text
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter((l) => l !== "" && !l.startsWith("#"));
}

/** A matcher answering "does Docker exclude this relative path?". */
export function dockerignoreMatcher(patterns: string[]): (relPath: string) => boolean {
    const fast = IgnoreRules.compile(patterns);
    if (!fast) {
        const ig = ignore().add(patterns);
        return (p) => ig.ignores(p);
    }
    const parents = new Map<string, boolean[]>();
    return (p) => {
        if (!p) return true;
        const dir = path.posix.dirname(p);
        let state = parents.get(dir);
        if (state === undefined) parents.set(dir, (state = fast.parentState(cleanPath(dir))));
        return fast.ignores(p, state);
    };
}

/** Go's filepath.Clean as @balena/dockerignore applies it to a parent directory. */
function cleanPath(p: string): string {
    return path.posix.normalize(p).replace(/(?<=.)\/$/, "");
}

interface CompiledRule {
    negative: boolean;
    regexp: RegExp;
    dirs: string[];
    doubleStar: boolean;
    /** Segments that are not `**`: the shortest parent prefix worth testing. */
    minDirs: number;
}

/**
 * The rules of @balena/dockerignore (1.0.2, pinned) evaluated with its own compiled regexps, but
 * with the parent-directory half of each rule computed once per directory instead of once per
 * file. `ignores(p, parentState(dirname p))` equals `ignore().add(patterns).ignores(p)`; a test
 * checks that on random patterns and paths. Returns undefined (callers use the library as is)
 * if the library's internals are not the expected shape or the platform is not POSIX.
 */
class IgnoreRules {
    private constructor(
        readonly rules: CompiledRule[],
        /** An excluded directory can be skipped: no `!` rule could re-include anything below it. */
        private readonly pruneTest: (dirRel: string) => boolean,
    ) {}

    static compile(patterns: string[]): IgnoreRules | undefined {
        if (path.sep !== "/") return undefined;
        const ig = ignore().add(patterns) as unknown as { _rules?: unknown; _compile?: (r: unknown) => { regexp?: unknown } };
        if (!Array.isArray(ig._rules) || typeof ig._compile !== "function") return undefined;
        const rules: CompiledRule[] = [];
        for (const r of ig._rules as { negative?: unknown; dirs?: unknown; pattern?: unknown }[]) {
            const regexp = ig._compile.call(ig, r).regexp;
            if (!(regexp instanceof RegExp) || regexp.global || regexp.sticky || typeof r.negative !== "boolean" || !Array.isArray(r.dirs) || typeof r.pattern !== "string") return undefined;
            const dirs = r.dirs as string[];
            rules.push({ negative: r.negative, regexp, dirs, doubleStar: dirs.includes("**"), minDirs: dirs.filter((d) => d !== "**").length });
        }
        return new IgnoreRules(rules, IgnoreRules.pruneTest(rules));
    }

    /**
     * Whether an excluded directory may be skipped. Without `!` rules, always (an excluded
     * directory excludes everything below it). With them, only when every `!` rule has a literal
     * segment, within the directory's depth, that differs from the directory's own: such a rule
     * cannot match any path below it. Globs, `**`, escapes or character classes: walk.
     */
    private static pruneTest(rules: CompiledRule[]): (dirRel: string) => boolean {
        const negatives = rules.filter((r) => r.negative);
        if (negatives.length === 0) return () => true;
        if (negatives.some((r) => r.doubleStar)) return () => false;
        // A segment compared as text: plain ASCII name characters only (the library passes other
        // characters, e.g. `+` or `(`, into its regexp unescaped).
        const literal = (seg: string) => /^[A-Za-z0-9._-]+$/.test(seg);
        return (dirRel) => {
            const segs = dirRel.toLowerCase().split("/");
            return negatives.every((r) => {
                for (let i = 0; i < segs.length && i < r.dirs.length; i++) {
                    if (!literal(r.dirs[i])) return false;
                    if (r.dirs[i].toLowerCase() !== segs[i]) return true;
                }
                return false;
            });
        };
    }

    /** Per rule: does it match one of the parent directories of a path whose (clean) dirname is `parent`. */
    parentState(parent: string): boolean[] {
        if (parent === ".") return this.rules.map(() => false);
        const parentDirs = parent.split("/");
        return this.rules.map((rule) => {
            if (rule.doubleStar) {
                for (let i = rule.minDirs; i <= parentDirs.length; i++) if (rule.regexp.test(parentDirs.slice(0, i).join("/"))) return true;
                return false;
            }
            return rule.dirs.length <= parentDirs.length && rule.regexp.test(parentDirs.slice(0, rule.dirs.length).join("/"));
        });
    }

    /** Docker's verdict for `rel`, given the parent state of its directory: the last matching rule wins. */
    ignores(rel: string, parentState: boolean[]): boolean {
        for (let i = this.rules.length - 1; i >= 0; i--) {
            const rule = this.rules[i];
            if (parentState[i] || rule.regexp.test(rel)) return !rule.negative;
        }
        return false;
    }

    canSkipExcludedDir(dirRel: string): boolean {
        return this.pruneTest(dirRel);
    }
}

/**
 * Lists the files of `contextDir` that a build with `dockerfilePath` sends, sorted by path.
 * Excluded directories are not walked unless a `!` pattern could re-include something below.
 */
export function listContextFiles(contextDir: string, dockerfilePath: string): ContextFile[] {
    const ignorePath = dockerignoreFile(contextDir, dockerfilePath);
    const patterns = ignorePath ? parseDockerignore(fs.readFileSync(ignorePath, "utf8")) : [];
    const fast = IgnoreRules.compile(patterns);
    return fast ? listWithRules(contextDir, fast) : listWithLibrary(contextDir, patterns);
}

function listWithRules(contextDir: string, rules: IgnoreRules): ContextFile[] {
    const out: ContextFile[] = [];
    // Same absolute paths as path.join(contextDir, rel), without normalizing every one of them.
    const root = path.normalize(contextDir).replace(/(?<=.)\/$/, "");
    const join = (dirAbs: string, name: string) => (dirAbs === "." ? name : dirAbs === "/" ? `/${name}` : `${dirAbs}/${name}`);
    const walk = (dirAbs: string, dirRel: string) => {
        const entries = fs.readdirSync(dirAbs, { withFileTypes: true });
        const state = rules.parentState(dirRel === "" ? "." : dirRel);
        for (const e of entries) {
            const rel = dirRel === "" ? e.name : `${dirRel}/${e.name}`;
            const abs = join(dirAbs, e.name);
            if (e.isDirectory()) {
                if (rules.ignores(rel, state) && rules.canSkipExcludedDir(rel)) continue;
                walk(abs, rel);
            } else if (e.isFile() || e.isSymbolicLink()) {
                if (rules.ignores(rel, state)) continue;
                out.push({ path: rel, absolutePath: abs, kind: e.isSymbolicLink() ? "symlink" : "file", stat: fs.lstatSync(abs, { bigint: true }) });
            }
        }
    };
    walk(root, "");
    out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return out;
}

/** The plain walk over the library's matcher, for platforms or library versions the fast rules do not cover. */
function listWithLibrary(contextDir: string, patterns: string[]): ContextFile[] {
    const ig = ignore().add(patterns);
    const excluded = (p: string) => ig.ignores(p);
    const hasReinclude = patterns.some((p) => p.startsWith("!"));
    const out: ContextFile[] = [];
    const walk = (dirAbs: string, dirRel: string) => {
        const entries = fs.readdirSync(dirAbs, { withFileTypes: true });
        for (const e of entries) {
            const rel = dirRel === "" ? e.name : `${dirRel}/${e.name}`;
            const abs = path.join(dirAbs, e.name);
            if (e.isDirectory()) {
                if (excluded(rel) && !hasReinclude) continue;
                walk(abs, rel);
            } else if (e.isFile() || e.isSymbolicLink()) {
                if (excluded(rel)) continue;
                out.push({ path: rel, absolutePath: abs, kind: e.isSymbolicLink() ? "symlink" : "file", stat: fs.lstatSync(abs, { bigint: true }) });
            }
        }
    };
    walk(contextDir, "");
    out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return out;
}

/** A COPY/ADD source that the build would not find in its context. */
export interface ContextViolation {
    line: number;
    instruction: string;
    source: string;
    reason: "outside-context" | "not-in-context";
}

const VALUE_FLAGS = /^--(from|chown|chmod|parents|link|exclude|checksum|keep-git-dir)(=|$)/;

/**
 * Checks each COPY/ADD of a Dockerfile against the files the context sends: a source that
 * escapes the context, or matches no sent file (missing, or excluded by .dockerignore), breaks
 * both the build and the content-hash tag.
 */
export function checkCopySources(dockerfileText: string, sentPaths: string[]): ContextViolation[] {
    const violations: ContextViolation[] = [];
    const doc = DockerfileParser.parse(dockerfileText);
    for (const ins of doc.getInstructions()) {
        const keyword = ins.getKeyword();
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
            if (source.includes("$")) continue; // variable: unknowable statically
            const normalized = path.posix.normalize(source.replace(/^\/+/, "") || ".");
            if (normalized === ".." || normalized.startsWith("../")) {
                violations.push({ line, instruction: keyword, source, reason: "outside-context" });
                continue;
            }
            if (normalized === "." || normalized === "./") continue;
            const matches = dockerignoreMatcher([normalized.replace(/\/$/, "")]);
            if (!sentPaths.some((p) => matches(p))) violations.push({ line, instruction: keyword, source, reason: "not-in-context" });
        }
    }
    return violations;
}
