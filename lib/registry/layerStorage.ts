/**
 * What a repository stores, measured in the registry: every manifest its tags reach (an index's
 * platform manifests included), and the distinct blobs (configs and compressed layers) they
 * reference. ECR stores a blob once per repository and bills its compressed size, so the sum of the
 * distinct blobs is what the repository holds; the sum over manifests counts shared layers again.
 * Also derives the measured sizes the storage forecast uses: the largest platform image of a family
 * and, for a root family, the layers its builds of one cell share (the upstream base).
 */
import { parseTag } from "../images/tags";
import type { ManifestBytes } from "./registryHttp";

/** The registry reads the measurement needs (RegistryHttpClient fits). */
export interface LayerRegistry {
    listTags(repo: string): Promise<string[]>;
    getManifest(repo: string, ref: string): Promise<ManifestBytes | undefined>;
}

/** One platform manifest and the blobs it references. */
export interface MeasuredManifest {
    digest: string;
    /** The tags that reach it (through its index, for a platform manifest). */
    tags: string[];
    platform: string;
    /** Config and layer blobs: digest → compressed bytes. */
    blobs: Map<string, number>;
}

/** A repository as measured. */
export interface RepositoryMeasurement {
    repository: string;
    manifests: MeasuredManifest[];
    /** Distinct blobs of the repository: what it stores. */
    blobs: Map<string, number>;
    /** Sum of the distinct blobs. */
    storedBytes: number;
    /** Sum over platform manifests, each counted in full (what a per-manifest sum would claim). */
    manifestBytes: number;
}

interface ManifestJson {
    config?: { digest: string; size: number };
    layers?: { digest: string; size: number }[];
    manifests?: { digest: string; platform?: { os?: string; architecture?: string; variant?: string } }[];
}

/** Reads every tag's manifest (and an index's children) of `repository` and sums its distinct blobs. */
export async function measureRepository(registry: LayerRegistry, repository: string): Promise<RepositoryMeasurement> {
    const byDigest = new Map<string, MeasuredManifest>();
    const visit = async (ref: string, tag: string, platform: string): Promise<void> => {
        const manifest = await registry.getManifest(repository, ref);
        if (!manifest) return;
        const json = JSON.parse(Buffer.from(manifest.bytes).toString("utf8")) as ManifestJson;
        if (json.manifests) {
            for (const child of json.manifests) {
                const p = child.platform;
                await visit(child.digest, tag, p ? [p.os, p.architecture, p.variant].filter(Boolean).join("/") : "unknown");
            }
            return;
        }
        const known = byDigest.get(manifest.digest);
        if (known) {
            if (!known.tags.includes(tag)) known.tags.push(tag);
            return;
        }
        const blobs = new Map<string, number>();
        if (json.config) blobs.set(json.config.digest, json.config.size);
        for (const layer of json.layers ?? []) blobs.set(layer.digest, layer.size);
        byDigest.set(manifest.digest, { digest: manifest.digest, tags: [tag], platform, blobs });
    };
    for (const tag of await registry.listTags(repository)) await visit(tag, tag, "unknown");
    const manifests = [...byDigest.values()];
    const blobs = new Map<string, number>();
    for (const m of manifests) for (const [d, size] of m.blobs) blobs.set(d, size);
    const sum = (values: Iterable<number>) => [...values].reduce((a, b) => a + b, 0);
    return { repository, manifests, blobs, storedBytes: sum(blobs.values()), manifestBytes: sum(manifests.map((m) => sum(m.blobs.values()))) };
}

/** True for a BuildKit registry cache manifest: reached only through `cache-<cell>` tags. */
export function isCacheManifest(m: MeasuredManifest): boolean {
    return m.tags.length > 0 && m.tags.every((t) => t.startsWith("cache-"));
}

/** The largest platform image of the repository, in GB: the forecast's per-platform size (cache manifests are not images). */
export function largestImageGb(m: RepositoryMeasurement): number | undefined {
    const sizes = m.manifests.filter((x) => !isCacheManifest(x)).map((x) => [...x.blobs.values()].reduce((a, b) => a + b, 0));
    return sizes.length === 0 ? undefined : Math.max(...sizes) / 1e9;
}

/**
 * The layers the builds of one cell share, in GB (the mean over cells with at least two builds): for
 * a root family, its upstream base's layers. Undefined when no cell has two builds yet.
 */
export function sharedAcrossBuildsGb(m: RepositoryMeasurement): number | undefined {
    const byCell = new Map<string, MeasuredManifest[]>();
    for (const manifest of m.manifests) {
        const cell = manifest.tags.map((t) => parseTag(t)).find((p) => p?.shape === "content" || p?.shape === "forced")?.cell;
        if (cell === undefined) continue;
        byCell.set(`${cell}/${manifest.platform}`, [...(byCell.get(`${cell}/${manifest.platform}`) ?? []), manifest]);
    }
    const shared: number[] = [];
    for (const builds of byCell.values()) {
        if (builds.length < 2) continue;
        const [first, ...rest] = builds;
        let bytes = 0;
        for (const [digest, size] of first.blobs) if (rest.every((b) => b.blobs.has(digest))) bytes += size;
        shared.push(bytes);
    }
    return shared.length === 0 ? undefined : shared.reduce((a, b) => a + b, 0) / shared.length / 1e9;
}

/**
 * What a `cache-<cell>` ref stores beyond the images, in GB (the mean over the repository's cache
 * refs): its blobs that no image manifest references, i.e. the layers of build stages the image
 * does not keep (mode=max). Undefined when the repository has no cache ref.
 */
export function cacheOnlyGb(m: RepositoryMeasurement): number | undefined {
    const caches = m.manifests.filter(isCacheManifest);
    if (caches.length === 0) return undefined;
    const imageBlobs = new Set(m.manifests.filter((x) => !isCacheManifest(x)).flatMap((x) => [...x.blobs.keys()]));
    const only = caches.map((c) => [...c.blobs].reduce((a, [digest, size]) => a + (imageBlobs.has(digest) ? 0 : size), 0));
    return only.reduce((a, b) => a + b, 0) / only.length / 1e9;
}
