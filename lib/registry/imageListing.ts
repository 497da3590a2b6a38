/**
 * What one repository listing says about the images of the graph. The program (ECR
 * `aws.ecr.getImages`, or the local registry's tags list) and `ci-images check --online` (ECR
 * DescribeImages) both list a repository ONCE and answer every question of every image with
 * {@link imageRegistryState}: is a tested build there to adopt, which tag does a new build push,
 * does the dated tag exist, where does `-latest` point.
 *
 * Builds of one content hash are its content tag (build 0) and its forced rebuilds (`-r<N>`,
 * N ≥ 1); the newest is the highest N. A build is adoptable only when its smoke-test marker is
 * in the listing on the same digest: a build that failed (or never ran) its smoke test is rebuilt.
 * Tag spellings come from lib/images/tags.ts.
 */
import { buildTag, markerTag, parseTag } from "../images/tags";

/** One manifest in a repository listing (ECR ListImages/DescribeImages, or registry tags list + manifest HEAD). */
export interface ListedImage {
    /** `sha256:<hex>`; `""` when the listing did not resolve it (a tags list without HEADs). */
    digest: string;
    tags: string[];
    /** ISO time of the push, when the listing knows it (DescribeImages). */
    pushedAt?: string;
    /** Compressed size in bytes, when the listing knows it (DescribeImages). */
    sizeBytes?: number;
}

/** The tag fields of an image of the graph ({@link TaggedImage} has them all). */
export interface ImageTagFields {
    /** Matrix cell label, e.g. `cuda12.4-py3.11`. */
    cell: { label: string };
    /** Full content hash (hex). */
    contentHash: string;
    /** Content tag `<cell>-h<hex>`. */
    tag: string;
    /** `<cell>-latest`. */
    latestTag: string;
    /** `<cell>-YYYYMMDD` of date-rebuilt families. */
    datedTag?: string;
}

/** One build of a content hash found in a listing. */
export interface ListedBuild {
    tag: string;
    /** 0 for the content tag, N for the forced tag `-r<N>`. */
    rebuild: number;
    /** `""` when unresolved. */
    digest: string;
}

/** What one listing says about one image of the graph. */
export interface ImageRegistryState {
    /** The newest build (highest rebuild number) if it carries its smoke-test marker on the same digest; else undefined. */
    adoptable?: { tag: string; digest: string };
    /** The newest build of this content hash, tested or not. */
    newestBuild?: ListedBuild;
    /** Highest rebuild number in the listing: -1 none, 0 only the content tag, N the forced `-r<N>`. */
    highestRebuild: number;
    /** Digest of the content tag itself. */
    contentTagDigest?: string;
    /** The dated tag is in the listing (dated tags are immutable: never republished). */
    datedTagExists: boolean;
    /** Digest the dated tag points at, when it exists and the listing resolved it. */
    datedTagDigest?: string;
    /** Digest `<cell>-latest` points at. */
    latestDigest?: string;
    /** The newest build's marker is in the listing (on its digest, when both are resolved). */
    markerPresent: boolean;
}

/** Groups ECR ListImages identifiers (one per digest+tag pair; untagged images without a tag) by digest. */
export function listingFromImageIds(imageIds: { imageDigest?: string; imageTag?: string }[]): ListedImage[] {
    const byDigest = new Map<string, ListedImage>();
    for (const id of imageIds) {
        const digest = id.imageDigest ?? "";
        const entry = byDigest.get(digest) ?? { digest, tags: [] };
        if (id.imageTag && !entry.tags.includes(id.imageTag)) entry.tags.push(id.imageTag);
        byDigest.set(digest, entry);
    }
    return [...byDigest.values()];
}

/** A listing from `tag → digest` (digest `""` when unresolved); tags with a resolved digest are grouped. */
export function listingFromTagDigests(tagDigests: Record<string, string>): ListedImage[] {
    const grouped = new Map<string, string[]>();
    const unresolved: ListedImage[] = [];
    for (const [tag, digest] of Object.entries(tagDigests)) {
        if (digest === "") unresolved.push({ digest: "", tags: [tag] });
        else grouped.set(digest, [...(grouped.get(digest) ?? []), tag]);
    }
    return [...[...grouped].map(([digest, tags]) => ({ digest, tags })), ...unresolved];
}

/** Answers every registry question about `image` from one listing of its repository. */
export function imageRegistryState(listing: readonly ListedImage[], image: ImageTagFields): ImageRegistryState {
    const digestOf = new Map<string, string>();
    for (const entry of listing) for (const tag of entry.tags) digestOf.set(tag, entry.digest);
    const cell = image.cell.label;
    const hash = parseTag(image.tag)?.hash;
    const builds: ListedBuild[] = [];
    const markers = new Map<number, string>();
    for (const [tag, digest] of digestOf) {
        const parsed = parseTag(tag);
        if (!parsed || parsed.cell !== cell || parsed.hash === undefined || parsed.hash !== hash) continue;
        if (parsed.shape === "content" || parsed.shape === "forced") builds.push({ tag, rebuild: parsed.rebuild ?? 0, digest });
        else if (parsed.shape === "marker") markers.set(parsed.rebuild ?? 0, digest);
    }
    builds.sort((a, b) => b.rebuild - a.rebuild);
    const newestBuild = builds[0];
    const markerDigest = newestBuild ? markers.get(newestBuild.rebuild) : undefined;
    const markerPresent =
        newestBuild !== undefined && markerDigest !== undefined && (markerDigest === "" || newestBuild.digest === "" || markerDigest === newestBuild.digest);
    return {
        adoptable: markerPresent ? { tag: newestBuild!.tag, digest: newestBuild!.digest } : undefined,
        newestBuild,
        highestRebuild: newestBuild?.rebuild ?? -1,
        contentTagDigest: digestOf.get(image.tag) || undefined,
        datedTagExists: image.datedTag !== undefined && digestOf.has(image.datedTag),
        datedTagDigest: image.datedTag !== undefined ? digestOf.get(image.datedTag) || undefined : undefined,
        latestDigest: digestOf.get(image.latestTag) || undefined,
        markerPresent,
    };
}

/** What the program does with one image of the graph. */
export type ImageDecision =
    | {
          action: "adopt";
          /** The adopted build's tag (content tag or forced `-r<N>`). */
          tag: string;
          digest: string;
          forced: false;
          /** Tags the promotion puts on the digest (all already there or idempotent). */
          promoteTags: string[];
      }
    | {
          action: "build";
          /** The tag the build pushes: the content tag for the first build, else the next forced `-r<N>`. */
          tag: string;
          /** A forced rebuild (config/`MLCI_FORCE_REBUILD`): no layer cache. */
          forced: boolean;
          /** Tags the promotion puts on the new digest after its smoke test passed. */
          promoteTags: string[];
      };

/** How the program wants an image treated. */
export interface DecisionOptions {
    /** The image (or an ancestor) is forced to rebuild. */
    forced: boolean;
    /** Adopt tested builds the registry already has (`build.adoptExisting`). */
    adoptExisting: boolean;
}

/**
 * Adopt or build, and under which tag. A build never reuses a tag the listing has: the first
 * build of a content hash pushes the content tag, any later one the forced tag one above the
 * highest in the listing (deterministic: no clock, the same in preview and update). The
 * promotion tags are the build's marker, `-latest`, and the dated tag unless the listing has it
 * on another digest (dated tags are published once: the first tested build of an epoch keeps it).
 */
export function decideImage(state: ImageRegistryState, image: ImageTagFields, options: DecisionOptions): ImageDecision {
    const cell = image.cell.label;
    const dated = (digest: string | undefined) =>
        image.datedTag !== undefined && (!state.datedTagExists || (digest !== undefined && digest !== "" && state.datedTagDigest === digest)) ? [image.datedTag] : [];
    if (!options.forced && options.adoptExisting && state.adoptable) {
        const build = state.newestBuild!;
        return {
            action: "adopt",
            tag: state.adoptable.tag,
            digest: state.adoptable.digest,
            forced: false,
            promoteTags: [markerTag(cell, image.contentHash, build.rebuild), image.latestTag, ...dated(state.adoptable.digest)],
        };
    }
    const rebuild = state.highestRebuild + 1;
    return {
        action: "build",
        tag: buildTag(cell, image.contentHash, rebuild),
        forced: options.forced,
        promoteTags: [markerTag(cell, image.contentHash, rebuild), image.latestTag, ...dated(undefined)],
    };
}
