/**
 * What Docker sends as a build context: the files of a directory that `.dockerignore`
 * (or `<Dockerfile>.dockerignore`, which BuildKit prefers) lets through, with Docker's own
 * matching rules (via @balena/dockerignore, a port of Docker's matcher). Also checks that a
 * Dockerfile's COPY/ADD sources are inside the context and not excluded.
 */
import ignore from "@balena/dockerignore";
import type { DockerfileParser as Parser } from "dockerfile-ast";
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

/** A matcher answering "does Docker exclude this relative path?" (@balena/dockerignore's public API). */
export function dockerignoreMatcher(patterns: string[]): (relPath: string) => boolean {
    const ig = ignore().add(patterns);
    return (p) => ig.ignores(p);
}

/**
 * Lists the files of `contextDir` that a build with `dockerfilePath` sends, sorted by path.
 * Excluded directories are not walked unless the file has a `!` (re-include) pattern.
 */
export function listContextFiles(contextDir: string, dockerfilePath: string): ContextFile[] {
    const ignorePath = dockerignoreFile(contextDir, dockerfilePath);
    const patterns = ignorePath ? parseDockerignore(fs.readFileSync(ignorePath, "utf8")) : [];
    // One matcher over the library's public API (its private _rules/_compile bought a faster walk
    // only on the bench's generated 10k-file context; real contexts are a few files).
    const excluded = dockerignoreMatcher(patterns);
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
            const matches = dockerignoreMatcher([normalized.replace(/\/$/, "")]);
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
