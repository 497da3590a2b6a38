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
 * | forced  | `<cell>-f<12 hex>-r<N>`              | `*-f*`     | `-f`                        |
 * | marker  | `<cell>-ok<12 hex>[-r<N>]`           | `*-ok*`    | `-ok`                       |
 * | cache   | `cache-<cell>`                       | `cache-*`  | the `cache-` prefix         |
 *
 * Cells are `cuda<major.minor>-py<major.minor>` or `py<major.minor>`: they contain none of the
 * literals. The hash and the rebuild counter always follow a letter, so neither is ever a date.
 *
 * Builds of one content hash: build 0 under the content tag, forced rebuild N (N ≥ 1, one more
 * than the highest N in the repository listing, so the preview and the update of one `pulumi up`
 * agree) under the forced tag. Each build has its own marker (`-ok<hex>` for build 0,
 * `-ok<hex>-r<N>` for rebuild N), put on that build's digest after its smoke test passed, so an
 * immutable marker never has to move.
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
    forced: new RegExp(`^(${CELL})-f(${HEX})-r([1-9]\\d{0,5})$`),
    marker: new RegExp(`^(${CELL})-ok(${HEX})(?:-r([1-9]\\d{0,5}))?$`),
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

/** Largest rebuild counter the grammar allows (6 digits). */
export const MAX_REBUILD = 999_999;

function checkRebuild(rebuild: number): number {
    if (!Number.isInteger(rebuild) || rebuild < 1 || rebuild > MAX_REBUILD) throw new Error(`internal: rebuild counter ${rebuild} is not an integer 1-${MAX_REBUILD}`);
    return rebuild;
}

/** Forced-rebuild tag `<cell>-f<12 hex>-r<N>`: same content hash, build N (≥ 1). */
export function forcedTag(cell: string, contentHash: string, rebuild: number): string {
    return `${cell}-f${hash12(contentHash)}-r${checkRebuild(rebuild)}`;
}

/** Smoke-test marker of build `rebuild` (0 = the content tag's build): `<cell>-ok<12 hex>`, or `…-r<N>` for forced rebuild N. */
export function markerTag(cell: string, contentHash: string, rebuild = 0): string {
    return `${cell}-ok${hash12(contentHash)}${rebuild === 0 ? "" : `-r${checkRebuild(rebuild)}`}`;
}

/** The tag of build `rebuild` of a content hash: the content tag for 0, else the forced tag. */
export function buildTag(cell: string, contentHash: string, rebuild: number): string {
    return rebuild === 0 ? contentTag(cell, contentHash) : forcedTag(cell, contentHash, rebuild);
}

/** BuildKit registry layer-cache ref `cache-<cell>`. */
export function cacheTag(cell: string): string {
    return `cache-${cell}`;
}

/** A tag taken apart: its shape, cell, and the hash/date/rebuild counter it carries. */
export interface ParsedTag {
    shape: TagShape;
    cell: string;
    /** 12 hex digits (content, forced, marker). */
    hash?: string;
    /** YYYYMMDD (dated). */
    date?: string;
    /** Build number: 0 for content tags and plain markers, N for forced tags and their markers. */
    rebuild?: number;
}

/** The shape of a generated tag, or undefined for any other tag (release tags, `latest`, …). */
export function parseTag(tag: string): ParsedTag | undefined {
    for (const shape of Object.keys(SHAPES) as TagShape[]) {
        const m = SHAPES[shape].exec(tag);
        if (!m) continue;
        if (shape === "content") return { shape, cell: m[1], hash: m[2], rebuild: 0 };
        if (shape === "forced" || shape === "marker") return { shape, cell: m[1], hash: m[2], rebuild: m[3] === undefined ? 0 : Number(m[3]) };
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
    forced: [forcedTag("cuda12.4-py3.11", "203f9a1c0b7d", 1), forcedTag("py3.11", "3f9a1c0b7d2e", 20)],
    marker: [markerTag("cuda12.4-py3.11", "203f9a1c0b7d"), markerTag("py3.11", "3f9a1c0b7d2e"), markerTag("py3.11", "3f9a1c0b7d2e", 20)],
    cache: [cacheTag("cuda12.4-py3.11"), cacheTag("py3.11")],
};

/** Literal prefixes every generated tag starts with (a release pattern must start elsewhere). */
export const GENERATED_TAG_PREFIXES: readonly string[] = ["cuda", "py", "cache-"];
