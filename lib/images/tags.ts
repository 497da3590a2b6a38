/**
 * The one tag grammar: every tag the program pushes or reads, its ECR lifecycle/wildcard pattern,
 * and its parser. The image graph, the lifecycle generator, the policy pack, the Dockerfile rules
 * and the outputs reader all import it. docs/tags.md documents it.
 *
 * Each shape carries a literal no other shape contains, so the shapes are pairwise disjoint
 * under ECR's wildcard semantics (`*` = any run of characters, the pattern matching the whole tag):
 *
 * | shape   | tag                                  | pattern    | distinguishing literal      |
 * |---------|--------------------------------------|------------|-----------------------------|
 * | content | `<cell>-h<12 hex>`                   | `*-h*`     | `-h`                        |
 * | latest  | `<cell>-latest`                      | `*-latest` | the `-latest` suffix        |
 * | dated   | `<cell>-YYYYMMDD`                    | `*-20*`    | `-20` (this century)        |
 * | forced  | `<cell>-f<12 hex>-r<YYYYMMDDHHMMSS>` | `*-f*`     | `-f`                        |
 * | marker  | `<cell>-ok<12 hex>`                  | `*-ok*`    | `-ok`                       |
 * | cache   | `cache-<cell>`                       | `cache-*`  | the `cache-` prefix         |
 *
 * Cells are `cuda<major.minor>-py<major.minor>` or `py<major.minor>`: they contain none of the
 * literals. The hash always follows a letter, so a hash starting with `20` is never a date.
 */

/** Version of the tag grammar; docs/tags.md lists what each version changed. */
export const TAG_SCHEME_VERSION = 2;

/** Hex digits of the content hash that go into a tag. */
export const TAG_HASH_LENGTH = 12;

/** Every tag shape. */
export type TagShape = "content" | "latest" | "dated" | "forced" | "marker" | "cache";

/** ECR wildcard pattern selecting exactly one shape (lifecycle `tagPatternList`, mutability exclusion filters). */
export const TAG_PATTERNS: Readonly<Record<TagShape, string>> = {
    content: "*-h*",
    latest: "*-latest",
    dated: "*-20*",
    forced: "*-f*",
    marker: "*-ok*",
    cache: "cache-*",
};

/** Tags that move on every build and so stay mutable under `IMMUTABLE_WITH_EXCLUSION`. */
export const MUTABLE_TAG_PATTERNS: readonly string[] = [TAG_PATTERNS.latest, TAG_PATTERNS.cache];

/** A matrix cell label: `cuda12.4-py3.11` or `py3.11`. */
export const CELL_PATTERN = /^(?:cuda\d{1,2}\.\d{1,2}-)?py\d\.\d{1,2}$/;

const CELL = "(?:cuda\\d{1,2}\\.\\d{1,2}-)?py\\d\\.\\d{1,2}";
const HEX = `[0-9a-f]{${TAG_HASH_LENGTH}}`;
const SHAPES: Readonly<Record<TagShape, RegExp>> = {
    content: new RegExp(`^(${CELL})-h(${HEX})$`),
    latest: new RegExp(`^(${CELL})-latest$`),
    dated: new RegExp(`^(${CELL})-(20\\d{6})$`),
    forced: new RegExp(`^(${CELL})-f(${HEX})-r(20\\d{12})$`),
    marker: new RegExp(`^(${CELL})-ok(${HEX})$`),
    cache: new RegExp(`^cache-(${CELL})$`),
};

function hash12(contentHash: string): string {
    if (!/^[0-9a-f]{12,}$/.test(contentHash)) throw new Error(`internal: content hash "${contentHash}" is not hex`);
    return contentHash.slice(0, TAG_HASH_LENGTH);
}

/** Immutable content-hash tag `<cell>-h<12 hex>`. */
export function contentTag(cell: string, contentHash: string): string {
    return `${cell}-h${hash12(contentHash)}`;
}

/** Moving alias `<cell>-latest`, moved only after the smoke test passed. */
export function latestTag(cell: string): string {
    return `${cell}-latest`;
}

/** Dated tag `<cell>-YYYYMMDD` of a date-rebuilt family, from the rebuild epoch `YYYY-MM-DD`. */
export function datedTag(cell: string, rebuildEpoch: string): string {
    const ymd = rebuildEpoch.replace(/-/g, "");
    if (!/^20\d{6}$/.test(ymd)) throw new Error(`internal: rebuild epoch "${rebuildEpoch}" is not a date of this century`);
    return `${cell}-${ymd}`;
}

/** Forced-rebuild tag `<cell>-f<12 hex>-r<YYYYMMDDHHMMSS>`: same content hash, new build. */
export function forcedTag(cell: string, contentHash: string, nonce: string): string {
    if (!/^20\d{12}$/.test(nonce)) throw new Error(`internal: rebuild nonce "${nonce}" is not a UTC timestamp YYYYMMDDHHMMSS`);
    return `${cell}-f${hash12(contentHash)}-r${nonce}`;
}

/** Marker `<cell>-ok<12 hex>`, pushed onto a digest after its smoke test passed. */
export function markerTag(cell: string, contentHash: string): string {
    return `${cell}-ok${hash12(contentHash)}`;
}

/** BuildKit registry layer-cache ref `cache-<cell>`. */
export function cacheTag(cell: string): string {
    return `cache-${cell}`;
}

/** A tag taken apart: its shape, cell, and the hash/date/nonce it carries. */
export interface ParsedTag {
    shape: TagShape;
    cell: string;
    /** 12 hex digits (content, forced, marker). */
    hash?: string;
    /** YYYYMMDD (dated). */
    date?: string;
    /** YYYYMMDDHHMMSS (forced). */
    nonce?: string;
}

/** The shape of a generated tag, or undefined for any other tag (release tags, `latest`, …). */
export function parseTag(tag: string): ParsedTag | undefined {
    for (const shape of Object.keys(SHAPES) as TagShape[]) {
        const m = SHAPES[shape].exec(tag);
        if (!m) continue;
        if (shape === "content" || shape === "marker") return { shape, cell: m[1], hash: m[2] };
        if (shape === "forced") return { shape, cell: m[1], hash: m[2], nonce: m[3] };
        if (shape === "dated") return { shape, cell: m[1], date: m[2] };
        return { shape, cell: m[1] };
    }
    return undefined;
}

/** True for moving aliases: `latest` and `<cell>-latest`. */
export function isMovingTag(tag: string): boolean {
    return tag === "latest" || tag.endsWith("-latest");
}

/** True when `tag` matches the ECR wildcard pattern `pattern` as a whole (`*` = any run of characters). */
export function tagPatternMatches(pattern: string, tag: string): boolean {
    const source = pattern
        .split("*")
        .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
        .join(".*");
    return new RegExp(`^${source}$`).test(tag);
}

/** One example tag of every shape, for checking that a user pattern (release tags) catches none. */
export const TAG_EXAMPLES: Readonly<Record<TagShape, string[]>> = {
    latest: [latestTag("cuda12.4-py3.11"), latestTag("py3.11")],
    content: [contentTag("cuda12.4-py3.11", "203f9a1c0b7d"), contentTag("py3.11", "3f9a1c0b7d2e")],
    dated: [datedTag("cuda12.4-py3.11", "2026-11-22"), datedTag("py3.11", "2026-11-22")],
    forced: [forcedTag("cuda12.4-py3.11", "203f9a1c0b7d", "20261123020000")],
    marker: [markerTag("cuda12.4-py3.11", "203f9a1c0b7d"), markerTag("py3.11", "3f9a1c0b7d2e")],
    cache: [cacheTag("cuda12.4-py3.11"), cacheTag("py3.11")],
};

/** Literal prefixes every generated tag starts with (a release pattern must start elsewhere). */
export const GENERATED_TAG_PREFIXES: readonly string[] = ["cuda", "py", "cache-"];
