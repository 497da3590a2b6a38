/**
 * `ci-images wait <image> --stack S [--timeout 90m] [--interval 30s]`: polls the registry until the
 * image's tested build exists (the seed's wait for an image another job is building), then prints
 * only its digest-pinned ref. Manifest HEADs only, so the runner's pull-only role is enough: it
 * probes the smoke-test markers `<cell>-ok<hash>`, `-r1`, … upwards and takes the newest one whose
 * build tag is on the same digest. With `--fallback latest`, when no tested build of this checkout's
 * content exists (by default after one check, or after an explicit `--timeout`), it prints the promoted
 * `<cell>-latest` pinned to its digest instead, with a warning on stderr: a job on a checkout whose images
 * are not built yet runs the last promoted image rather than failing after 90 minutes.
 */
import { closest } from "../../lib/config/problems";
import type { TaggedImage } from "../../lib/images/graph";
import { buildTag, markerTag } from "../../lib/images/tags";
import { RegistryHttpError } from "../../lib/registry/registryHttp";
import { RETRYABLE_STATUSES } from "../../lib/registry/retryPolicy";
import { CliError, CommandContext, UsageError } from "../context";
import { RegistryAccess, registryAccess } from "../registryAccess";
import { parseDuration } from "./scanGate";

/** Forced rebuilds of one content are rare: more than this many markers means something is looping. */
const MAX_REBUILDS_PROBED = 100;
/** The `--fallback` values: only `latest` (the promoted `<cell>-latest`). */
export const WAIT_FALLBACKS = ["latest"] as const;

/** The promoted `<cell>-latest` of `image` pinned to its digest, or undefined when nothing was promoted yet. */
export async function promotedLatestRef(image: TaggedImage, access: RegistryAccess): Promise<string | undefined> {
    const digest = await access.client.manifestDigest(image.repositoryName, image.latestTag);
    return digest === undefined ? undefined : `${access.repositoryUrl(image.repositoryName)}:${image.latestTag}@${digest}`;
}

/**
 * The registry calls' own budget when the wait itself has none (`--fallback` without `--timeout`:
 * one check, then the fallback's reads), as any other command's registry call (REGISTRY_RETRY.budgetMs).
 */
const ONE_CHECK_BUDGET_MS = 120_000;

/**
 * A registry failure worth polling on until --timeout: no answer (a reset, a refusal, a timeout;
 * not an unknown host) or a transient answer (429, 5xx, throttling) that outlasted the client's
 * retries. Anything else (a refusal, a malformed answer) ends the wait at once.
 */
function transient(e: RegistryHttpError): boolean {
    if (e.status === 0) return e.code !== "ENOTFOUND";
    return RETRYABLE_STATUSES.has(e.status) || /throttl|TOOMANYREQUESTS/i.test(e.message);
}

/** The newest tested build of `image` (`<host>/<repo>:<tag>@<digest>`), or undefined when there is none yet. */
export async function testedBuildRef(image: TaggedImage, access: RegistryAccess): Promise<string | undefined> {
    const client = access.client;
    let found: { tag: string; digest: string } | undefined;
    for (let rebuild = 0; rebuild < MAX_REBUILDS_PROBED; rebuild++) {
        const marker = await client.manifestDigest(image.repositoryName, markerTag(image.cell.label, image.contentHash, rebuild));
        if (marker === undefined) break;
        const tag = buildTag(image.cell.label, image.contentHash, rebuild);
        if ((await client.manifestDigest(image.repositoryName, tag)) === marker) found = { tag, digest: marker };
    }
    return found ? `${access.repositoryUrl(image.repositoryName)}:${found.tag}@${found.digest}` : undefined;
}

function duration(ctx: CommandContext, flag: string, fallback: string): number {
    try {
        const ms = parseDuration(ctx.flag(flag) ?? fallback);
        if (ms <= 0) throw new Error(`--${flag} must be positive`);
        return ms;
    } catch (e) {
        throw new UsageError(`--${flag}: ${(e as Error).message}`);
    }
}

/** `--fallback latest`: print the promoted ref with a warning, or fail when nothing was ever promoted. */
async function fallBackToLatest(ctx: CommandContext, image: TaggedImage, access: RegistryAccess, where: string): Promise<number> {
    let ref: string | undefined;
    try {
        ref = await promotedLatestRef(image, access);
    } catch (e) {
        if (!(e instanceof RegistryHttpError) && !(e instanceof TypeError)) throw e;
        throw new CliError(`falling back to ${image.name}'s ${image.latestTag}: registry ${access.host} failed (${(e as Error).message}). Fix: check the registry login and the network`);
    }
    if (ref === undefined) {
        throw new CliError(`no tested build of ${where} and no promoted ${image.latestTag} to fall back to in ${access.host}. Fix: run the weekly-rebuild workflow (or ci-images publish --stack ${ctx.stack()}) once`);
    }
    ctx.warn(`${image.name}: this checkout's build ${image.tag} is not built and tested yet; using the promoted ${image.latestTag} (${ref.slice(ref.indexOf("@") + 1)}), which may predate this checkout's docker/ changes`);
    ctx.out.write(ctx.json ? `${JSON.stringify({ name: image.name, ref, fallback: "latest" })}\n` : `${ref}\n`);
    return 0;
}

export async function run(ctx: CommandContext): Promise<number> {
    const name = ctx.positional[0];
    const fallback = ctx.flag("fallback");
    if (fallback !== undefined && !(WAIT_FALLBACKS as readonly string[]).includes(fallback)) {
        throw new UsageError(`--fallback: "${fallback}" is not a fallback (only: ${WAIT_FALLBACKS.join(", ")})`);
    }
    // With a fallback and no explicit --timeout, one check: the point is not to wait for a build that may never come.
    const timeoutMs = fallback !== undefined && ctx.flag("timeout") === undefined ? 0 : duration(ctx, "timeout", "90m");
    const intervalMs = duration(ctx, "interval", "30s");
    const plan = await ctx.plan();
    const image = plan.images.find((i) => i.name === name);
    if (!image) {
        const hint = closest(name, plan.images.map((i) => i.name));
        throw new CliError(`unknown image "${name}" in stack ${ctx.stack()}${hint ? `. Did you mean ${hint}?` : ""} (ci-images tags --stack ${ctx.stack()} lists them)`);
    }
    const { now, sleep } = ctx.services;
    const deadline = now().getTime() + timeoutMs;
    // The registry client's retries end by the same deadline (lib/registry/retryPolicy.ts); a single check
    // (--fallback without --timeout) keeps a registry call's own budget, or its first request would be aborted at once.
    const access = await registryAccess(ctx, plan, { registry: ctx.flag("registry"), deadline: timeoutMs > 0 ? deadline : now().getTime() + ONE_CHECK_BUDGET_MS });
    const where = `${access.repositoryUrl(image.repositoryName)}:${image.tag}`;
    let lastFailure: RegistryHttpError | undefined;
    for (let poll = 1; ; poll++) {
        let ref: string | undefined;
        try {
            ref = await testedBuildRef(image, access);
            lastFailure = undefined;
        } catch (e) {
            if (!(e instanceof RegistryHttpError)) throw e;
            if (e.status === 401 || e.status === 403) {
                throw new CliError(`waiting for ${name}: registry ${access.host} refused (${e.message}). Fix: the job needs a registry login that can pull ${image.repositoryName} (ECR: ecr:GetAuthorizationToken and ecr:BatchGetImage, which the runner pull role has)`);
            }
            if (!transient(e)) throw new CliError(`waiting for ${name}: registry ${access.host} failed (${e.message}). Fix: check the registry host (--registry / CI_IMAGES_REGISTRY) and the network`);
            lastFailure = e;
        }
        if (ref !== undefined) {
            ctx.err.write(`${name}: tested build found after ${poll} check${poll === 1 ? "" : "s"}\n`);
            ctx.out.write(ctx.json ? `${JSON.stringify({ name, ref })}\n` : `${ref}\n`);
            return 0;
        }
        const left = deadline - now().getTime();
        if (left <= 0 && fallback !== undefined) return fallBackToLatest(ctx, image, access, where);
        if (left <= 0) {
            if (lastFailure) throw new CliError(`timed out after ${ctx.flag("timeout") ?? "90m"} waiting for ${name}: registry ${access.host} did not answer (${lastFailure.message}). Fix: check the registry and the network, then run the wait again`);
            throw new CliError(`timed out after ${ctx.flag("timeout") ?? "90m"} waiting for ${name}: no tested build of ${where} (smoke-test marker ${markerTag(image.cell.label, image.contentHash)}) in ${access.host}. Fix: check the job that builds it (pr-images / weekly-rebuild), or ci-images status --stack ${ctx.stack()}`);
        }
        ctx.err.write(lastFailure ? `${name}: registry ${access.host} did not answer (check ${poll}: ${lastFailure.message}); next check in ${Math.round(Math.min(intervalMs, left) / 1000)}s\n` : `${name}: no tested build of ${where} yet (check ${poll}); next check in ${Math.round(Math.min(intervalMs, left) / 1000)}s\n`);
        await sleep(Math.min(intervalMs, left));
    }
}
