/**
 * `ci-images`: the offline face of the program for CI. Same config validation, graph and tags as
 * `pulumi up`, with no cloud account and no Pulumi CLI. This module parses the command line, prints
 * help, resolves the stack and runs one command from cli/commandSpecs.ts with a {@link CommandContext}.
 * Conventions (docs/cli.md): --help/-h on stdout with exit 0; exit 2 for usage errors (unknown
 * flag: the nearest one is suggested); exit 1 for expected failures, printed without a stack trace.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { closest, ConfigError } from "../lib/config/problems";
import type { StackPlan } from "../lib/stackPlan";
import { COMMANDS, GLOBAL_FLAGS } from "./commandSpecs";
import { CliError, CliServices, CommandContext, CommandSpec, EcrAuthorization, UsageError } from "./context";

/** What a caller may replace (tests run commands in-process with fakes). */
export interface MainIo {
    out: NodeJS.WritableStream;
    err: NodeJS.WritableStream;
    env: NodeJS.ProcessEnv;
    cwd: string;
    services: Partial<CliServices>;
}

function packageVersion(): string {
    // dist/cli/main.js and cli/main.ts both find the project's package.json above them.
    for (let dir = __dirname; ; dir = path.dirname(dir)) {
        const file = path.join(dir, "package.json");
        if (fs.existsSync(file)) return (JSON.parse(fs.readFileSync(file, "utf8")) as { version: string }).version;
        if (path.dirname(dir) === dir) return "unknown";
    }
}

/** `ci-images --version`: the package version and the tag scheme its tags follow. */
export function versionText(): string {
    const { TAG_SCHEME_VERSION } = require("../lib/images/tags") as typeof import("../lib/images/tags");
    return `ci-images ${packageVersion()} (tag scheme v${TAG_SCHEME_VERSION})`;
}

/** The global usage (`ci-images --help`). */
export function globalUsage(): string {
    const width = Math.max(...COMMANDS.map((c) => c.name.length));
    return [
        "usage: ci-images <command> [<args>] [--stack <stack>] [--json] [options]",
        "       ci-images <command> --help | --version",
        "",
        "commands:",
        ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
        "",
        "global options:",
        ...flagLines(GLOBAL_FLAGS),
        "",
        "The stack comes from --stack, else $PULUMI_STACK, else the stack `pulumi stack select` chose.",
        "Exit codes: 0 ok; 1 failure (problems named on stderr); 2 usage. `changed` exits 1 when images change.",
        "Docs: docs/cli.md",
        "",
    ].join("\n");
}

function flagLines(flags: CommandSpec["flags"]): string[] {
    const names = Object.entries(flags).map(([name, f]) => `--${name}${f.value ? ` ${f.value}` : ""}`);
    const width = Math.max(...names.map((n) => n.length));
    return Object.values(flags).map((f, i) => `  ${names[i].padEnd(width)}  ${f.help}`);
}

function usageLine(spec: CommandSpec): string {
    const stack = spec.stack === "required" ? " --stack <stack>" : spec.stack === "optional" ? " [--stack <stack>]" : "";
    const own = Object.entries(spec.flags).map(([name, f]) => `[--${name}${f.value ? ` ${f.value}` : ""}]`);
    return `usage: ci-images ${spec.name}${spec.args ? ` ${spec.args}` : ""}${stack} ${[...own, "[--json]"].join(" ")}`;
}

/** One command's help (`ci-images <command> --help`). */
export function commandHelp(spec: CommandSpec): string {
    const globals = Object.fromEntries(Object.entries(GLOBAL_FLAGS).filter(([name]) => spec.stack !== "none" || name !== "stack"));
    return [usageLine(spec), "", spec.summary, "", spec.details, "", ...(Object.keys(spec.flags).length ? ["options:", ...flagLines(spec.flags), ""] : []), "global options:", ...flagLines(globals), ""].join("\n");
}

interface Parsed {
    positional: string[];
    values: Map<string, string>;
    switches: Set<string>;
}

/** Parses a command's argv against its flags; UsageError for anything it does not know. */
export function parseCommandArgs(spec: CommandSpec, argv: string[]): Parsed {
    const flags = { ...GLOBAL_FLAGS, ...spec.flags };
    const out: Parsed = { positional: [], values: new Map(), switches: new Set() };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === "--") {
            out.positional.push(...argv.slice(i + 1));
            break;
        }
        if (a === "-h") {
            out.switches.add("help");
            continue;
        }
        if (!a.startsWith("-") || a === "-") {
            out.positional.push(a);
            continue;
        }
        const eq = a.indexOf("=");
        const name = a.replace(/^--?/, "").slice(0, eq < 0 ? undefined : eq - (a.startsWith("--") ? 2 : 1));
        const flag = a.startsWith("--") ? flags[name] : undefined;
        if (!flag) {
            const hint = closest(name, Object.keys(flags));
            throw new UsageError(`unknown flag ${a.slice(0, eq < 0 ? undefined : eq)}${hint ? `. Did you mean --${hint}?` : ""}`);
        }
        if (flag.value === undefined) {
            if (eq >= 0) throw new UsageError(`--${name} takes no value`);
            out.switches.add(name);
            continue;
        }
        const value = eq >= 0 ? a.slice(eq + 1) : argv[++i];
        if (value === undefined || (eq < 0 && value.startsWith("--"))) throw new UsageError(`--${name} needs a value ${flag.value}`);
        if (out.values.has(name)) throw new UsageError(`--${name} is given twice`);
        out.values.set(name, value);
    }
    const { min, max } = spec.positionals ?? { min: 0, max: 0 };
    if (!out.switches.has("help")) {
        if (out.positional.length < min) throw new UsageError(`${spec.name} needs ${spec.args}`);
        if (out.positional.length > max) throw new UsageError(`unexpected argument "${out.positional[max]}"${max === 0 ? ` (${spec.name} takes none)` : ""}`);
    }
    return out;
}

/**
 * The stack `pulumi stack select` chose for the project at `root`: Pulumi keeps it in
 * `$PULUMI_HOME/workspaces/<project>-<sha1 of the Pulumi.yaml path>-workspace.json` as `{"stack": …}`
 * (a Pulumi Cloud stack is `org/project/stack`: the last part is the stack). Undefined when none.
 */
export function selectedWorkspaceStack(root: string, env: NodeJS.ProcessEnv): string | undefined {
    try {
        const projectFile = path.join(root, "Pulumi.yaml");
        const project = /^name:\s*["']?([^"'\s#]+)/m.exec(fs.readFileSync(projectFile, "utf8"))?.[1];
        if (!project) return undefined;
        const home = env.PULUMI_HOME || path.join(env.HOME || os.homedir(), ".pulumi");
        const sha1 = require("crypto").createHash("sha1").update(projectFile).digest("hex");
        const file = path.join(home, "workspaces", `${project}-${sha1}-workspace.json`);
        const stack = (JSON.parse(fs.readFileSync(file, "utf8")) as { stack?: string }).stack;
        return stack ? stack.split("/").pop() : undefined;
    } catch {
        return undefined;
    }
}

/**
 * Where the per-file hash cache lives: `$MLCI_HASH_CACHE`, else `$XDG_CACHE_HOME/ml-ci-images/`,
 * else `~/.cache/ml-ci-images/`, else the temp dir; one file per project root. Never in the checkout,
 * which may be read-only.
 */
export function hashCacheFile(root: string, env: NodeJS.ProcessEnv): string {
    if (env.MLCI_HASH_CACHE) return env.MLCI_HASH_CACHE;
    const base = env.XDG_CACHE_HOME ? path.join(env.XDG_CACHE_HOME, "ml-ci-images") : env.HOME ? path.join(env.HOME, ".cache", "ml-ci-images") : path.join(os.tmpdir(), "ml-ci-images");
    const key = require("crypto").createHash("sha256").update(root).digest("hex").slice(0, 16);
    return path.join(base, `file-hashes-${key}.json`);
}

/** The real services (AWS SDK loaded only on first use). */
function defaultServices(): CliServices {
    return {
        fetch: (url, init) => globalThis.fetch(url, init as RequestInit),
        ecrAuthorization: (region: string): Promise<EcrAuthorization> => require("./registryAccess").ecrAuthorization(region),
        sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
        now: () => new Date(),
        random: Math.random,
    };
}

function makeContext(spec: CommandSpec, parsed: Parsed, io: MainIo): CommandContext {
    let root: string | undefined;
    let plan: Promise<StackPlan> | undefined;
    const ctx: CommandContext = {
        command: spec.name,
        positional: parsed.positional,
        flag: (name) => parsed.values.get(name),
        has: (name) => parsed.switches.has(name),
        json: parsed.switches.has("json"),
        out: io.out,
        err: io.err,
        env: io.env,
        services: { ...defaultServices(), ...io.services },
        root() {
            if (root !== undefined) return root;
            const given = parsed.values.get("root");
            if (given !== undefined) {
                root = path.resolve(io.cwd, given);
                if (!fs.existsSync(path.join(root, "Pulumi.yaml"))) throw new CliError(`--root ${given}: no Pulumi.yaml in ${root}. Fix: point --root at the ml-ci-images project`);
                return root;
            }
            for (let dir = path.resolve(io.cwd); ; dir = path.dirname(dir)) {
                if (fs.existsSync(path.join(dir, "Pulumi.yaml"))) return (root = dir);
                if (path.dirname(dir) === dir) throw new CliError(`no Pulumi.yaml in ${io.cwd} or above. Fix: run ci-images inside the ml-ci-images checkout, or pass --root <dir>`);
            }
        },
        stack() {
            const stack = parsed.values.get("stack") || io.env.PULUMI_STACK || selectedWorkspaceStack(ctx.root(), io.env);
            if (stack) return stack;
            const stacks = fs.readdirSync(ctx.root()).filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f)).map((f) => f.slice(7, -5));
            throw new UsageError(`${spec.name} needs a stack: pass --stack <stack> (${stacks.join(", ")}), set PULUMI_STACK, or select one with \`pulumi stack select\``);
        },
        plan() {
            plan ??= (async () => {
                const { listingCacheAllowed, planStackFile } = require("../lib/stackPlan") as typeof import("../lib/stackPlan");
                const projectRoot = ctx.root();
                return planStackFile(projectRoot, ctx.stack(), {
                    env: io.env,
                    // MLCI_LISTING_CACHE=0: walk every context (where directory stamps cannot be trusted, e.g. NFS).
                    useListingCache: listingCacheAllowed(io.env),
                    hashCachePath: hashCacheFile(projectRoot, io.env),
                    onHashCacheError: (e) => ctx.warn(`hash cache not saved (${e.message}); tags are unaffected, the next run hashes every file again. Fix: set XDG_CACHE_HOME to a writable directory`),
                });
            })();
            return plan;
        },
        warn: (message) => io.err.write(`ci-images: warning: ${message}\n`),
    };
    return ctx;
}

/** Writes an error the way every command does: stderr always, and `{"error": …}` on stdout under --json. */
function reportError(io: MainIo, json: boolean, command: string | undefined, message: string, exitCode: number, extra: Record<string, unknown> = {}): number {
    io.err.write(`ci-images${command ? ` ${command}` : ""}: ${message}\n`);
    if (exitCode === 2) io.err.write(`Run 'ci-images ${command ? `${command} ` : ""}--help' for usage.\n`);
    if (json) io.out.write(`${JSON.stringify({ error: { message, exitCode, ...extra } }, null, 2)}\n`);
    return exitCode;
}

/** Runs the CLI; returns the exit code. */
export async function main(argv: string[], io: Partial<MainIo> = {}): Promise<number> {
    const full: MainIo = { out: io.out ?? process.stdout, err: io.err ?? process.stderr, env: io.env ?? process.env, cwd: io.cwd ?? process.cwd(), services: io.services ?? {} };
    const json = argv.includes("--json");
    const first = argv[0];
    if (first === undefined || first === "--help" || first === "-h" || first === "help") {
        if (first === "help" && argv[1] !== undefined) return main([argv[1], "--help"], io);
        if (first === undefined) {
            full.err.write(globalUsage());
            return 2;
        }
        full.out.write(globalUsage());
        return 0;
    }
    if (first === "--version" || first === "-V" || first === "version") {
        full.out.write(json ? `${JSON.stringify({ version: packageVersion(), tagScheme: Number(versionText().match(/v(\d+)\)$/)![1]) })}\n` : `${versionText()}\n`);
        return 0;
    }
    const spec = COMMANDS.find((c) => c.name === first);
    if (!spec) {
        const hint = first.startsWith("-") ? undefined : closest(first, COMMANDS.map((c) => c.name));
        return reportError(full, json, undefined, first.startsWith("-") ? `${first} must come after a command (ci-images <command> ${first})` : `unknown command "${first}"${hint ? `. Did you mean ${hint}?` : ""}`, 2);
    }
    let parsed: Parsed;
    try {
        parsed = parseCommandArgs(spec, argv.slice(1));
    } catch (e) {
        if (e instanceof UsageError) return reportError(full, json, spec.name, e.message, 2);
        throw e;
    }
    if (parsed.switches.has("help")) {
        full.out.write(commandHelp(spec));
        return 0;
    }
    if (spec.stack === "none" && parsed.values.has("stack")) return reportError(full, json, spec.name, `${spec.name} reads no stack: drop --stack`, 2);
    const ctx = makeContext(spec, parsed, full);
    try {
        return await spec.load()(ctx);
    } catch (e) {
        if (e instanceof UsageError) return reportError(full, json, spec.name, e.message, 2);
        if (e instanceof CliError) return reportError(full, json, spec.name, e.message, e.exitCode);
        if (e instanceof ConfigError) return reportError(full, json, spec.name, e.message, 1, { problems: e.problems });
        // A registry that refused or never answered (after lib/registry/retryPolicy.ts's retries) is an
        // expected failure: one line, never a stack trace (a reset used to print one).
        if (e instanceof Error && e.name === "RegistryHttpError") return reportError(full, json, spec.name, e.message, 1);
        if (e instanceof TypeError && e.message === "fetch failed") {
            const { describeNetworkCode, networkErrorCode } = require("../lib/registry/retryPolicy") as typeof import("../lib/registry/retryPolicy");
            const code = networkErrorCode(e);
            return reportError(full, json, spec.name, `${describeNetworkCode(code)}${code ? ` (${code})` : ""}. Fix: check the host and the network, then retry`, 1);
        }
        throw e;
    }
}
