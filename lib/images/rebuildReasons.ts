/**
 * Why an image rebuilds: the hash inputs that differ between a previous plan (a git revision) and the
 * current one, compared through their per-input digests (contentHash.ts `imageHashManifest`), and the
 * consequence: an image rebuilds for an input of its own, or only because its parent rebuilds (a
 * cascade: its one moved input is the parent's tag). Pure: plans in, data out.
 */
import { HASH_SCHEME, HashInputName, imageHashManifest } from "./contentHash";
import type { SizedContextEntry, TaggedImage } from "./graph";

/** What the comparison reads of an image. */
export type ExplainedImage = Pick<TaggedImage, "name" | "parent" | "tag" | "dockerfile" | "context" | "hashInputs">;

/** One hash input that differs. `from`/`to` are null where the input (or the file, or the arg) is absent on that side. */
export type InputChange =
    | { input: "image"; change: "added" }
    | { input: "scheme"; from: string; to: string }
    | { input: "dockerfile"; path: string }
    | { input: "context"; path: string; change: "added" | "removed" | "modified"; mode?: { from: string; to: string }; size?: { from: number; to: number } }
    | { input: "buildArg"; name: string; from: string | null; to: string | null }
    | { input: "target"; from: string | null; to: string | null }
    | { input: "platforms"; from: string[]; to: string[] }
    | { input: "parentTag"; from: string | null; to: string | null }
    | { input: "rebuildEpoch"; from: string | null; to: string | null };

/** unchanged; rebuilds for an input of its own; rebuilds only because its parent does. */
export type RebuildStatus = "unchanged" | "rebuilds-own-input" | "rebuilds-cascade";

/** One image's verdict. */
export interface ImageRebuild {
    name: string;
    parent: string | null;
    status: RebuildStatus;
    /** The tag at the revision, or null when the image did not exist there. */
    previousTag: string | null;
    tag: string;
    /** Every differing input, in hash order (empty when unchanged). */
    changes: InputChange[];
    /** One line saying why it rebuilds, or null when it does not. */
    reason: string | null;
    /** Present when the verdict may not match the revision's real tags (its tag code differed): why. */
    caveat?: string;
}

/** A plan to compare: its images and the hash scheme they were tagged with. */
export interface ComparedPlan {
    images: ExplainedImage[];
    /** @default the current HASH_SCHEME */
    hashScheme?: string;
}

/** Where `explainRebuilds` gets the previous side: a plan, or why the revision's config did not validate (e.g. the config paths of its problems). */
export type PreviousPlan = ComparedPlan | { invalid: string };

const CONTEXT_PREVIEW = 3;

/** The project-relative path of a context file (`docker/torch/requirements.lock`). */
function contextPath(image: ExplainedImage, rel: string): string {
    return image.context === "." || image.context === "" ? rel : `${image.context.replace(/\/+$/, "")}/${rel}`;
}

/** Added, removed and modified files between two context manifests (both sorted by path). */
export function contextChanges(image: ExplainedImage, before: SizedContextEntry[], after: SizedContextEntry[]): InputChange[] {
    const out: InputChange[] = [];
    let i = 0;
    let j = 0;
    while (i < before.length || j < after.length) {
        const a = before[i];
        const b = after[j];
        if (b === undefined || (a !== undefined && a.path < b.path)) {
            out.push({ input: "context", path: contextPath(image, a.path), change: "removed" });
            i++;
        } else if (a === undefined || b.path < a.path) {
            out.push({ input: "context", path: contextPath(image, b.path), change: "added" });
            j++;
        } else {
            if (a.mode !== b.mode || a.sha256 !== b.sha256) {
                out.push({
                    input: "context",
                    path: contextPath(image, b.path),
                    change: "modified",
                    ...(a.mode !== b.mode ? { mode: { from: a.mode, to: b.mode } } : {}),
                    ...(a.size !== b.size ? { size: { from: a.size, to: b.size } } : {}),
                });
            }
            i++;
            j++;
        }
    }
    return out;
}

/** The differing inputs of one image, in hash order (parentTag last but one, as the hash has it). */
export function inputChanges(before: ExplainedImage, after: ExplainedImage, schemes: { from: string; to: string }): InputChange[] {
    const a = imageHashManifest(before.hashInputs);
    const b = imageHashManifest(after.hashInputs);
    const differs = (name: HashInputName) => a[name] !== b[name];
    const out: InputChange[] = [];
    // Both sides are hashed by this checkout's code: the scheme the revision tagged with is read from its source.
    if (schemes.from !== schemes.to) out.push({ input: "scheme", from: schemes.from, to: schemes.to });
    if (differs("dockerfile")) out.push({ input: "dockerfile", path: after.dockerfile });
    if (differs("context")) out.push(...contextChanges(after, before.hashInputs.contextManifest, after.hashInputs.contextManifest));
    if (differs("buildArgs")) {
        const names = [...new Set([...Object.keys(before.hashInputs.buildArgs), ...Object.keys(after.hashInputs.buildArgs)])].sort();
        for (const name of names) {
            const from = before.hashInputs.buildArgs[name] ?? null;
            const to = after.hashInputs.buildArgs[name] ?? null;
            if (from !== to) out.push({ input: "buildArg", name, from, to });
        }
    }
    if (differs("target")) out.push({ input: "target", from: before.hashInputs.target ?? null, to: after.hashInputs.target ?? null });
    if (differs("platforms")) out.push({ input: "platforms", from: [...before.hashInputs.platforms].sort(), to: [...after.hashInputs.platforms].sort() });
    if (differs("parentTag")) out.push({ input: "parentTag", from: before.hashInputs.parentTag, to: after.hashInputs.parentTag });
    if (differs("rebuildEpoch")) out.push({ input: "rebuildEpoch", from: before.hashInputs.rebuildEpoch, to: after.hashInputs.rebuildEpoch });
    return out;
}

const shown = (v: string | null) => (v === null ? "(none)" : v);

/** One change as a short phrase, e.g. `build arg TORCH_VERSION 2.5.0 → 2.6.0`. */
export function describeChange(c: InputChange): string {
    switch (c.input) {
        case "image":
            return "new image";
        case "scheme":
            return `hash scheme ${c.from} → ${c.to}`;
        case "dockerfile":
            return `${c.path} modified`;
        case "context": {
            const details = [c.mode ? `mode ${c.mode.from} → ${c.mode.to}` : "", c.size ? `size ${c.size.from} → ${c.size.to} bytes` : ""].filter(Boolean).join(", ");
            return `${c.path} ${c.change}${details ? ` (${details})` : ""}`;
        }
        case "buildArg":
            return c.from === null ? `build arg ${c.name}=${c.to} added` : c.to === null ? `build arg ${c.name} removed (was ${c.from})` : `build arg ${c.name} ${c.from} → ${c.to}`;
        case "target":
            return `target ${shown(c.from)} → ${shown(c.to)}`;
        case "platforms":
            return `platforms ${c.from.join(",")} → ${c.to.join(",")}`;
        case "parentTag":
            return `parent tag ${shown(c.from)} → ${shown(c.to)}`;
        case "rebuildEpoch":
            return `rebuild epoch ${shown(c.from)} → ${shown(c.to)}`;
    }
}

/** The one-line reason of a rebuild: its own inputs (a new image or scheme first, then at most a few context files), else its parent. */
function reasonLine(image: ExplainedImage, changes: InputChange[], parentRebuilds: boolean): string {
    const parent = image.parent !== undefined && parentRebuilds ? image.parent : undefined;
    const own = changes.filter((c) => c.input !== "parentTag");
    if (own.length === 0) return parent !== undefined ? `rebuilds because its parent \`${parent}\` rebuilds` : "rebuilds because its parent tag moved";
    const leads = (c: InputChange) => c.input === "image" || c.input === "scheme";
    const first = own.filter(leads);
    const files = own.filter((c) => c.input === "context");
    const rest = own.filter((c) => !leads(c) && c.input !== "context");
    const phrases = [...first, ...rest, ...files.slice(0, CONTEXT_PREVIEW)].map(describeChange);
    if (files.length > CONTEXT_PREVIEW) phrases.push(`${files.length - CONTEXT_PREVIEW} more context files changed`);
    return `rebuilds: ${phrases.join("; ")}${parent !== undefined ? ` (and its parent \`${parent}\` rebuilds)` : ""}`;
}

/**
 * Compares every current image with its previous self: which inputs differ, and whether it rebuilds
 * for one of its own or only because its parent does. Images come parents first.
 */
export function explainRebuilds(previous: PreviousPlan, current: ComparedPlan): ImageRebuild[] {
    const invalid = "invalid" in previous ? previous.invalid : undefined;
    const before = "invalid" in previous ? new Map<string, ExplainedImage>() : new Map(previous.images.map((i) => [i.name, i]));
    const schemes = { from: ("invalid" in previous ? undefined : previous.hashScheme) ?? HASH_SCHEME, to: current.hashScheme ?? HASH_SCHEME };
    const verdicts = new Map<string, ImageRebuild>();
    for (const image of current.images) {
        const old = before.get(image.name);
        const changes: InputChange[] = old === undefined ? [{ input: "image", change: "added" }] : inputChanges(old, image, schemes);
        const rebuilds = changes.length > 0 || old?.tag !== image.tag;
        const parentRebuilds = image.parent !== undefined && verdicts.get(image.parent)?.status !== "unchanged";
        const ownInput = changes.some((c) => c.input !== "parentTag");
        let reason: string | null = null;
        if (rebuilds) reason = invalid !== undefined ? `rebuilds: no previous tag is known, since the stack's config at ${invalid} does not validate under this checkout's rules` : reasonLine(image, changes, parentRebuilds);
        verdicts.set(image.name, {
            name: image.name,
            parent: image.parent ?? null,
            status: !rebuilds ? "unchanged" : ownInput ? "rebuilds-own-input" : "rebuilds-cascade",
            previousTag: old?.tag ?? null,
            tag: image.tag,
            changes,
            reason,
        });
    }
    return current.images.map((i) => verdicts.get(i.name)!);
}
