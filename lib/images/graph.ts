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
import { checkCopySources, ContextFile, DockerignoreError, listContextFiles } from "./dockerContext";
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
                buildArgs: { ...cellBuildArgs(cell), ...f.buildArgs },
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
        // The copy check reads only the Dockerfile and the sent paths: a pass is cached under their hashes.
        const copyCheck = `copy-sources:${dockerfileSha256}:${createHash("sha256").update(files.map((f) => f.path).join("\n")).digest("hex")}`;
        const violations = opts.cache?.hasVerdict(copyCheck) ? [] : checkCopySources(dockerfileBytes.toString("utf8"), files.map((f) => f.path));
        if (violations.length === 0) opts.cache?.addVerdict(copyCheck);
        for (const v of violations) {
            problems.push({
                path: `families.${n.family}.dockerfile`,
                message:
                    v.reason === "outside-context"
                        ? `${n.dockerfile}:${v.line} ${v.instruction} "${v.source}" reaches outside the build context "${n.context}"`
                        : `${n.dockerfile}:${v.line} ${v.instruction} "${v.source}" matches no file the build context "${n.context}" sends (missing, or excluded by .dockerignore)`,
                fix:
                    v.reason === "outside-context"
                        ? `move the file into ${n.context}/ and commit it there (never copy it in with a script: untracked context files break content-hash tags), or set ${CONFIG_NAMESPACE}:families.${n.family}.context to a directory that contains it`
                        : `add the file to ${n.context}/ or stop excluding it in .dockerignore`,
            });
        }
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
