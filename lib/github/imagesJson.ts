/**
 * `CI_IMAGES_JSON`: one GitHub Actions variable per repository or environment holding every image's
 * digest-pinned ref as `{"<image name>": "<repo>:<tag>@sha256:…"}`, so a catalog of hundreds of images
 * publishes where one variable per image stops at GitHub's 100 variables per environment. Consumers read
 * `fromJSON(vars.CI_IMAGES_JSON)['nightly-cuda13.2-py3.12']`; `ci-images uri` reads the same JSON.
 * Pure: naming, the value, and the size arithmetic against GitHub's 48 KB per variable.
 */
import { closest } from "../config/problems";
import { DIGEST_REF } from "../images/stackOutputs";

/** The variable holding every image's ref as one JSON object. */
export const IMAGES_JSON_VARIABLE = "CI_IMAGES_JSON";

/**
 * GitHub: "Individual variables are limited to 48 KB in size" (Actions variables docs, limits for configuration
 * variables). The docs do not say whether a KB is 1,000 or 1,024 bytes: the conservative reading, 48,000 bytes.
 * GitHub also caps the variables one workflow run sees at 256 KB combined (docs/ci.md): this bound is per variable.
 */
export const ACTIONS_VARIABLE_MAX_BYTES = 48_000;

/**
 * The longest registry host a ref can carry: `<12-digit account>.dkr.ecr.<region>.amazonaws.com[.cn]` is
 * at most 53 characters for today's regions; 64 leaves room for a longer region or a mirror host.
 */
export const REGISTRY_HOST_MAX_CHARS = 64;

/** `{"name":"ref",…}` in the given order (parents first when the caller passes the plan's order), compact. */
export function imagesJsonValue(refs: Record<string, string>): string {
    return JSON.stringify(refs);
}

/** UTF-8 bytes of a variable value, as GitHub counts its size. */
export function variableBytes(value: string): number {
    return new TextEncoder().encode(value).length;
}

/** What the config knows of one image before any digest exists. */
export interface ImageRefShape {
    name: string;
    /** Repository name inside the registry, e.g. `ml-ci/nightly`. */
    repositoryName: string;
    /** The cell label the tags start with, e.g. `cuda13.2-py3.12`. */
    cellLabel: string;
}

/**
 * An upper bound of `CI_IMAGES_JSON`'s size before any image is built: each entry is
 * `"<name>":"<host>/<repository>:<cell>-f<12 hex>-r<NNN>@sha256:<64 hex>",` with the longest host
 * ({@link REGISTRY_HOST_MAX_CHARS}) and a forced-rebuild tag (the longest tag shape, up to -r999).
 */
export function imagesJsonMaxBytes(images: readonly ImageRefShape[]): number {
    const perImage = (i: ImageRefShape) => variableBytes(i.name) + REGISTRY_HOST_MAX_CHARS + 1 + variableBytes(i.repositoryName) + 1 + variableBytes(i.cellLabel) + "-f".length + 12 + "-r999".length + "@sha256:".length + 64 + '"":"",'.length;
    return 2 + images.reduce((sum, i) => sum + perImage(i), 0);
}

/** Why `CI_IMAGES_JSON` cannot hold `images`, or undefined when it can (with the worst-case refs). */
export function imagesJsonSizeProblem(images: readonly ImageRefShape[]): string | undefined {
    const bytes = imagesJsonMaxBytes(images);
    if (bytes <= ACTIONS_VARIABLE_MAX_BYTES) return undefined;
    return `${IMAGES_JSON_VARIABLE} for ${images.length} images may reach ${bytes} bytes, over GitHub's limit of ${ACTIONS_VARIABLE_MAX_BYTES} bytes (48 KB, read as 48,000 bytes) per variable`;
}

/** The image → ref map of a `CI_IMAGES_JSON` value, or undefined when `doc` is not one (a flat object of strings). */
export function asImagesJson(doc: unknown): Record<string, string> | undefined {
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return undefined;
    const entries = Object.entries(doc as Record<string, unknown>);
    if (entries.length === 0 || !entries.every(([, v]) => typeof v === "string")) return undefined;
    return doc as Record<string, string>;
}

/** The digest-pinned ref of `name` in a `CI_IMAGES_JSON` map; throws for an unknown image (with a close match) or a ref without digest. */
export function resolveImagesJsonRef(refs: Record<string, string>, name: string, source = IMAGES_JSON_VARIABLE): string {
    const ref = Object.prototype.hasOwnProperty.call(refs, name) ? refs[name] : undefined;
    if (ref === undefined) {
        const hint = closest(name, Object.keys(refs));
        throw new Error(`no image "${name}" in ${source}${hint ? `; did you mean "${hint}"?` : ""} (${Object.keys(refs).length} images)`);
    }
    if (!DIGEST_REF.test(ref)) throw new Error(`the image "${name}" has a malformed ref "${ref}" in ${source} (expected <repository>:<tag>@sha256:<64 hex digits>)`);
    return ref;
}
