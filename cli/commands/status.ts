/**
 * `ci-images status --stack S`: for each image (parents first) the expected content tag and what the
 * registry holds of it: the newest build of that content hash (content tag or forced `-r<N>`), its
 * digest, when it was built, whether its smoke-test marker is on it (`tested`), and whether
 * `<cell>-latest` points at it. One tags list per repository, then manifest HEADs.
 * `--max-age 8d` also checks that the promoted `<cell>-latest` of every weekly-rebuilt (dated) image
 * was built within that time and exits 1 otherwise: the alert for a schedule that stopped running.
 */
import type { TaggedImage } from "../../lib/images/graph";
import { datedTag, markerTag } from "../../lib/images/tags";
import { imageRegistryState, listingFromTagDigests } from "../../lib/registry/imageListing";
import { RegistryHttpError } from "../../lib/registry/registryHttp";
import { CliError, CommandContext, UsageError } from "../context";
import { RegistryAccess, registryAccess } from "../registryAccess";
import { parseDuration } from "./scanGate";
import { table } from "./tags";

/** What the registry holds of one image. */
export interface ImageStatus {
    name: string;
    repository: string;
    /** The content tag the checkout expects. */
    tag: string;
    /** `tested`: the newest build carries its marker on the same digest; `untested`: pushed, no marker; `missing`: no build. */
    state: "tested" | "untested" | "missing";
    build: { tag: string; digest: string; createdAt: string | null; ageSeconds: number | null } | null;
    /** `<cell>-latest` points at this build. */
    latest: boolean;
}

function refusal(access: RegistryAccess, e: unknown): CliError {
    const status = (e as RegistryHttpError).status;
    const fix =
        status === 401 || status === 403
            ? "the caller needs ecr:ListImages, ecr:BatchGetImage and ecr:GetDownloadUrlForLayer on the repositories (the pipeline role has them; the runner pull role has no ListImages: use ci-images wait there)"
            : "check that the registry is up (local: npm run up:local) and retry";
    return new CliError(`registry ${access.host} failed: ${(e as Error).message}. Fix: ${fix}`);
}

/**
 * When a build was made (its config's `created`), or null when the registry will not say: the age is
 * a convenience, so a failed blob read (ECR redirects blobs to S3) never fails the status.
 */
async function createdAtOf(access: RegistryAccess, repository: string, digest: string): Promise<string | null> {
    try {
        return (await access.client.imageCreated(repository, digest)) ?? null;
    } catch {
        return null;
    }
}

/** The status of every image, with one tags list per repository. */
export async function imageStatuses(images: TaggedImage[], access: RegistryAccess, now: Date): Promise<ImageStatus[]> {
    const client = access.client;
    try {
        const repositories = [...new Set(images.map((i) => i.repositoryName))];
        const listings = new Map(await Promise.all(repositories.map(async (r) => [r, listingFromTagDigests(Object.fromEntries((await client.listTags(r)).map((t) => [t, ""])))] as const)));
        const out: ImageStatus[] = [];
        for (const image of images) {
            const state = imageRegistryState(listings.get(image.repositoryName)!, image);
            const newest = state.newestBuild;
            if (!newest) {
                out.push({ name: image.name, repository: access.repositoryUrl(image.repositoryName), tag: image.tag, state: "missing", build: null, latest: false });
                continue;
            }
            const digest = (await client.manifestDigest(image.repositoryName, newest.tag)) ?? "";
            const marker = state.markerPresent ? await client.manifestDigest(image.repositoryName, markerTag(image.cell.label, image.contentHash, newest.rebuild)) : undefined;
            const latest = await client.manifestDigest(image.repositoryName, image.latestTag);
            const createdAt = digest ? await createdAtOf(access, image.repositoryName, digest) : null;
            const created = createdAt ? Date.parse(createdAt) : NaN;
            out.push({
                name: image.name,
                repository: access.repositoryUrl(image.repositoryName),
                tag: image.tag,
                state: marker !== undefined && marker === digest ? "tested" : "untested",
                build: { tag: newest.tag, digest, createdAt, ageSeconds: Number.isNaN(created) ? null : Math.max(0, Math.round((now.getTime() - created) / 1000)) },
                latest: latest !== undefined && latest === digest,
            });
        }
        return out;
    } catch (e) {
        if (e instanceof RegistryHttpError || e instanceof TypeError) throw refusal(access, e);
        throw e;
    }
}

/** How old the promoted `<cell>-latest` of one weekly-rebuilt image is (`--max-age`). */
export interface PromotionAge {
    name: string;
    latestTag: string;
    /** The digest `-latest` points at, or null when nothing was ever promoted. */
    digest: string | null;
    /** Seconds since that build's config was created; null when never promoted or the registry will not say. */
    ageSeconds: number | null;
    /** Older than the limit, never promoted, or of unknown age. */
    stale: boolean;
}

/**
 * The age of the promoted `-latest` of each image rebuilt on every epoch (families with `dateRebuilt`):
 * only those move weekly, so only their age says whether the schedule still runs. Other images stay on
 * the build of their content for as long as it does not change, however old.
 */
export async function promotionAges(images: TaggedImage[], access: RegistryAccess, now: Date, maxAgeSeconds: number): Promise<PromotionAge[]> {
    const out: PromotionAge[] = [];
    try {
        for (const image of images.filter((i) => i.dateRebuilt)) {
            const digest = await access.client.manifestDigest(image.repositoryName, image.latestTag);
            const createdAt = digest ? await createdAtOf(access, image.repositoryName, digest) : null;
            let created = createdAt ? Date.parse(createdAt) : NaN;
            // No readable config (a blob read can fail where a manifest HEAD works): the newest dated tag on the same digest.
            if (digest && Number.isNaN(created)) created = (await datedTagTime(image, access, digest, now, maxAgeSeconds)) ?? NaN;
            const ageSeconds = Number.isNaN(created) ? null : Math.max(0, Math.round((now.getTime() - created) / 1000));
            out.push({ name: image.name, latestTag: image.latestTag, digest: digest ?? null, ageSeconds, stale: ageSeconds === null || ageSeconds > maxAgeSeconds });
        }
    } catch (e) {
        if (e instanceof RegistryHttpError || e instanceof TypeError) throw refusal(access, e);
        throw e;
    }
    return out;
}

/**
 * When the build `digest` was promoted, from the dated tags `<cell>-YYYYMMDD` (the rebuild epoch, 00:00 UTC)
 * of the days within `maxAgeSeconds` (plus one): the newest one on the same digest. Manifest HEADs only.
 */
async function datedTagTime(image: TaggedImage, access: RegistryAccess, digest: string, now: Date, maxAgeSeconds: number): Promise<number | undefined> {
    const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
    for (let day = 0; day <= Math.ceil(maxAgeSeconds / 86400) + 1; day++) {
        const date = new Date(today - day * 86_400_000).toISOString().slice(0, 10);
        if ((await access.client.manifestDigest(image.repositoryName, datedTag(image.cell.label, date))) === digest) return Date.parse(`${date}T00:00:00Z`);
    }
    return undefined;
}

function maxAgeSeconds(ctx: CommandContext): number | undefined {
    const text = ctx.flag("max-age");
    if (text === undefined) return undefined;
    try {
        const ms = parseDuration(text);
        if (ms <= 0) throw new Error("it must be positive");
        return Math.round(ms / 1000);
    } catch (e) {
        throw new UsageError(`--max-age: ${(e as Error).message}`);
    }
}

/** `3d 4h`, `5h 12m`, `42m`, `17s`. */
export function formatAge(seconds: number | null): string {
    if (seconds === null) return "-";
    const d = Math.floor(seconds / 86400);
    const h = Math.floor((seconds % 86400) / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    return d > 0 ? `${d}d ${h}h` : h > 0 ? `${h}h ${m}m` : m > 0 ? `${m}m` : `${seconds}s`;
}

export async function run(ctx: CommandContext): Promise<number> {
    const stack = ctx.stack();
    const maxAge = maxAgeSeconds(ctx);
    const plan = await ctx.plan();
    const access = await registryAccess(ctx, plan, { registry: ctx.flag("registry") });
    const statuses = await imageStatuses(plan.images, access, ctx.services.now());
    const ages = maxAge === undefined ? undefined : await promotionAges(plan.images, access, ctx.services.now(), maxAge);
    const stale = ages?.filter((a) => a.stale) ?? [];
    if (ages !== undefined && ages.length === 0) ctx.warn(`--max-age: stack ${stack} has no weekly-rebuilt (dateRebuilt) image, so there is no promotion whose age says the schedule runs`);
    const code = stale.length > 0 ? 1 : 0;
    if (ctx.json) {
        ctx.out.write(`${JSON.stringify({ stack, registry: access.host, images: statuses, ...(ages ? { maxAgeSeconds: maxAge, promotions: ages } : {}) }, null, 2)}\n`);
    }
    for (const a of stale) {
        const why = a.digest === null ? "was never promoted" : a.ageSeconds === null ? "has no readable build date" : `was built ${formatAge(a.ageSeconds)} ago`;
        ctx.err.write(`ci-images status: ${a.name}: the promoted ${a.latestTag} ${why}, over --max-age ${ctx.flag("max-age")}. Fix: check that the weekly-rebuild workflow runs (GitHub disables a schedule after 60 days without activity) and that its last run passed\n`);
    }
    if (ctx.json) return code;
    const rows = statuses.map((s) => [s.name, s.state, s.build?.tag ?? s.tag, s.build?.digest ? s.build.digest.slice(0, 19) : "-", formatAge(s.build?.ageSeconds ?? null), s.latest ? "yes" : "no"]);
    const count = (state: ImageStatus["state"]) => statuses.filter((s) => s.state === state).length;
    ctx.out.write(`${table(["IMAGE", "STATE", "BUILD TAG", "DIGEST", "AGE", "LATEST"], rows)}\n\nstack ${stack} in ${access.host}: ${count("tested")} tested, ${count("untested")} untested, ${count("missing")} missing\n`);
    if (ages !== undefined) ctx.out.write(`promotions within --max-age ${ctx.flag("max-age")}: ${ages.length - stale.length} of ${ages.length} weekly-rebuilt images\n`);
    return code;
}
