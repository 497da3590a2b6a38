/**
 * Static checks on the image Dockerfiles under docker/<family>/, run by the tests (and
 * usable by the CLI) before any build: they catch what would otherwise surface as a
 * bloated layer, an unpinned parent or a silently ignored build arg only after a
 * 20-minute GPU image build. Pure: text in, problem messages out.
 */
import { DockerfileParser, Instruction } from "dockerfile-ast";
import { isMovingTag } from "./tags";

/** Where the Dockerfile comes from and what the program passes to its build. */
export interface DockerfileLintOptions {
    /** Path used in messages, e.g. `docker/nightly/Dockerfile`. */
    file: string;
    /** Build-arg names the program passes (`--build-arg NAME=...`). */
    passedArgs: string[];
    /** The family has a parent: its first FROM must be the BASE_IMAGE build arg. */
    isChild: boolean;
}

interface Stage {
    /** `AS` name, lower-cased, or undefined. */
    name?: string;
    from: Instruction;
    /** Stage this one builds FROM, when it builds from an earlier stage. */
    parent?: Stage;
    instructions: Instruction[];
}

/** Build args BuildKit sets itself. */
const BUILDKIT_ARGS = new Set(["TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT", "BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT"]);

const VAR_REF = /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)[^}]*\}|([A-Za-z_][A-Za-z0-9_]*))/g;
const FALSY = new Set(["", "0", "false", "off", "no"]);

/** Lints one Dockerfile; each message names the file, the 1-based line, the problem and the fix. */
export function lintDockerfile(text: string, opts: DockerfileLintOptions): string[] {
    const df = DockerfileParser.parse(text);
    const problems: string[] = [];
    const at = (ins: Instruction) => `${opts.file}:${ins.getRange().start.line + 1}`;

    const instructions = df.getInstructions();
    const froms = instructions.filter((i) => i.getKeyword() === "FROM");
    if (froms.length === 0) {
        return [`${opts.file}:1: no FROM instruction; a Dockerfile must start its first stage with FROM`];
    }
    const firstFromLine = froms[0].getRange().start.line;

    // Global ARGs (before the first FROM): their defaults feed FROM substitution.
    const globalArgs = new Map<string, string | null>();
    for (const ins of instructions) {
        if (ins.getRange().start.line >= firstFromLine) break;
        if (ins.getKeyword() !== "ARG") continue;
        for (const [name, value] of argProperties(ins)) globalArgs.set(name, value);
    }

    // Split into stages.
    const stages: Stage[] = [];
    for (const ins of instructions) {
        if (ins.getKeyword() === "FROM") {
            const image = fromImage(ins);
            const name = fromStageName(ins);
            const parent = image === undefined ? undefined : stages.find((s) => s.name === image.toLowerCase());
            stages.push({ name, from: ins, parent, instructions: [] });
        } else if (stages.length > 0) {
            stages[stages.length - 1].instructions.push(ins);
        }
    }

    // Rule: a child builds FROM ${BASE_IMAGE}, declared without a default.
    if (opts.isChild) {
        const first = fromImage(froms[0]) ?? "";
        if (first !== "${BASE_IMAGE}" && first !== "$BASE_IMAGE") {
            problems.push(
                `${at(froms[0])}: first FROM is "${first}" but a child image must build FROM \${BASE_IMAGE} (the parent's digest-pinned ref); ` +
                    `declare "ARG BASE_IMAGE" before it and write "FROM \${BASE_IMAGE}"`,
            );
        }
        const baseDefault = globalArgs.get("BASE_IMAGE");
        if (baseDefault !== undefined && baseDefault !== null) {
            const argIns = instructions.find((i) => i.getKeyword() === "ARG" && argProperties(i).some(([n]) => n === "BASE_IMAGE"));
            problems.push(
                `${at(argIns ?? froms[0])}: ARG BASE_IMAGE has the default "${baseDefault}"; declare it without a default ("ARG BASE_IMAGE") so a build without the parent's digest ref fails`,
            );
        }
    }

    // Rule: every FROM image has a tag or digest, and the tag is not a moving "latest" alias.
    const stageNames = new Set<string>();
    for (const stage of stages) {
        const image = fromImage(stage.from);
        if (image !== undefined && !stageNames.has(image.toLowerCase()) && image.toLowerCase() !== "scratch") {
            const problem = fromTagProblem(image, globalArgs);
            if (problem) problems.push(`${at(stage.from)}: ${problem}`);
        }
        if (stage.name) stageNames.add(stage.name);
    }

    for (const stage of stages) {
        for (const ins of stage.instructions) {
            const keyword = ins.getKeyword();
            if (keyword === "RUN") problems.push(...lintRun(ins, stage, at(ins)));
            if (keyword === "ADD" || keyword === "COPY") problems.push(...lintSources(ins, at(ins)));
        }
    }

    problems.push(...lintPassedArgs(opts.passedArgs, instructions, stages, firstFromLine, at));
    return problems;
}

/** `[name, default]` pairs of an ARG (default null when absent); quotes may hold spaces. */
function argProperties(ins: Instruction): Array<[string, string | null]> {
    return shellWords(ins.getArgumentsContent() ?? "").map((word) => {
        const eq = word.indexOf("=");
        return eq < 0 ? [word, null] : [word.slice(0, eq), word.slice(eq + 1)];
    });
}

/** Splits ARG/ENV arguments into words as Docker does: whitespace separates, quotes group and are removed. */
function shellWords(text: string): string[] {
    const words: string[] = [];
    let word = "";
    let inWord = false;
    let quote: string | null = null;
    for (let i = 0; i < text.length; i++) {
        const c = text[i];
        if (quote) {
            if (c === quote) quote = null;
            else if (c === "\\" && quote === '"' && i + 1 < text.length) word += text[++i];
            else word += c;
        } else if (c === '"' || c === "'") {
            quote = c;
            inWord = true;
        } else if (c === "\\" && i + 1 < text.length) {
            word += text[++i];
            inWord = true;
        } else if (/\s/.test(c)) {
            if (inWord) words.push(word);
            word = "";
            inWord = false;
        } else {
            word += c;
            inWord = true;
        }
    }
    if (inWord) words.push(word);
    return words;
}

/** Image argument of a FROM (flags skipped), or undefined when missing. */
function fromImage(ins: Instruction): string | undefined {
    const args = ins.getArguments().map((a) => a.getValue());
    return args.find((a) => !a.startsWith("--"));
}

function fromStageName(ins: Instruction): string | undefined {
    const args = ins.getArguments().map((a) => a.getValue()).filter((a) => !a.startsWith("--"));
    return args.length >= 3 && args[1].toUpperCase() === "AS" ? args[2].toLowerCase() : undefined;
}

const UNRESOLVED = "\u0000";

/** Substitutes `$X`, `${X}`, `${X:-d}`, `${X-d}` from ARG defaults; unknown values become a marker. */
function substitute(text: string, defaults: Map<string, string | null>): string {
    return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_m, braced, op, fallback, bare) => {
        const name = (braced ?? bare) as string;
        const value = defaults.get(name);
        if (value !== undefined && value !== null && !(op === ":-" && value === "")) return value;
        if (op !== undefined) return fallback as string;
        return UNRESOLVED;
    });
}

function fromTagProblem(image: string, globalArgs: Map<string, string | null>): string | undefined {
    const resolved = substitute(image, globalArgs);
    if (resolved.includes("@")) return undefined; // digest-pinned
    const lastSegment = resolved.slice(resolved.lastIndexOf("/") + 1);
    if (lastSegment.includes(UNRESOLVED)) return undefined; // tag depends on a passed arg; cannot tell statically
    const colon = lastSegment.indexOf(":");
    const shown = resolved.split(UNRESOLVED).join("<arg>");
    if (colon < 0) {
        return `FROM "${image}" (resolves to "${shown}") has no tag, which means :latest; pin a version tag or a digest`;
    }
    const tag = lastSegment.slice(colon + 1);
    if (isMovingTag(tag)) {
        return `FROM "${image}" uses the moving tag "${tag}"; pin a version tag or a digest (children get the parent's digest ref via BASE_IMAGE)`;
    }
    return undefined;
}

/** Shell command segments of a RUN (split at &&, ||, ;, |, newlines), comments removed. */
function runSegments(ins: Instruction): string[] {
    const words = ins.getArguments().map((a) => a.getValue());
    return words
        .join(" ")
        .split(/&&|\|\||;|\||\n/)
        .map((s) => s.trim())
        .filter((s) => s !== "");
}

/** Flags of a RUN/COPY/ADD as `--name=value`. */
function runFlags(ins: Instruction): string[] {
    const withFlags = ins as Instruction & { getFlags?: () => Array<{ getName(): string; getValue(): string | null }> };
    return (withFlags.getFlags?.() ?? []).map((f) => `--${f.getName()}=${f.getValue() ?? ""}`);
}

/** Value of an ENV (or ARG, which RUN sees as environment) set in this stage before `line`, following FROM <stage> parents for ENV. */
function stageEnv(stage: Stage, name: string, line: number): string | undefined {
    let value: string | undefined;
    for (const ins of stage.instructions) {
        if (ins.getRange().start.line >= line) break;
        const keyword = ins.getKeyword();
        if (keyword !== "ENV" && keyword !== "ARG") continue;
        for (const [k, v] of envProperties(ins)) if (k === name && v !== null) value = v;
    }
    if (value !== undefined) return value;
    return stage.parent ? stageEnvFromParent(stage.parent, name) : undefined;
}

function stageEnvFromParent(stage: Stage, name: string): string | undefined {
    let value: string | undefined;
    for (const ins of stage.instructions) {
        if (ins.getKeyword() !== "ENV") continue;
        for (const [k, v] of envProperties(ins)) if (k === name && v !== null) value = v;
    }
    if (value !== undefined) return value;
    return stage.parent ? stageEnvFromParent(stage.parent, name) : undefined;
}

function envProperties(ins: Instruction): Array<[string, string | null]> {
    const words = shellWords(ins.getArgumentsContent() ?? "");
    if (ins.getKeyword() === "ENV" && words.length >= 2 && !words[0].includes("=")) return [[words[0], words.slice(1).join(" ")]]; // legacy "ENV KEY value"
    return argProperties(ins);
}

const truthy = (v: string | undefined) => v !== undefined && !FALSY.has(v.toLowerCase());

function lintRun(ins: Instruction, stage: Stage, where: string): string[] {
    const problems: string[] = [];
    const segments = runSegments(ins);
    const joined = segments.join(" ; ");
    const flags = runFlags(ins);
    const cacheMount = (re: RegExp) => flags.some((f) => f.startsWith("--mount=") && /type=cache/.test(f) && re.test(f));
    const line = ins.getRange().start.line;

    // apt-get install: update and list cleanup in the same RUN.
    if (segments.some((s) => /\bapt(-get)?\s+(\S+\s+)*?install(\s|$)/.test(s))) {
        if (!segments.some((s) => /\bapt(-get)?\s+(\S+\s+)*?update(\s|$)/.test(s))) {
            problems.push(
                `${where}: apt-get install without apt-get update in the same RUN (a cached update layer serves stale package lists); run "apt-get update && apt-get install ..." in one RUN`,
            );
        }
        const removesLists = segments.some((s) => /\brm\b.*\/var\/lib\/apt\/lists/.test(s));
        if (!removesLists && !cacheMount(/\/var\/lib\/apt/)) {
            problems.push(
                `${where}: apt-get install leaves /var/lib/apt/lists in the layer; end the same RUN with "&& rm -rf /var/lib/apt/lists/*"`,
            );
        }
    }

    // pip install/wheel/download: no cache left in the layer.
    const pipNoCache = truthy(stageEnv(stage, "PIP_NO_CACHE_DIR", line)) || cacheMount(/pip/);
    for (const s of segments) {
        const plain = s.replace(/(^|\s)uv\s+pip\s+/g, " uv-pip ");
        const pip = plain.match(/(?:^|\s)(?:pip3?|python3?(?:\.\d+)?\s+-m\s+pip)\s+(install|wheel|download)(?=\s|$)/);
        if (!pip) continue;
        if (pipNoCache || /--no-cache-dir\b/.test(s) || /(^|\s)PIP_NO_CACHE_DIR=(?!0\b|false\b|off\b|no\b)\S+\s/i.test(s)) continue;
        problems.push(`${where}: "pip ${pip[1]}" keeps its download cache in the layer; add --no-cache-dir (or set ENV PIP_NO_CACHE_DIR=1)`);
    }

    // uv pip install / uv sync: --no-cache, UV_NO_CACHE, a cache mount, or the cache removed in the same RUN.
    const uvNoCache = truthy(stageEnv(stage, "UV_NO_CACHE", line)) || cacheMount(/uv/);
    const removesUvCache = /\brm\b[^;]*(\/root\/\.cache\/uv|\/root\/\.cache(\s|$)|\$\{?UV_CACHE_DIR\}?)/.test(joined) || /(^|\s)uv\s+cache\s+(clean|prune)\b/.test(joined);
    for (const s of segments) {
        if (!/(^|\s)uv\s+(pip\s+(install|sync)|sync)\b/.test(s)) continue;
        if (uvNoCache || removesUvCache || /--no-cache\b/.test(s) || /(^|\s)UV_NO_CACHE=(?!0\b|false\b|off\b|no\b)\S+\s/i.test(s)) continue;
        problems.push(
            `${where}: "${s.match(/uv\s+(pip\s+\w+|sync)/)?.[0]}" keeps the uv cache in the layer; add --no-cache (or set UV_NO_CACHE=1, or "rm -rf /root/.cache/uv" in the same RUN)`,
        );
    }
    return problems;
}

/** Sources of a COPY/ADD: arguments except the destination, skipping flags and heredocs. */
function copySources(ins: Instruction): string[] {
    const args = ins.getArguments().map((a) => a.getValue());
    let values = args;
    const raw = (ins.getArgumentsContent() ?? "").replace(/^(\s*--\S+)*\s*/, "");
    if (raw.startsWith("[")) {
        try {
            values = JSON.parse(raw) as string[];
        } catch {
            values = args;
        }
    }
    const sources = values.filter((v) => !v.startsWith("--")).slice(0, -1);
    return sources.filter((s) => !s.startsWith("<<"));
}

/** Remote ADD sources (containment in the context is `checkCopySources`' job, run by every plan). */
function lintSources(ins: Instruction, where: string): string[] {
    if (ins.getKeyword() !== "ADD" || runFlags(ins).some((f) => f.startsWith("--from="))) return [];
    return copySources(ins)
        .filter((src) => /^(https?:\/\/|git@|git:\/\/|ssh:\/\/)/i.test(src))
        .map((src) => `${where}: ADD of the remote URL "${src}" downloads unverified content at build time and is not part of the content hash; download it in a RUN with a pinned version and checksum check, or COPY it from the context`);
}

function referencedVars(ins: Instruction): Set<string> {
    const names = new Set<string>();
    const content = ins.getRawArgumentsContent() ?? "";
    for (const m of content.matchAll(VAR_REF)) names.add((m[1] ?? m[2]) as string);
    return names;
}

function lintPassedArgs(
    passedArgs: string[],
    instructions: Instruction[],
    stages: Stage[],
    firstFromLine: number,
    at: (ins: Instruction) => string,
): string[] {
    const problems: string[] = [];
    const declaredAnywhere = new Set<string>();
    for (const ins of instructions) if (ins.getKeyword() === "ARG") for (const [n] of argProperties(ins)) declaredAnywhere.add(n);
    const globalDeclared = new Set<string>();
    for (const ins of instructions) {
        if (ins.getRange().start.line >= firstFromLine) break;
        if (ins.getKeyword() === "ARG") for (const [n] of argProperties(ins)) globalDeclared.add(n);
    }

    // The declared-args contract, the other way: an ARG without a default must be passed by the program.
    for (const ins of instructions) {
        if (ins.getKeyword() !== "ARG") continue;
        for (const [name, value] of argProperties(ins)) {
            if (value !== null || passedArgs.includes(name) || BUILDKIT_ARGS.has(name)) continue;
            const withDefault = new RegExp(`\\$\\{${name}:?-`);
            if (instructions.some((i) => withDefault.test(i.getRawArgumentsContent() ?? ""))) continue; // ${NAME:-default} at use
            problems.push(`${at(ins)}: ARG ${name} has no default and the program does not pass it, so the build sees it empty; set it in the family's buildArgs, or give it a default`);
        }
    }

    for (const arg of passedArgs) {
        if (!declaredAnywhere.has(arg)) {
            const first = stages[0].from;
            problems.push(
                `${at(first).replace(/:\d+$/, ":1")}: build arg ${arg} is passed by the program but no ARG declares it; add "ARG ${arg}" where it is used (or drop it from the family's buildArgs)`,
            );
            continue;
        }
        for (const stage of stages) {
            if (referencedVars(stage.from).has(arg) && !globalDeclared.has(arg)) {
                problems.push(`${at(stage.from)}: FROM uses \${${arg}} but ARG ${arg} is not declared before the first FROM; add "ARG ${arg}" at the top of the file`);
            }
            const declaredAt = new Map<string, number>();
            for (const ins of stage.instructions) {
                const line = ins.getRange().start.line;
                if (ins.getKeyword() === "ARG") {
                    for (const [n] of argProperties(ins)) if (!declaredAt.has(n)) declaredAt.set(n, line);
                    continue;
                }
                if (!referencedVars(ins).has(arg)) continue;
                const declLine = declaredAt.get(arg);
                if (declLine === undefined || declLine > line) {
                    problems.push(
                        `${at(ins)}: ${ins.getKeyword()} uses \${${arg}} but this stage does not declare "ARG ${arg}" before it (ARGs before FROM are not visible inside a stage); add "ARG ${arg}" after the stage's FROM`,
                    );
                    break;
                }
            }
        }
    }
    return problems;
}
