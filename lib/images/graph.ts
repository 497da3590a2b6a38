/**
 * The image graph: families × matrix cells expanded into image nodes ordered parents first,
 * each with its content-hash tag. Shared by the Pulumi program and the `ci-images` CLI.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { ConfigError, ConfigProblem, CONFIG_NAMESPACE } from "../config/problems";
import { familyCells, imageName, MatrixCell } from "./matrix";
import type { StackConfig } from "../config/schema";
import { ContextEntry, FileHashCache, hashContext, imageContentHash, ImageHashInputs } from "./contentHash";
import { checkCopySources, ContextFile, ContextViolation, DockerignoreError, explainMissingSource, listContextFiles } from "./dockerContext";
import { MATCHER_VERSION } from "./dockerignorePatterns";
import { cacheTag, contentTag, datedTag, latestTag } from "./tags";

/** One image to build: a family on one matrix cell. */
export interface ImageNode {
    /** `nightly-cuda12.4-py3.11` (`cpu-py3.11` for CPU-only families). */
    name: string;
    family: string;
    cell: MatrixCell;
    /** ECR-style repository name `<prefix>/<family>`. */
    repositoryName: string;
    /** Project-relative POSIX paths. */
    dockerfile: string;
    context: string;
    dockerfilePath: string;
    contextPath: string;
    /** Build args that define the image (hashed): cell args plus the family's own. */
    buildArgs: Record<string, string>;
    target?: string;
    platforms: string[];
    dateRebuilt: boolean;
    /** Parent image name, built first; undefined for root images. */
    parent?: string;
    /** Modules the smoke test imports besides torch. */
    smokeImports: string[];
}

/** An image node with its content hash and tags. */
export interface TaggedImage extends ImageNode {
    /** Full SHA-256 content hash. */
    contentHash: string;
    /** Immutable content-hash tag `<cell>-h<12 hex>` (lib/images/tags.ts). */
    tag: string;
    /** Moving alias `<cell>-latest`. */
    latestTag: string;
    /** `<cell>-YYYYMMDD` for date-rebuilt families. */
    datedTag?: string;
    /** Tag of the registry layer cache `cache-<cell>`. */
    cacheTag: string;
    /** What the hash was computed from, for `ci-images tags`, `explain` and debugging. */
    hashInputs: ImageHashInputs & {
        contextFiles: number;
        /** The context manifest the digest is computed from, with each file's size (shown, not hashed). Shared by a family's images. */
        contextManifest: SizedContextEntry[];
    };
}

/** A context manifest line with the file's size in bytes (a symlink's: its target's length). */
export interface SizedContextEntry extends ContextEntry {
    size: number;
}

/** `CUDNN_VARIANT` for a CUDA version, matching nvidia/cuda tag names (cudnn8 before CUDA 12). */
export function cudnnVariant(cuda: string): string {
    return Number(cuda.split(".")[0]) >= 12 ? "cudnn" : "cudnn8";
}

/** Build args a cell contributes. */
export function cellBuildArgs(cell: MatrixCell): Record<string, string> {
    return cell.cuda ? { CUDA_VERSION: cell.cuda, CUDNN_VARIANT: cudnnVariant(cell.cuda), PYTHON_VERSION: cell.python } : { PYTHON_VERSION: cell.python };
}

/** The UPSTREAM_IMAGE build arg of a root family that pins its upstream image per cell (`baseImages`). */
export function upstreamImageArg(family: { baseImages?: Record<string, string> }, cell: MatrixCell): Record<string, string> {
    const ref = family.baseImages?.[cell.cuda ?? cell.python];
    return ref === undefined ? {} : { UPSTREAM_IMAGE: ref };
}

/** Expands families × cells into nodes, parents before children (config must be validated). */
export function expandImageGraph(config: Pick<StackConfig, "families" | "matrix" | "registry">): ImageNode[] {
    const byName = new Map(config.families.map((f) => [f.name, f]));
    const order: string[] = [];
    const visit = (name: string, stack: string[]) => {
        if (order.includes(name)) return;
        if (stack.includes(name)) throw new Error(`internal: parent cycle through ${name} reached the graph (config validation must reject it)`);
        const f = byName.get(name)!;
        if (f.parent !== undefined) visit(f.parent, [...stack, name]);
        order.push(name);
    };
    for (const f of config.families) visit(f.name, []);
    const nodes: ImageNode[] = [];
    for (const familyName of order) {
        const f = byName.get(familyName)!;
        for (const cell of familyCells(f, config.matrix)) {
            nodes.push({
                name: imageName(f.name, cell),
                family: f.name,
                cell,
                repositoryName: `${config.registry.prefix}/${f.name}`,
                dockerfile: f.dockerfile,
                context: f.context,
                dockerfilePath: f.dockerfilePath,
                contextPath: f.contextPath,
                buildArgs: { ...cellBuildArgs(cell), ...f.buildArgs, ...upstreamImageArg(f, cell) },
                target: f.target,
                platforms: f.platforms,
                dateRebuilt: f.dateRebuilt,
                parent: f.parent !== undefined ? imageName(f.parent, cell) : undefined,
                smokeImports: f.smokeImports,
            });
        }
    }
    const names = new Set<string>();
    for (const n of nodes) {
        if (names.has(n.name)) throw new ConfigError([{ path: `families.${n.family}`, message: `image name "${n.name}" is produced twice`, fix: "rename the family so family × cell names are unique" }]);
        names.add(n.name);
    }
    return nodes;
}

/** Options for {@link tagImages}. */
export interface TagImagesOptions {
    /** Per-file hash cache. @default none */
    cache?: FileHashCache;
    /** Also reuse remembered context listings from `cache` (see listContextFiles). @default true */
    useListingCache?: boolean;
}

interface FamilyInputs {
    manifest: SizedContextEntry[];
    dockerfileSha256: string;
    contextDigest: string;
}

/** Where the per-file hash cache lives: outside docker/, so it never enters a context. */
export function defaultHashCachePath(projectRoot: string): string {
    return path.join(projectRoot, ".cache", "mlci", "file-hashes.json");
}

/**
 * Hashes every family's context once, checks COPY/ADD sources against it, and tags every
 * node (parents first, since a child's hash includes its parent's tag). Throws ConfigError
 * for a Dockerfile that copies from outside its context or an excluded path.
 */
export async function tagImages(nodes: ImageNode[], rebuildEpoch: string, opts: TagImagesOptions = {}): Promise<TaggedImage[]> {
    const perFamily = new Map<string, FamilyInputs>();
    const problems: ConfigProblem[] = [];
    for (const n of nodes) {
        if (perFamily.has(n.family)) continue;
        const dockerfileBytes = fs.readFileSync(n.dockerfilePath);
        const dockerfileSha256 = createHash("sha256").update(dockerfileBytes).digest("hex");
        let files: ContextFile[];
        try {
            files = listContextFiles(n.contextPath, n.dockerfilePath, { cache: opts.useListingCache === false ? undefined : opts.cache });
        } catch (e) {
            if (!(e instanceof DockerignoreError)) throw e;
            // Docker refuses the ignore file and fails the build: report it as the family's config problem.
            problems.push({ path: `families.${n.family}.context`, message: `${e.file ?? ".dockerignore"}:${e.line}: ${e.problem} in pattern "${e.pattern}" (Docker fails the build on it)`, fix: "correct or delete that .dockerignore line" });
            continue;
        }
        problems.push(...copySourceProblems(nodes.filter((m) => m.family === n.family), dockerfileBytes.toString("utf8"), dockerfileSha256, files, opts.cache));
        const { digest, entries } = await hashContext(files, { cache: opts.cache });
        const manifest = entries.map((e, i) => ({ ...e, size: Number(files[i].stat.size) }));
        perFamily.set(n.family, { manifest, dockerfileSha256, contextDigest: digest });
    }
    if (problems.length > 0) throw new ConfigError(problems);
    opts.cache?.save();

    const tagged = new Map<string, TaggedImage>();
    for (const n of nodes) {
        const fam = perFamily.get(n.family)!;
        const parentTag = n.parent !== undefined ? tagged.get(n.parent)?.tag : null;
        if (parentTag === undefined) throw new Error(`internal: parent ${n.parent} of ${n.name} was not tagged first`);
        const inputs: ImageHashInputs = {
            dockerfileSha256: fam.dockerfileSha256,
            contextDigest: fam.contextDigest,
            buildArgs: n.buildArgs,
            target: n.target,
            platforms: n.platforms,
            parentTag,
            rebuildEpoch: n.dateRebuilt ? rebuildEpoch : null,
        };
        const contentHash = imageContentHash(inputs);
        tagged.set(n.name, {
            ...n,
            contentHash,
            tag: contentTag(n.cell.label, contentHash),
            latestTag: latestTag(n.cell.label),
            datedTag: n.dateRebuilt ? datedTag(n.cell.label, rebuildEpoch) : undefined,
            cacheTag: cacheTag(n.cell.label),
            hashInputs: { ...inputs, contextFiles: fam.manifest.length, contextManifest: fam.manifest },
        });
    }
    return nodes.map((n) => tagged.get(n.name)!);
}

/**
 * COPY/ADD sources of one family's Dockerfile, expanded per image with that image's build args (its
 * cell's PYTHON_VERSION selects its lock file) and checked against what the context sends. A pass is
 * cached under the matcher's version and the hashes of the Dockerfile, the sent paths and the image's
 * build args: everything the expansion and the check read. One problem per broken source, naming every image (cell) it breaks.
 */
function copySourceProblems(familyNodes: ImageNode[], dockerfileText: string, dockerfileSha256: string, files: ContextFile[], cache: FileHashCache | undefined): ConfigProblem[] {
    const sent = files.map((f) => f.path);
    const sentSha256 = createHash("sha256").update(sent.join("\n")).digest("hex");
    const broken = new Map<string, { violation: ContextViolation; images: ImageNode[] }>();
    for (const n of familyNodes) {
        const argsSha256 = createHash("sha256").update(JSON.stringify(Object.entries(n.buildArgs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))).digest("hex");
        const verdict = `copy-sources/v2:m${MATCHER_VERSION}:${dockerfileSha256}:${sentSha256}:${argsSha256}`;
        if (cache?.hasVerdict(verdict)) continue;
        const violations = checkCopySources(dockerfileText, sent, n.buildArgs);
        if (violations.length === 0) cache?.addVerdict(verdict);
        for (const v of violations) {
            const key = `${v.line}\0${v.instruction}\0${v.expanded}\0${v.reason}`;
            const entry = broken.get(key) ?? { violation: v, images: [] };
            entry.images.push(n);
            broken.set(key, entry);
        }
    }
    const problems: ConfigProblem[] = [];
    for (const { violation: v, images } of broken.values()) {
        const n = images[0];
        // A source without a variable breaks every image of the family alike; one that expands per cell names its cells.
        const cells = v.expanded === v.source ? "" : `${images.length === 1 ? "cell" : "cells"} ${images.map((m) => `${m.cell.label} (${m.name})`).join(", ")}: `;
        const shown = v.expanded === v.source ? `"${v.source}"` : `"${v.source}" (= "${v.expanded}" for ${images.length === 1 ? "this cell" : "these cells"})`;
        if (v.reason === "outside-context") {
            problems.push({
                path: `families.${n.family}.dockerfile`,
                message: `${cells}${n.dockerfile}:${v.line} ${v.instruction} ${shown} reaches outside the build context "${n.context}"`,
                fix: `move the file into ${n.context}/ and commit it there (never copy it in with a script: untracked context files break content-hash tags), or set ${CONFIG_NAMESPACE}:families.${n.family}.context to a directory that contains it`,
            });
            continue;
        }
        const cause = explainMissingSource(n.contextPath, n.dockerfilePath, v.expanded);
        const ignoreFile = cause.kind === "excluded" ? path.posix.normalize(path.posix.join(n.context, path.relative(n.contextPath, cause.ignoreFile).split(path.sep).join("/"))) : "";
        problems.push({
            path: `families.${n.family}.dockerfile`,
            message:
                `${cells}${n.dockerfile}:${v.line} ${v.instruction} ${shown} matches no file the build context "${n.context}" sends (missing, or excluded by .dockerignore): ` +
                (cause.kind === "excluded" ? `${n.context}/${cause.file} is excluded by ${ignoreFile}:${cause.line} "${cause.pattern}"` : `no such file in ${n.context}/`),
            fix:
                cause.kind === "excluded"
                    ? `remove or narrow line ${cause.line} of ${ignoreFile}, or re-include the file after it with "!${cause.file}"`
                    : `add ${n.context}/${v.expanded.replace(/^\/+/, "")} (for a lock file: see docs/catalog.md, "Lock files"), or drop the cell from ${CONFIG_NAMESPACE}:families.${n.family}.matrix`,
        });
    }
    return problems;
}

/** Every build arg name the program passes to this image (hashed args plus BASE_IMAGE or BASE_REGISTRY). */
export function passedBuildArgNames(node: Pick<ImageNode, "buildArgs" | "parent">): string[] {
    return [...Object.keys(node.buildArgs), node.parent !== undefined ? "BASE_IMAGE" : "BASE_REGISTRY"].sort();
}

/** Names of `name` and every image built (transitively) on it. */
export function descendantsOf(images: Pick<ImageNode, "name" | "parent">[], name: string): string[] {
    const out = [name];
    for (const img of images) if (img.parent !== undefined && out.includes(img.parent) && !out.includes(img.name)) out.push(img.name);
    return out;
}
