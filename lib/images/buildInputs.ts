/**
 * What a build of an image is given, in one place for every driver: the program's docker-build
 * Image (components/images/imageBuild.ts), the bake file and `ci-images publish`
 * (lib/images/bakeFile.ts). A test compares the bake file with the program's inputs for every image.
 */
import type { TaggedImage } from "./graph";

/** OCI source/revision labels of a CI run (labels are not hashed). */
export interface BuildProvenance {
    /** Repository URL, e.g. `https://github.com/pytorch/rl`. */
    source?: string;
    /** Commit SHA. */
    revision?: string;
}

/**
 * The build args: the image's hashed args plus BASE_IMAGE (children: the parent's ref) or
 * BASE_REGISTRY (roots: the Docker Hub pull-through cache, or docker.io).
 */
export function buildArgsOf<T>(image: Pick<TaggedImage, "name" | "parent" | "buildArgs">, base: { baseImage?: T; baseRegistry?: T | string }): Record<string, T | string> {
    const args: Record<string, T | string> = { ...image.buildArgs };
    if (image.parent !== undefined) {
        if (base.baseImage === undefined) throw new Error(`internal: ${image.name} has parent ${image.parent} but no BASE_IMAGE`);
        args.BASE_IMAGE = base.baseImage;
    } else {
        args.BASE_REGISTRY = base.baseRegistry ?? "docker.io";
    }
    return args;
}

/** The image labels: title, version (the content tag, the same for every build of one content), family, hash, provenance. */
export function buildLabelsOf(image: Pick<TaggedImage, "name" | "tag" | "contentHash" | "family">, provenance: BuildProvenance = {}): Record<string, string> {
    return {
        "org.opencontainers.image.title": image.name,
        "org.opencontainers.image.version": image.tag,
        ...(provenance.source !== undefined ? { "org.opencontainers.image.source": provenance.source } : {}),
        ...(provenance.revision !== undefined ? { "org.opencontainers.image.revision": provenance.revision } : {}),
        "io.mlci.content-hash": image.contentHash,
        "io.mlci.family": image.family,
    };
}
