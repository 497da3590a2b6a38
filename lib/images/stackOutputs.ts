/**
 * Reading `pulumi stack output --json` back: validates the `images` contract CI relies on and
 * resolves an image name to its digest-pinned ref. Pure; the `ci-images uri` command wraps it.
 */
import { closest } from "../config/problems";
import { parseTag, TagShape } from "./tags";

/** One entry of the `images` stack output. */
export interface ImageOutput {
    /** `<repository>:<tag>` (mutable in principle: a tag can be re-pushed). */
    uri: string;
    /** `<repository>:<tag>@sha256:<digest>`: immutable; undefined when the image was not pushed. */
    ref?: string;
    tag: string;
    /** The tag's shape in the tag grammar (`content`, or `forced` after a forced rebuild); undefined for a tag of an older grammar. */
    tagShape?: TagShape;
    repository: string;
    family: string;
    /** Full CUDA version; undefined for CPU-only images. */
    cuda?: string;
    python: string;
}

/** The stack outputs CI consumes; other outputs are kept as they are. */
export interface StackOutputs {
    images: Record<string, ImageOutput>;
    registryUrl?: string;
    runnerRoleArn?: string;
    instanceProfileName?: string;
    pipelineRoleArn?: string;
    [output: string]: unknown;
}

/** A digest-pinned reference: `<name>:<tag>@sha256:<64 hex>`. */
export const DIGEST_REF = /^[^\s@]+:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}@sha256:[0-9a-f]{64}$/;

const SECRET_PLACEHOLDER = "[secret]";

function isObject(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

function imageEntryProblems(name: string, entry: unknown): string[] {
    const at = `images["${name}"]`;
    if (!isObject(entry)) return [`${at} must be an object, got ${JSON.stringify(entry)}`];
    const problems: string[] = [];
    for (const key of ["uri", "tag", "repository", "family", "python"] as const) {
        if (typeof entry[key] !== "string" || entry[key] === "") problems.push(`${at}.${key} must be a non-empty string, got ${JSON.stringify(entry[key])}`);
    }
    if (entry.cuda !== undefined && entry.cuda !== null && typeof entry.cuda !== "string") problems.push(`${at}.cuda must be a string or absent, got ${JSON.stringify(entry.cuda)}`);
    if (entry.ref !== undefined && entry.ref !== null && typeof entry.ref !== "string") problems.push(`${at}.ref must be a string or absent, got ${JSON.stringify(entry.ref)}`);
    return problems;
}

function toImageOutput(entry: Record<string, unknown>): ImageOutput {
    const out: ImageOutput = {
        uri: entry.uri as string,
        tag: entry.tag as string,
        repository: entry.repository as string,
        family: entry.family as string,
        python: entry.python as string,
    };
    const shape = parseTag(out.tag)?.shape;
    if (shape !== undefined) out.tagShape = shape;
    if (typeof entry.ref === "string" && entry.ref !== "") out.ref = entry.ref;
    if (typeof entry.cuda === "string") out.cuda = entry.cuda;
    return out;
}

/**
 * Parses the JSON of `pulumi stack output --json` (or of `pulumi stack output --json images`,
 * the bare map) and checks the `images` contract. Throws one error listing every problem.
 */
export function parseStackOutputs(jsonText: string, source = "the stack outputs"): StackOutputs {
    let doc: unknown;
    try {
        doc = JSON.parse(jsonText);
    } catch (e) {
        throw new Error(`${source} is not JSON (${(e as Error).message}); expected the output of \`pulumi stack output --json\``);
    }
    if (!isObject(doc)) throw new Error(`${source} must be a JSON object (the output of \`pulumi stack output --json\`), got ${Array.isArray(doc) ? "an array" : JSON.stringify(doc)}`);
    const bareMap = !("images" in doc) && Object.keys(doc).length > 0 && Object.values(doc).every((v) => isObject(v) && "uri" in v);
    const root: Record<string, unknown> = bareMap ? { images: doc } : doc;
    const images = root.images;
    if (images === SECRET_PLACEHOLDER) throw new Error(`${source}: the images output is shown as "[secret]"; re-run \`pulumi stack output --json --show-secrets\``);
    if (images === undefined) {
        throw new Error(`${source} has no "images" output (outputs present: ${Object.keys(root).join(", ") || "none"}): is this the ml-ci-images stack, and has \`pulumi up\` run?`);
    }
    if (!isObject(images)) throw new Error(`${source}: "images" must be an object of image name → { uri, ref, tag, ... }, got ${JSON.stringify(images)}`);
    const problems = Object.entries(images).flatMap(([name, entry]) => imageEntryProblems(name, entry));
    for (const key of ["registryUrl", "runnerRoleArn", "instanceProfileName", "pipelineRoleArn"]) {
        if (root[key] !== undefined && typeof root[key] !== "string") problems.push(`${key} must be a string, got ${JSON.stringify(root[key])}`);
    }
    if (problems.length > 0) throw new Error(`${source} do not match the images contract:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    const parsed: Record<string, ImageOutput> = {};
    for (const [name, entry] of Object.entries(images)) parsed[name] = toImageOutput(entry as Record<string, unknown>);
    return { ...root, images: parsed } as StackOutputs;
}

/** Image names, with a "did you mean" for `name`, for error messages. */
function availableImages(outputs: StackOutputs, name: string): string {
    const names = Object.keys(outputs.images).sort();
    if (names.length === 0) return "the stack outputs list no images";
    const hint = closest(name, names) ?? names.find((n) => n.startsWith(name) || name.startsWith(n));
    const shown = names.length > 40 ? `${names.slice(0, 40).join(", ")}, … (${names.length - 40} more)` : names.join(", ");
    return `${hint ? `did you mean "${hint}"? ` : ""}available: ${shown}`;
}

/**
 * The digest-pinned ref (`<repo>:<tag>@sha256:…`) of image `name`. Throws for an unknown image
 * (with close matches and the available names) and for an image that has no digest.
 */
export function resolveImageRef(outputs: StackOutputs, name: string): string {
    const image = Object.prototype.hasOwnProperty.call(outputs.images, name) ? outputs.images[name] : undefined;
    if (image === undefined) throw new Error(`no image "${name}" in the stack outputs; ${availableImages(outputs, name)}`);
    if (image.ref === undefined || !image.ref.includes("@")) {
        throw new Error(`the image "${name}" has no digest in the outputs: it was not pushed (build.push is false) or the last up failed`);
    }
    if (!DIGEST_REF.test(image.ref)) throw new Error(`the image "${name}" has a malformed ref "${image.ref}" (expected <repository>:<tag>@sha256:<64 hex digits>)`);
    return image.ref;
}
