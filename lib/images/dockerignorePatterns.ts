/**
 * Docker's `.dockerignore` rules, ported from their source rather than from a port of a port:
 * - reading the file: moby/patternmatcher `ignorefile.ReadAll` (BOM stripped, a line starting with `#`
 *   is a comment *before* trimming, so `  #x` is a pattern; trimmed; `filepath.Clean`; leading `/` dropped);
 * - compiling a pattern: moby/patternmatcher `New` and `Pattern.compile` (exact, prefix, suffix or
 *   regexp match; `.+()|{}$` escaped as `shouldEscape` does; case-sensitive on every OS; a lone `!` or a
 *   pattern `filepath.Match` rejects, e.g. `[]`, is an error: Docker fails the build);
 * - deciding a path: `PatternMatcher.MatchesUsingParentResults` with the per-directory match state
 *   tonistiigi/fsutil's filter walker (`filterFS.Walk`) carries from a directory to its entries, which is
 *   what BuildKit sends.
 * test/dockerignorePatterns.test.ts carries patternmatcher_test.go's tables as the reference.
 */

/** Bumped whenever an answer of this module can change: persisted context listings made by an older matcher are then ignored. */
export const MATCHER_VERSION = 2;

/** A `.dockerignore` that Docker would refuse: which line, and why. */
export class DockerignoreError extends Error {
    constructor(
        /** 1-based line of the ignore file (0 when the pattern did not come from a file). */
        readonly line: number,
        readonly pattern: string,
        readonly problem: string,
        /** The ignore file, when known. */
        readonly file?: string,
    ) {
        super(
            `${file ? `${file}:${line}: ` : line > 0 ? `line ${line}: ` : ""}${problem} in pattern "${pattern}" (Docker refuses this .dockerignore and fails the build). Fix: correct or delete the line`,
        );
    }
}

/** One pattern of an ignore file and the line it came from. */
export interface IgnoreLine {
    pattern: string;
    line: number;
}

/** Go's filepath.Clean for a POSIX path. */
export function goClean(p: string): string {
    if (p === "") return ".";
    const rooted = p.startsWith("/");
    const out: string[] = [];
    for (const seg of p.split("/")) {
        if (seg === "" || seg === ".") continue;
        if (seg === "..") {
            if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
            else if (!rooted) out.push("..");
        } else out.push(seg);
    }
    const joined = out.join("/");
    return rooted ? `/${joined}` : joined === "" ? "." : joined;
}

/** moby/patternmatcher ignorefile.ReadAll, keeping each pattern's line number. */
export function readIgnoreLines(text: string): IgnoreLine[] {
    const out: IgnoreLine[] = [];
    const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
    // bufio.Scanner yields no final empty token after a trailing newline; an empty line is skipped anyway.
    lines.forEach((raw, i) => {
        if (raw.startsWith("#")) return; // checked before trimming, as ReadAll does
        let pattern = raw.trim();
        if (pattern === "") return;
        const invert = pattern[0] === "!";
        if (invert) pattern = pattern.slice(1).trim();
        if (pattern.length > 0) {
            pattern = goClean(pattern);
            if (pattern.length > 1 && pattern[0] === "/") pattern = pattern.slice(1);
        }
        if (invert) pattern = `!${pattern}`;
        out.push({ pattern, line: i + 1 });
    });
    return out;
}

type MatchType = "exact" | "prefix" | "suffix" | "regexp";

/** One compiled pattern (patternmatcher's `Pattern`). */
export interface CompiledPattern {
    exclusion: boolean;
    /** The cleaned pattern without its `!`. */
    cleaned: string;
    type: MatchType;
    regexp?: RegExp;
    /** The regexp as patternmatcher writes it (RegExp.source escapes `/`). */
    regexpText?: string;
}

/** The syntax check `filepath.Match(p, ".")` makes in patternmatcher.New (Go ≥ 1.16 checks the whole pattern); a message or undefined. */
function globSyntaxError(p: string): string | undefined {
    const cps = [...p];
    let i = 0;
    // getEsc: one (possibly escaped) class character, followed by more of the pattern.
    const getEsc = (): string | undefined => {
        if (i >= cps.length || cps[i] === "-" || cps[i] === "]") return "bad character class";
        if (cps[i] === "\\") {
            i++;
            if (i >= cps.length) return "trailing backslash in character class";
        }
        i++;
        if (i >= cps.length) return "unterminated character class";
        return undefined;
    };
    while (i < cps.length) {
        const c = cps[i];
        if (c === "[") {
            i++;
            if (i < cps.length && cps[i] === "^") i++;
            let nrange = 0;
            for (;;) {
                if (i < cps.length && cps[i] === "]" && nrange > 0) {
                    i++;
                    break;
                }
                const e = getEsc();
                if (e) return e;
                if (cps[i] === "-") {
                    i++;
                    const e2 = getEsc();
                    if (e2) return e2;
                }
                nrange++;
            }
        } else if (c === "\\") {
            i++;
            if (i >= cps.length) return "trailing backslash";
            i++;
        } else i++;
    }
    return undefined;
}

/** The characters patternmatcher's shouldEscape escapes: regexp-special, with no meaning in filepath.Match. */
const SHOULD_ESCAPE = new Set([..."$()+.{|}"]);
/** Characters that JavaScript's `u` regexps accept after a backslash as the literal character. */
const JS_SYNTAX = new Set([..."^$\\.*+?()[]{}|/"]);
/** Escapes whose meaning Go's regexp and JavaScript's agree on. */
const SHARED_ESCAPES = new Set([..."dDwWsSbBfnrtv"]);

/** patternmatcher's Pattern.compile (POSIX separator). */
function compilePattern(cleaned: string, exclusion: boolean): CompiledPattern {
    const cps = [...cleaned];
    let re = "^";
    let type: MatchType = "exact";
    let inClass = false;
    for (let i = 0, k = 0; k < cps.length; i++) {
        const ch = cps[k++];
        if (ch === "*") {
            if (cps[k] === "*") {
                k++;
                if (cps[k] === "/") k++; // `**/` is `**`
                if (k >= cps.length) {
                    if (type === "exact") type = "prefix";
                    else {
                        re += ".*";
                        type = "regexp";
                    }
                } else {
                    re += "(.*/)?";
                    type = "regexp";
                }
                if (i === 0) type = "suffix";
            } else {
                re += "[^/]*";
                type = "regexp";
            }
        } else if (ch === "?") {
            re += "[^/]";
            type = "regexp";
        } else if (SHOULD_ESCAPE.has(ch)) {
            re += `\\${ch}`;
        } else if (ch === "\\") {
            if (k < cps.length) {
                const next = cps[k++];
                // Go reads `\x` as its regexp escape; JavaScript's `u` mode rejects most identity escapes.
                re += JS_SYNTAX.has(next) || SHARED_ESCAPES.has(next) || (inClass && next === "-") ? `\\${next}` : next;
                type = "regexp";
            } else re += "\\\\";
        } else if (ch === "[" || ch === "]") {
            if (ch === "]" && !inClass) re += "\\]";
            else re += ch;
            inClass = ch === "[" ? true : ch === "]" ? false : inClass;
            type = "regexp";
        } else re += ch;
    }
    if (type !== "regexp") return { exclusion, cleaned, type };
    let regexp: RegExp;
    try {
        regexp = new RegExp(`${re}$`, "u");
    } catch (e) {
        throw new DockerignoreError(0, cleaned, `invalid pattern (${(e as Error).message})`);
    }
    return { exclusion, cleaned, type, regexp, regexpText: `${re}$` };
}

/** patternmatcher.New for one pattern: trimmed, cleaned, `!` read; throws DockerignoreError as Docker errors. */
export function compileIgnorePattern(raw: string, line = 0): CompiledPattern | undefined {
    let p = raw.trim();
    if (p === "") return undefined;
    p = goClean(p);
    let exclusion = false;
    if (p[0] === "!") {
        if (p.length === 1) throw new DockerignoreError(line, raw, 'illegal exclusion pattern "!"');
        exclusion = true;
        p = p.slice(1);
    }
    const syntax = globSyntaxError(p);
    if (syntax) throw new DockerignoreError(line, raw, `syntax error in pattern (${syntax})`);
    try {
        return compilePattern(p, exclusion);
    } catch (e) {
        if (e instanceof DockerignoreError) throw new DockerignoreError(line, raw, e.problem);
        throw e;
    }
}

/** Pattern.match. */
function patternMatches(p: CompiledPattern, file: string): boolean {
    switch (p.type) {
        case "exact":
            return file === p.cleaned;
        case "prefix":
            return file.startsWith(p.cleaned.slice(0, -2));
        case "suffix": {
            const suffix = p.cleaned.slice(2);
            if (file.endsWith(suffix)) return true;
            return suffix[0] === "/" && file === suffix.slice(1);
        }
        case "regexp":
            return p.regexp!.test(file);
    }
}

/** Which patterns matched a directory (patternmatcher's MatchInfo), carried to its entries. */
export type ParentMatchInfo = boolean[] | undefined;

/**
 * patternmatcher's MatchesUsingParentResults: whether `file` is excluded, given its parent directory's
 * match info (undefined for an entry of the context root, where it falls back to MatchesOrParentMatches).
 */
export function matchUsingParentResults(patterns: CompiledPattern[], file: string, parent: ParentMatchInfo): { excluded: boolean; info: boolean[] } {
    let matched = false;
    const info = new Array<boolean>(patterns.length).fill(false);
    for (let i = 0; i < patterns.length; i++) {
        const p = patterns[i];
        let match = parent !== undefined && parent.length !== 0 ? parent[i] : false;
        if (!match) {
            if (p.exclusion !== matched) continue;
            match = patternMatches(p, file);
            if (!match && (parent === undefined || parent.length === 0)) {
                const slash = file.lastIndexOf("/");
                if (slash > 0) {
                    const dirs = file.slice(0, slash).split("/");
                    for (let j = 0; j < dirs.length && !match; j++) match = patternMatches(p, dirs.slice(0, j + 1).join("/"));
                }
            }
        }
        info[i] = match;
        if (match) matched = !p.exclusion;
    }
    return { excluded: matched, info };
}

/** A compiled `.dockerignore`: the patterns and whether any re-includes (`!`). */
export interface IgnoreRules {
    patterns: CompiledPattern[];
    hasExclusions: boolean;
}

/** Compiles the lines of an ignore file; a bad line throws DockerignoreError naming it. */
export function compileIgnoreLines(lines: IgnoreLine[]): IgnoreRules {
    const patterns: CompiledPattern[] = [];
    for (const l of lines) {
        const c = compileIgnorePattern(l.pattern, l.line);
        if (c) patterns.push(c);
    }
    return { patterns, hasExclusions: patterns.some((p) => p.exclusion) };
}

/**
 * "Is this relative path excluded?" as a BuildKit context walk answers it: the match info of every
 * ancestor directory is computed from its own parent's (once per directory, remembered), then the
 * path's. Throws DockerignoreError for a pattern Docker rejects.
 */
export function pathExcluder(rules: IgnoreRules): { excluded(relPath: string): boolean; dirInfo(dirRel: string): boolean[] | undefined } {
    const dirInfos = new Map<string, boolean[] | undefined>([["", undefined]]);
    const dirInfo = (dirRel: string): boolean[] | undefined => {
        if (dirInfos.has(dirRel)) return dirInfos.get(dirRel);
        const slash = dirRel.lastIndexOf("/");
        const parent = dirInfo(slash < 0 ? "" : dirRel.slice(0, slash));
        const { info } = matchUsingParentResults(rules.patterns, dirRel, parent);
        dirInfos.set(dirRel, info);
        return info;
    };
    return {
        dirInfo,
        excluded(relPath: string): boolean {
            if (!relPath) return true;
            const slash = relPath.lastIndexOf("/");
            return matchUsingParentResults(rules.patterns, relPath, dirInfo(slash < 0 ? "" : relPath.slice(0, slash))).excluded;
        },
    };
}
