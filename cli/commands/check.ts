/**
 * `ci-images check --stack S [--online]`: the program's config validation, the Dockerfile checks with
 * the args the program passes, the storage budget and, with --online, the wheel index and base images.
 */
import * as fs from "fs";
import * as path from "path";
import { deployPolicy, deployPolicyArgsFor } from "../../lib/access/deployPolicy";
import { deployRightsWarnings } from "../../lib/access/deployRights";
import { ConfigProblem, formatProblems } from "../../lib/config/problems";
import type { StackConfig } from "../../lib/config/schema";
import { lintDockerfile } from "../../lib/images/dockerfileRules";
import { passedBuildArgNames, TaggedImage } from "../../lib/images/graph";
import { formatPreflightProblems, preflight, PreflightProblem } from "../../lib/images/preflight";
import { lockPreflight, SourceBuildNote, YankedNote } from "../../lib/images/lockPreflight";
import type { FetchLike } from "../../lib/registry/registryHttp";
import type { CommandContext } from "../context";
import { measurementOptions, readStackMeasurements, storageCheckProblems } from "./storage";
import { planAtRevision } from "../revisionPlan";
import { protectTransitionProblems } from "../../lib/registry/protectTransition";

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

/** The lock file each image installs: `requirements-py<X.Y>.lock` of its build context, when present. */
export function imageLocks(root: string, images: TaggedImage[]): Record<string, { path: string; text: string }> {
    const locks: Record<string, { path: string; text: string }> = {};
    for (const image of images) {
        const rel = path.posix.join(image.context, `requirements-py${image.cell.python}.lock`);
        const abs = path.join(root, rel);
        if (fs.existsSync(abs)) locks[image.name] = { path: rel, text: fs.readFileSync(abs, "utf8") };
    }
    return locks;
}

/** What `check --online` found. */
export interface OnlineResult {
    problems: PreflightProblem[];
    sourceBuilds: SourceBuildNote[];
    /** Exact pins of yanked releases (PEP 592): installed anyway, reported. */
    yanked: YankedNote[];
    /** Lock pins checked (image × platform × pin). */
    pinsChecked: number;
    /** What does not fail the check: pinned base tags that now point elsewhere. */
    notes: PreflightProblem[];
}

/**
 * `check --online`: the preflight of lib/images/preflight.ts (torch wheels, base images) and the
 * full-lock preflight of lib/images/lockPreflight.ts (every pin of every cell's lock, per platform)
 * against the real indexes and registry, or MLCI_PYTORCH_INDEX_URL / MLCI_PYTHON_INDEX_URL /
 * MLCI_BASE_REGISTRY_URL; each request bounded by a time-out.
 */
export async function onlinePreflight(root: string, images: TaggedImage[], env: NodeJS.ProcessEnv, fetchImpl: FetchLike = (u, i) => fetch(u, i as RequestInit)): Promise<OnlineResult> {
    const dockerfiles: Record<string, string> = {};
    for (const image of images) dockerfiles[image.dockerfile] ??= fs.readFileSync(path.join(root, image.dockerfile), "utf8");
    const timeoutMs = Number(env.MLCI_PREFLIGHT_TIMEOUT_MS ?? 20_000);
    const bounded: FetchLike = (url, init) => fetchImpl(url, { ...init, signal: AbortSignal.timeout(timeoutMs) } as never);
    const notes: PreflightProblem[] = [];
    const [problems, locks] = await Promise.all([
        preflight({
            images,
            dockerfiles,
            onNote: (n) => notes.push(n),
            fetch: bounded,
            indexUrl: env.MLCI_PYTORCH_INDEX_URL || undefined,
            registryUrl: env.MLCI_BASE_REGISTRY_URL || undefined,
        }),
        lockPreflight({ images, dockerfiles, locks: imageLocks(root, images), fetch: bounded, indexUrl: env.MLCI_PYTHON_INDEX_URL || undefined }),
    ]);
    return { problems: [...problems, ...locks.problems], sourceBuilds: locks.sourceBuilds, yanked: locks.yanked, pinsChecked: locks.checked, notes };
}

/**
 * Deploy rights of a stack whose pipeline runs `pulumi up`: the deploy policy the program will attach (its state
 * statements do not depend on the account, so a placeholder account is used offline) and the listed policies.
 */
export function deployRightsProblems(config: StackConfig, stack: string): ConfigProblem[] {
    const pipeline = config.access.pipeline;
    const generated = pipeline.enabled && pipeline.runsPulumiUp ? deployPolicy(deployPolicyArgsFor(config, { stack, accountId: "000000000000" })) : undefined;
    return deployRightsWarnings(config.access, { generatedDeployPolicy: generated });
}

export async function run(ctx: CommandContext): Promise<number> {
    const stack = ctx.stack();
    const { images, config } = await ctx.plan();
    const root = ctx.root();
    const lint = dockerfileProblems(root, images);
    const since = ctx.flag("since");
    const previous = since !== undefined ? await planAtRevision(root, stack, since, ctx.env, { ownTags: false }) : undefined;
    // The budget check forecasts from the registry's measured sizes when a measurement is recorded
    // (storage-measurements/<stack>.json), else from the families' size estimates (docs/scaling.md).
    const budget = [
        ...storageCheckProblems(config, measurementOptions(readStackMeasurements(root, stack))),
        ...deployRightsProblems(config, stack),
        ...(previous?.config ? protectTransitionProblems(previous.config, config) : []),
    ];
    const result = lint.length === 0 && budget.length === 0 && ctx.has("online") ? await onlinePreflight(root, images, ctx.env, ctx.services.fetch) : undefined;
    const online = result?.problems ?? [];
    const sourceBuilds = result?.sourceBuilds ?? [];
    const ok = lint.length === 0 && budget.length === 0 && online.length === 0;
    if (ctx.json) {
        ctx.out.write(`${JSON.stringify({ stack, valid: ok, images: images.length, online: ctx.has("online"), dockerfileProblems: lint, configProblems: budget, preflightProblems: online, sourceBuilds }, null, 2)}\n`);
    }
    if (lint.length > 0) ctx.err.write(`Dockerfile checks failed (${lint.length}):\n${lint.map((l) => `  - ${l}`).join("\n")}\n`);
    if (budget.length > 0) ctx.err.write(`${formatProblems(budget)}\n`);
    if (online.length > 0) ctx.err.write(`online preflight failed (${online.length}):\n${formatPreflightProblems(online)}\n`);
    const notes = result?.notes ?? [];
    if (notes.length > 0) ctx.err.write(`base images to bump (${notes.length}):\n${formatPreflightProblems(notes)}\n`);
    const yanked = result?.yanked ?? [];
    if (yanked.length > 0) ctx.err.write(`yanked releases pinned exactly (installed anyway, PEP 592; move the pin at the next lock refresh) (${yanked.length}):\n${yanked.map((y) => `  - ${y.image}: ${y.pin} (${y.lock})${y.reason ? `: ${y.reason}` : ""}`).join("\n")}\n`);
    if (!ctx.json && sourceBuilds.length > 0) {
        const lines = sourceBuilds.map((n) => `  - ${n.image} ${n.platform}: ${n.pin} (${n.lock}) builds from source (${n.sdist}; build requirements: ${n.buildRequires === undefined ? "unknown" : n.buildRequires.join(", ") || "none declared"})`);
        ctx.out.write(`pins without a wheel for their cell, built from source by the image build (${sourceBuilds.length}):\n${lines.join("\n")}\n`);
    }
    if (!ok) return 1;
    if (!ctx.json) {
        if (ctx.has("online")) {
            ctx.out.write(`stack ${stack}: every torch wheel and base image tag the ${images.length} images need exists\n`);
            ctx.out.write(`stack ${stack}: every pin of every cell's lock file resolves on each platform (${result?.pinsChecked ?? 0} image × platform × pin checks)\n`);
        }
        ctx.out.write(`stack ${stack}: config valid, ${images.length} images, Dockerfiles pass the checks and copy only from their contexts\n`);
    }
    return 0;
}
