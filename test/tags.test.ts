import { strict as assert } from "assert";
import fc from "fast-check";
import { familyCells } from "../lib/images/matrix";
import {
    cacheTag,
    contentTag,
    datedTag,
    forcedTag,
    latestTag,
    markerTag,
    MUTABLE_TAG_PATTERNS,
    parseTag,
    TAG_EXAMPLES,
    TAG_PATTERNS,
    tagPatternMatches,
    TagShape,
} from "../lib/images/tags";

const SHAPES = Object.keys(TAG_PATTERNS) as TagShape[];

// Cells as lib/config derives them, over arbitrary CUDA and Python versions (GPU and CPU-only families).
const version = fc.tuple(fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 })).map(([a, b, c]) => `${a}.${b}.${c}`);
const python = fc.integer({ min: 0, max: 99 }).map((m) => `3.${m}`);
const cell = fc.tuple(fc.option(version, { nil: undefined }), python).map(([cuda, py]) => familyCells(cuda ? { cpuOnly: false } : { cpuOnly: true }, { cuda: cuda ? [cuda] : [], python: [py] })[0].label);
// Hashes biased towards the ones that used to collide with the dated pattern (hex starting with "20").
const hash = fc.oneof(fc.stringMatching(/^[0-9a-f]{64}$/), fc.stringMatching(/^20[0-9]{10}[0-9a-f]{52}$/));
const day = fc.date({ min: new Date("2000-01-01T00:00:00Z"), max: new Date("2099-12-31T23:59:59Z"), noInvalidDate: true });

/** One generated tag of each shape for the same cell. */
const rebuild = fc.integer({ min: 1, max: 999_999 });
const tagsOfEveryShape = fc.record({ cell, hash, day, rebuild, markerRebuild: fc.oneof(fc.constant(0), rebuild) }).map(({ cell, hash, day, rebuild, markerRebuild }): Record<TagShape, string> => ({
    content: contentTag(cell, hash),
    latest: latestTag(cell),
    dated: datedTag(cell, day.toISOString().slice(0, 10)),
    forced: forcedTag(cell, hash, rebuild),
    marker: markerTag(cell, hash, markerRebuild),
    cache: cacheTag(cell),
}));

describe("the tag grammar (lib/images/tags.ts)", () => {
    it("shapes are pairwise disjoint under ECR wildcard semantics: each pattern selects its own shape and no other", () => {
        fc.assert(
            fc.property(tagsOfEveryShape, (tags) => {
                for (const shape of SHAPES) {
                    for (const other of SHAPES) {
                        const matches = tagPatternMatches(TAG_PATTERNS[shape], tags[other]);
                        assert.equal(matches, shape === other, `${TAG_PATTERNS[shape]} ${matches ? "matches" : "misses"} ${other} tag ${tags[other]}`);
                    }
                }
            }),
            { numRuns: 500 },
        );
    });

    it("parses every generated tag back to its shape, cell and values", () => {
        fc.assert(
            fc.property(tagsOfEveryShape, (tags) => {
                for (const shape of SHAPES) assert.equal(parseTag(tags[shape])?.shape, shape, tags[shape]);
                assert.equal(parseTag(tags.content)?.hash, parseTag(tags.forced)?.hash);
                assert.equal(parseTag(tags.content)?.hash, parseTag(tags.marker)?.hash);
            }),
        );
    });

    it("a content hash starting with 20 is not a dated tag (the v1 grammar's `*-20*` kept such builds as dated)", () => {
        const tag = contentTag("cuda12.4-py3.11", "2026112212ab" + "0".repeat(52));
        assert.equal(tag, "cuda12.4-py3.11-h2026112212ab");
        assert.equal(tagPatternMatches(TAG_PATTERNS.dated, tag), false);
        assert.equal(tagPatternMatches(TAG_PATTERNS.dated, "cuda12.4-py3.11-2026112212ab"), true, "the v1 shape did collide");
    });

    it("keeps the user-facing shapes <cell>-latest and <cell>-YYYYMMDD", () => {
        assert.equal(latestTag("py3.12"), "py3.12-latest");
        assert.equal(datedTag("cuda13.2-py3.12", "2026-11-22"), "cuda13.2-py3.12-20261122");
    });

    it("leaves exactly the moving shapes mutable, and the examples are of the shape they are listed under", () => {
        assert.deepEqual([...MUTABLE_TAG_PATTERNS], [TAG_PATTERNS.latest, TAG_PATTERNS.cache]);
        for (const shape of SHAPES) for (const t of TAG_EXAMPLES[shape]) assert.equal(parseTag(t)?.shape, shape, t);
    });

    it("rejects values that would break the grammar", () => {
        assert.throws(() => contentTag("py3.12", "XYZ"), /not hex/);
        assert.throws(() => forcedTag("py3.12", "a".repeat(64), 0), /rebuild counter 0 is not an integer 1-999999/);
        assert.throws(() => markerTag("py3.12", "a".repeat(64), 1.5), /rebuild counter 1.5/);
        assert.equal(parseTag("release-2.5"), undefined);
    });

    it("the rebuild counter is 1-999999 without leading zeros, in forced tags and markers alike", () => {
        const h = "0123456789ab";
        for (const cell of ["py3.12", "cuda13.2-py3.12"]) {
            for (const bad of ["0", "01", "007", "1234567", "-1", "1a", "", " 1"]) {
                assert.equal(parseTag(`${cell}-ok${h}-r${bad}`), undefined, `marker ${cell}-ok${h}-r${bad}`);
                assert.equal(parseTag(`${cell}-f${h}-r${bad}`), undefined, `forced ${cell}-f${h}-r${bad}`);
            }
            for (const good of [1, 9, 10, 999_999]) {
                assert.deepEqual(parseTag(`${cell}-ok${h}-r${good}`), { shape: "marker", cell, hash: h, rebuild: good });
                assert.deepEqual(parseTag(`${cell}-f${h}-r${good}`), { shape: "forced", cell, hash: h, rebuild: good });
            }
            assert.deepEqual(parseTag(`${cell}-ok${h}`), { shape: "marker", cell, hash: h, rebuild: 0 });
            // A forced tag always carries its counter; a marker's hash is exactly 12 hex digits.
            assert.equal(parseTag(`${cell}-f${h}`), undefined);
            assert.equal(parseTag(`${cell}-ok${h}0`), undefined);
            assert.equal(parseTag(`${cell}-ok${h.slice(1)}`), undefined);
            assert.equal(parseTag(`${cell}-ok${h.toUpperCase()}`), undefined);
            assert.equal(parseTag(`${cell}-ok${h}-r1-r2`), undefined);
            assert.equal(parseTag(`${cell}-ok${h}-latest`), undefined);
        }
    });
});
