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
import type { FetchLike } from "../../lib/registry/registryHttp";
import type { CommandContext } from "../context";
import { storageCheckProblems } from "./storage";
import { planStackAtRevision } from "./changed";
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

/**
 * `check --online`: the preflight of lib/images/preflight.ts against the real wheel index and base
 * registry (or MLCI_PYTORCH_INDEX_URL / MLCI_BASE_REGISTRY_URL), each request bounded by a time-out.
 */
export async function onlinePreflight(root: string, images: TaggedImage[], env: NodeJS.ProcessEnv, fetchImpl: FetchLike = (u, i) => fetch(u, i as RequestInit)): Promise<PreflightProblem[]> {
    const dockerfiles: Record<string, string> = {};
    for (const image of images) dockerfiles[image.dockerfile] ??= fs.readFileSync(path.join(root, image.dockerfile), "utf8");
    const timeoutMs = Number(env.MLCI_PREFLIGHT_TIMEOUT_MS ?? 20_000);
    return preflight({
        images,
        dockerfiles,
        fetch: (url, init) => fetchImpl(url, { ...init, signal: AbortSignal.timeout(timeoutMs) } as never),
        indexUrl: env.MLCI_PYTORCH_INDEX_URL || undefined,
        registryUrl: env.MLCI_BASE_REGISTRY_URL || undefined,
    });
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
    const previous = since !== undefined ? await planStackAtRevision(root, stack, since, ctx.env) : undefined;
    const budget = [...storageCheckProblems(config), ...deployRightsProblems(config, stack), ...(previous ? protectTransitionProblems(previous.config, config) : [])];
    const online = lint.length === 0 && budget.length === 0 && ctx.has("online") ? await onlinePreflight(root, images, ctx.env, ctx.services.fetch) : [];
    const ok = lint.length === 0 && budget.length === 0 && online.length === 0;
    if (ctx.json) {
        ctx.out.write(`${JSON.stringify({ stack, valid: ok, images: images.length, online: ctx.has("online"), dockerfileProblems: lint, configProblems: budget, preflightProblems: online }, null, 2)}\n`);
    }
    if (lint.length > 0) ctx.err.write(`Dockerfile checks failed (${lint.length}):\n${lint.map((l) => `  - ${l}`).join("\n")}\n`);
    if (budget.length > 0) ctx.err.write(`${formatProblems(budget)}\n`);
    if (online.length > 0) ctx.err.write(`online preflight failed (${online.length}):\n${formatPreflightProblems(online)}\n`);
    if (!ok) return 1;
    if (!ctx.json) {
        if (ctx.has("online")) ctx.out.write(`stack ${stack}: every torch wheel and base image tag the ${images.length} images need exists\n`);
        ctx.out.write(`stack ${stack}: config valid, ${images.length} images, Dockerfiles pass the checks and copy only from their contexts\n`);
    }
    return 0;
}
