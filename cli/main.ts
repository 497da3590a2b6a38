/**
 * `ci-images`: the offline face of the program for CI. Same config validation, graph and
 * tags as `pulumi up`, with no cloud account and no Pulumi CLI.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ConfigError, formatProblems } from "../lib/config/problems";
import { SECTION_SCHEMAS } from "../lib/config/schema";
import { runScanGate } from "./commands/scanGate";
import { runStorage, storageCheckProblems } from "./commands/storage";
import { runRetag, RetagUsageError } from "./commands/retag";
import { formatPreflightProblems, preflight, PreflightProblem } from "../lib/images/preflight";
import { lintDockerfile } from "../lib/images/dockerfileRules";
import { passedBuildArgNames, TaggedImage } from "../lib/images/graph";
import { findProjectRoot, planStackFile, readStackConfigFile, StackPlan } from "../lib/stackPlan";
import { parseStackOutputs, resolveImageRef } from "../lib/images/stackOutputs";

const USAGE = `usage: ci-images <command> [options]

commands:
  tags     --stack <stack> [--json]             every image: name, family, repository, tag, aliases, parent
  check    --stack <stack> [--online]           validate config and Dockerfiles (exit 1 with the problems);
                                                --online also checks that every cell's torch wheel and
                                                every base image tag exist (MLCI_PYTORCH_INDEX_URL,
                                                MLCI_BASE_REGISTRY_URL override the defaults)
  changed  --stack <stack> --since <git-rev> [--json]
                                                images whose tag differs from the tree at <git-rev>
                                                (what the next \`pulumi up\` rebuilds)
  build-args <image> --stack <stack> [--registry <host>]
                                                the docker buildx command that builds one image by hand
                                                (registry default: $REGISTRY, e.g. localhost:5000)
  uri      <image> [--from outputs.json]        digest-pinned ref from \`pulumi stack output --json\`
  storage  --stack <stack> [--weeks N] [--from outputs.json] [--json]
                                                storage and cost forecast per repository (exit 1 over
                                                mlci:registry.storageBudgetGb; docs/scaling.md)
  retag    <repository-url>@<digest> <tag>...   put tags on a manifest without changing its digest
                                                (auth: MLCI_REGISTRY_AUTH=user:password; used by promotion)
  scan-gate <repository-url>@<digest>... [--stack <stack>] [--max-severity X] [--timeout 30m]
           [--interval 15s] [--settle 20s] [--json]
                                                wait for ECR's scan and refuse promotion on findings
                                                at or above the severity (exit 1 names the CVEs)

options:
  --stack <stack>   stack name (reads Pulumi.<stack>.yaml)   default: $PULUMI_STACK or "local"
  --root <dir>      project root                               default: the directory holding Pulumi.yaml
`;

interface Args {
    command?: string;
    positional: string[];
    flags: Record<string, string | true>;
}

function parseArgs(argv: string[]): Args {
    const out: Args = { positional: [], flags: {} };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a.startsWith("--")) {
            const [k, v] = a.slice(2).split("=", 2);
            if (v !== undefined) out.flags[k] = v;
            else if (["json", "help", "online"].includes(k)) out.flags[k] = true;
            else if (i + 1 < argv.length) out.flags[k] = argv[++i];
            else throw new UsageError(`--${k} needs a value`);
        } else if (out.command === undefined) out.command = a;
        else out.positional.push(a);
    }
    return out;
}

class UsageError extends Error {}

/** The JSON shape of `ci-images tags --json` (one entry per image, parents first). */
export function imagesJson(images: TaggedImage[]) {
    return {
        images: images.map((i) => ({
            name: i.name,
            family: i.family,
            repository: i.repositoryName,
            tag: i.tag,
            aliases: [i.latestTag, ...(i.datedTag ? [i.datedTag] : [])],
            parent: i.parent ?? null,
            cuda: i.cell.cuda ?? null,
            python: i.cell.python,
        })),
    };
}

function tagsTable(images: TaggedImage[]): string {
    const rows = images.map((i) => [
        i.name,
        `${i.repositoryName}:${i.tag}`,
        [i.latestTag, i.datedTag].filter(Boolean).join(","),
        i.parent ?? "-",
        `dockerfile=${i.hashInputs.dockerfileSha256.slice(0, 8)} context=${i.hashInputs.contextDigest.slice(0, 8)}(${i.hashInputs.contextFiles} files) args=${Object.keys(i.buildArgs).length}${i.hashInputs.rebuildEpoch ? ` epoch=${i.hashInputs.rebuildEpoch}` : ""}`,
    ]);
    const head = ["IMAGE", "REPOSITORY:TAG", "ALIASES", "PARENT", "HASH INPUTS"];
    const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
    return [head, ...rows].map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join("  ")).join("\n");
}

async function plan(root: string, stack: string): Promise<StackPlan> {
    return planStackFile(root, stack, { env: process.env });
}

/** Images whose tag at `rev` differs from the working tree's (or that are new). */
export async function changedSince(root: string, stack: string, rev: string): Promise<{ changed: TaggedImage[]; previous: Map<string, string> }> {
    const current = await plan(root, stack);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ci-images-"));
    try {
        const top = execFileSync("git", ["rev-parse", "--show-toplevel"], { cwd: root, encoding: "utf8" }).trim();
        const sub = path.relative(top, root);
        const archive = execFileSync("git", ["archive", "--format=tar", rev, ...(sub ? [sub] : [])], { cwd: top, maxBuffer: 1 << 30 });
        execFileSync("tar", ["-x", "-C", tmp], { input: archive });
        const oldRoot = path.join(tmp, sub);
        const previous = new Map<string, string>();
        try {
            const old = await planStackFile(oldRoot, stack, { env: process.env, useHashCache: false });
            for (const i of old.images) previous.set(i.name, i.tag);
        } catch (e) {
            if (!(e instanceof ConfigError)) throw e;
            // The old tree did not validate: every image counts as changed.
        }
        return { changed: current.images.filter((i) => previous.get(i.name) !== i.tag), previous };
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
}

/** A `docker buildx build` command line that builds one image with the program's args. */
export function buildCommand(image: TaggedImage, all: TaggedImage[], registry = "$REGISTRY"): string {
    const q = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : /^[\w@%+=:,./${}-]+$/.test(s) ? `"${s}"` : `'${s.replace(/'/g, "'\\''")}'`);
    const args = { ...image.buildArgs };
    const parent = all.find((p) => p.name === image.parent);
    if (parent) args.BASE_IMAGE = `${registry}/${parent.repositoryName}:${parent.tag}`;
    else args.BASE_REGISTRY = "docker.io";
    const parts = ["docker buildx build", `-f ${q(image.dockerfile)}`, `--platform ${image.platforms.join(",")}`];
    for (const k of Object.keys(args).sort()) parts.push(`--build-arg ${q(`${k}=${args[k]}`)}`);
    if (image.target) parts.push(`--target ${q(image.target)}`);
    parts.push(`-t ${q(`${registry}/${image.repositoryName}:${image.tag}`)}`, q(image.context));
    return parts.join(" \\\n  ");
}

/** The project's Dockerfile checks for every family, with the args the program passes (each family once). */
export function dockerfileProblems(root: string, images: TaggedImage[]): string[] {
    const seen = new Set<string>();
    const problems: string[] = [];
    for (const image of images) {
        if (seen.has(image.family)) continue;
        seen.add(image.family);
        const text = fs.readFileSync(path.join(root, image.dockerfile), "utf8");
        problems.push(...lintDockerfile(text, { file: image.dockerfile, passedArgs: passedBuildArgNames(image), isChild: image.parent !== undefined }));
    }
    return problems;
}

/**
 * `check --online`: the preflight of lib/images/preflight.ts against the real wheel index and base
 * registry (or MLCI_PYTORCH_INDEX_URL / MLCI_BASE_REGISTRY_URL), each request bounded by a time-out.
 */
export async function onlinePreflight(root: string, images: TaggedImage[], env: NodeJS.ProcessEnv): Promise<PreflightProblem[]> {
    const dockerfiles: Record<string, string> = {};
    for (const image of images) dockerfiles[image.dockerfile] ??= fs.readFileSync(path.join(root, image.dockerfile), "utf8");
    const timeoutMs = Number(env.MLCI_PREFLIGHT_TIMEOUT_MS ?? 20_000);
    return preflight({
        images,
        dockerfiles,
        fetch: (url, init) => fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) }),
        indexUrl: env.MLCI_PYTORCH_INDEX_URL || undefined,
        registryUrl: env.MLCI_BASE_REGISTRY_URL || undefined,
    });
}

/** Runs the CLI; returns the exit code. Output goes to the given streams. */
export async function main(argv: string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
    let args: Args;
    try {
        args = parseArgs(argv);
    } catch (e) {
        err.write(`ci-images: ${(e as Error).message}\n${USAGE}`);
        return 2;
    }
    if (!args.command || args.flags.help || args.command === "help") {
        (args.command ? out : err).write(USAGE);
        return args.command ? 0 : 2;
    }
    const stack = String(args.flags.stack ?? process.env.PULUMI_STACK ?? "local");
    if (args.command === "retag") {
        // Registry-only: needs no project checkout or stack.
        try {
            return await runRetag(args.positional, { fetch: globalThis.fetch, auth: process.env.MLCI_REGISTRY_AUTH, out, err });
        } catch (e) {
            if (e instanceof RetagUsageError) {
                err.write(`ci-images: ${e.message}\n${USAGE}`);
                return 2;
            }
            throw e;
        }
    }
    if (args.command === "uri") {
        // Reads `pulumi stack output --json` (a file, or stdin); needs no project checkout.
        const name = args.positional[0];
        if (!name) {
            err.write(`ci-images: uri needs an image name\n${USAGE}`);
            return 2;
        }
        const from = typeof args.flags.from === "string" ? args.flags.from : "-";
        try {
            const text = from === "-" ? fs.readFileSync(0, "utf8") : fs.readFileSync(from, "utf8");
            out.write(`${resolveImageRef(parseStackOutputs(text, from === "-" ? "stdin" : from), name)}\n`);
            return 0;
        } catch (e) {
            err.write(`ci-images: ${(e as Error).message}\n`);
            return 1;
        }
    }
    try {
        const root = args.flags.root ? path.resolve(String(args.flags.root)) : findProjectRoot();
        switch (args.command) {
            case "tags": {
                const { images } = await plan(root, stack);
                out.write(args.flags.json ? `${JSON.stringify(imagesJson(images), null, 2)}\n` : `${tagsTable(images)}\n`);
                return 0;
            }
            case "check": {
                const { images, config } = await plan(root, stack);
                const lint = dockerfileProblems(root, images);
                if (lint.length > 0) {
                    err.write(`Dockerfile checks failed (${lint.length}):\n${lint.map((l) => `  - ${l}`).join("\n")}\n`);
                    return 1;
                }
                const budget = storageCheckProblems(config);
                if (budget.length > 0) {
                    err.write(`${formatProblems(budget)}\n`);
                    return 1;
                }
                if (args.flags.online) {
                    const online = await onlinePreflight(root, images, process.env);
                    if (online.length > 0) {
                        err.write(`online preflight failed (${online.length}):\n${formatPreflightProblems(online)}\n`);
                        return 1;
                    }
                    out.write(`stack ${stack}: every torch wheel and base image tag the ${images.length} images need exists\n`);
                }
                out.write(`stack ${stack}: config valid, ${images.length} images, Dockerfiles pass the checks and copy only from their contexts\n`);
                return 0;
            }
            case "changed": {
                if (typeof args.flags.since !== "string") throw new UsageError("changed needs --since <git-rev>");
                const { changed, previous } = await changedSince(root, stack, args.flags.since);
                if (args.flags.json) out.write(`${JSON.stringify({ images: imagesJson(changed).images.map((i) => ({ ...i, previousTag: previous.get(i.name) ?? null })) }, null, 2)}\n`);
                else out.write(changed.length === 0 ? "no image changes\n" : `${changed.map((i) => `${i.name}  ${previous.get(i.name) ?? "(new)"} -> ${i.tag}`).join("\n")}\n`);
                return 0;
            }
            case "storage": {
                const { config } = await plan(root, stack);
                const flag = (k: string) => (typeof args.flags[k] === "string" ? (args.flags[k] as string) : undefined);
                return runStorage(config, stack, { weeks: flag("weeks"), from: flag("from"), json: args.flags.json === true }, out);
            }
            case "scan-gate": {
                // The allowlist and threshold from the stack's mlci:promotion (validated by the program); defaults without --stack.
                const named = args.flags.stack ?? process.env.PULUMI_STACK;
                const raw = named !== undefined ? (readStackConfigFile(root, String(named)).promotion ?? {}) : {};
                const parsed = SECTION_SCHEMAS.promotion.safeParse(raw);
                if (!parsed.success) throw new UsageError(`mlci:promotion of stack ${named} is invalid: ${parsed.error.issues.map((i) => i.message).join("; ")} (run ci-images check)`);
                const flag = (k: string) => (typeof args.flags[k] === "string" ? (args.flags[k] as string) : undefined);
                try {
                    return await runScanGate(args.positional, parsed.data, { maxSeverity: flag("max-severity"), timeout: flag("timeout"), interval: flag("interval"), settle: flag("settle"), json: args.flags.json === true }, { out, err, env: process.env });
                } catch (e) {
                    if ((e as Error).message.includes("is not an ECR image digest reference") || (e as Error).message.startsWith("--") || (e as Error).message.includes("needs at least one")) throw new UsageError((e as Error).message);
                    throw e;
                }
            }
            case "build-args": {
                const name = args.positional[0];
                if (!name) throw new UsageError("build-args needs an image name");
                const { images } = await plan(root, stack);
                const image = images.find((i) => i.name === name);
                if (!image) throw new UsageError(`unknown image "${name}"; images of stack ${stack}: ${images.map((i) => i.name).join(", ")}`);
                out.write(`${buildCommand(image, images, typeof args.flags.registry === "string" ? args.flags.registry : undefined)}\n`);
                return 0;
            }
            default:
                throw new UsageError(`unknown command "${args.command}"`);
        }
    } catch (e) {
        if (e instanceof ConfigError) {
            err.write(`${e.message}\n`);
            return 1;
        }
        if (e instanceof UsageError) {
            err.write(`ci-images: ${e.message}\n${USAGE}`);
            return 2;
        }
        throw e;
    }
}
