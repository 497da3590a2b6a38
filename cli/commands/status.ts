/**
 * `ci-images status --stack S`: for each image (parents first) the expected content tag and what the
 * registry holds of it: the newest build of that content hash (content tag or forced `-r<N>`), its
 * digest, when it was built, whether its smoke-test marker is on it (`tested`), and whether
 * `<cell>-latest` points at it. One tags list per repository, then manifest HEADs.
 */
import type { TaggedImage } from "../../lib/images/graph";
import { markerTag } from "../../lib/images/tags";
import { imageRegistryState, listingFromTagDigests } from "../../lib/registry/imageListing";
import { RegistryHttpError } from "../../lib/registry/registryHttp";
import { CliError, CommandContext } from "../context";
import { RegistryAccess, registryAccess } from "../registryAccess";
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
    const plan = await ctx.plan();
    const access = await registryAccess(ctx, plan, { registry: ctx.flag("registry") });
    const statuses = await imageStatuses(plan.images, access, ctx.services.now());
    if (ctx.json) {
        ctx.out.write(`${JSON.stringify({ stack, registry: access.host, images: statuses }, null, 2)}\n`);
        return 0;
    }
    const rows = statuses.map((s) => [s.name, s.state, s.build?.tag ?? s.tag, s.build?.digest ? s.build.digest.slice(0, 19) : "-", formatAge(s.build?.ageSeconds ?? null), s.latest ? "yes" : "no"]);
    const count = (state: ImageStatus["state"]) => statuses.filter((s) => s.state === state).length;
    ctx.out.write(`${table(["IMAGE", "STATE", "BUILD TAG", "DIGEST", "AGE", "LATEST"], rows)}\n\nstack ${stack} in ${access.host}: ${count("tested")} tested, ${count("untested")} untested, ${count("missing")} missing\n`);
    return 0;
}
