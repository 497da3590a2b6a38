/**
 * The `docker buildx bake` file of a stack (JSON; https://docs.docker.com/build/bake/reference/):
 * one target per image with the program's build inputs (lib/images/buildInputs.ts), and the one
 * target `ci-images publish` builds for a concrete build. In a bake file, `dockerfile` is relative
 * to `context`; the program's paths are project-relative, so both are converted here.
 */
import * as path from "path";
import { BuildProvenance, buildArgsOf, buildLabelsOf } from "./buildInputs";
import type { TaggedImage } from "./graph";

/** One bake target (the JSON attribute names of the bake reference). */
export interface BakeTarget {
    context: string;
    /** Relative to `context`. */
    dockerfile: string;
    args: Record<string, string>;
    platforms: string[];
    target?: string;
    tags: string[];
    labels: Record<string, string>;
    "cache-from"?: string[];
    "cache-to"?: string[];
    /** Named contexts: the parent's ref → `target:<parent target>` in the whole-graph file. */
    contexts?: Record<string, string>;
    output?: string[];
}

/** A bake file: the default group builds every target. */
export interface BakeFile {
    group: { default: { targets: string[] } };
    target: Record<string, BakeTarget>;
}

/** How the bake file builds. */
export interface BakeOptions {
    /** Registry host the images are tagged and pushed to, e.g. `localhost:5000`. */
    registryHost: string;
    /** Registry layer cache `:cache-<cell>` in each repository (mlci:build.cache). */
    cache: boolean;
    /** Push (`output: type=registry`) and write the cache (mlci:build.push). */
    push: boolean;
    /** BASE_REGISTRY of root images. @default "docker.io" */
    baseRegistry?: string;
    provenance?: BuildProvenance;
}

/** One concrete build: its tag and, for a child, the parent's digest-pinned ref. */
export interface BuildSelection {
    /** The tag this build pushes (content tag, or a forced `-r<N>` tag). */
    tag: string;
    /** `<repo>:<tag>@sha256:…` of the parent (children only). */
    baseImageRef?: string;
    /** A forced rebuild: no cache import (as the program). @default false */
    forced?: boolean;
}

/** Bake target names allow `[A-Za-z0-9_-]`: image names map `.` to `_` (`nightly-cuda13_0-py3_12`). */
export function bakeTargetName(imageName: string): string {
    return imageName.replace(/[^A-Za-z0-9_-]/g, "_");
}

/** `<host>/<repository>:<tag>`. */
function imageRef(opts: Pick<BakeOptions, "registryHost">, image: Pick<TaggedImage, "repositoryName">, tag: string): string {
    return `${opts.registryHost}/${image.repositoryName}:${tag}`;
}

/** The target of one build of `image` (publish): the program's inputs for that build, no named contexts. */
export function bakeTargetForBuild(image: TaggedImage, opts: BakeOptions, build: BuildSelection): BakeTarget {
    const cacheRef = `type=registry,ref=${imageRef(opts, image, image.cacheTag)}`;
    const dockerfile = path.posix.relative(image.context, image.dockerfile);
    if (dockerfile.startsWith("../")) throw new Error(`internal: ${image.dockerfile} is outside the context ${image.context}`);
    return {
        context: image.context,
        dockerfile,
        args: buildArgsOf<string>(image, { baseImage: build.baseImageRef, baseRegistry: opts.baseRegistry }) as Record<string, string>,
        platforms: [...image.platforms],
        ...(image.target !== undefined ? { target: image.target } : {}),
        tags: [imageRef(opts, image, build.tag)],
        labels: buildLabelsOf(image, opts.provenance),
        ...(opts.cache && !build.forced ? { "cache-from": [cacheRef] } : {}),
        ...(opts.cache && opts.push ? { "cache-to": [`${cacheRef},mode=max,image-manifest=true,oci-mediatypes=true`] } : {}),
        ...(opts.push ? { output: ["type=registry"] } : {}),
    };
}

/**
 * The whole graph as a bake file: every image under its content tag; a child's BASE_IMAGE is its
 * parent's content-tag ref (content tags are immutable), and a named context of that same ref
 * points at the parent's target, so `docker buildx bake -f <file>` builds parents first and feeds
 * each child its parent's result (BuildKit matches `FROM ${BASE_IMAGE}` against the context name).
 */
export function bakeFile(images: TaggedImage[], opts: BakeOptions): BakeFile {
    const byName = new Map(images.map((i) => [i.name, i]));
    const target: Record<string, BakeTarget> = {};
    for (const image of images) {
        const parent = image.parent !== undefined ? byName.get(image.parent) : undefined;
        if (image.parent !== undefined && parent === undefined) throw new Error(`internal: ${image.name}'s parent ${image.parent} is not in the graph`);
        const parentRef = parent ? imageRef(opts, parent, parent.tag) : undefined;
        const t = bakeTargetForBuild(image, opts, { tag: image.tag, baseImageRef: parentRef });
        if (parent && parentRef) t.contexts = { [parentRef]: `target:${bakeTargetName(parent.name)}` };
        target[bakeTargetName(image.name)] = t;
    }
    return { group: { default: { targets: Object.keys(target) } }, target };
}

/**
 * `docker build` arguments for one target, for engines without buildx (`DOCKER_BUILDKIT=1 docker
 * build --network host`): one platform only, the output loaded into the engine (push separately).
 * No registry cache: the classic builder imports only inline cache, not the cache manifests
 * buildx writes to `cache-<cell>`.
 */
export function dockerBuildArgv(name: string, t: BakeTarget): string[] {
    if (t.platforms.length > 1) {
        throw new Error(`${name} builds for ${t.platforms.join(", ")}, which needs buildx (docker build makes one platform). Fix: install the buildx plugin (docker-buildx-plugin), or build on a builder that has it`);
    }
    const argv = ["build", "--network", "host", "-f", path.posix.join(t.context, t.dockerfile)];
    if (t.platforms.length === 1) argv.push("--platform", t.platforms[0]);
    for (const k of Object.keys(t.args).sort()) argv.push("--build-arg", `${k}=${t.args[k]}`);
    if (t.target !== undefined) argv.push("--target", t.target);
    for (const k of Object.keys(t.labels).sort()) argv.push("--label", `${k}=${t.labels[k]}`);
    for (const tag of t.tags) argv.push("-t", tag);
    argv.push(t.context);
    return argv;
}
