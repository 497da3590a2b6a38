import { strict as assert } from "assert";
import { imageRegistryState, listingFromImageIds, listingFromTagDigests } from "../lib/registry/imageListing";
import { contentTag, datedTag, forcedTag, latestTag, markerTag } from "../lib/images/tags";

const CELL = "cuda13.0-py3.12";
const HASH = "0123456789abcdef0123";
const image = { cell: { label: CELL }, contentHash: HASH, tag: contentTag(CELL, HASH), latestTag: latestTag(CELL), datedTag: datedTag(CELL, "2026-11-22") };
const D1 = "sha256:" + "1".repeat(64);
const D2 = "sha256:" + "2".repeat(64);
const D3 = "sha256:" + "3".repeat(64);

describe("imageListing: one repository listing answers every question of an image", () => {
    it("an empty listing: nothing to adopt, no build yet", () => {
        assert.deepEqual(imageRegistryState([], image), {
            adoptable: undefined,
            newestBuild: undefined,
            highestRebuild: -1,
            contentTagDigest: undefined,
            datedTagExists: false,
            datedTagDigest: undefined,
            latestDigest: undefined,
            markerPresent: false,
        });
    });

    it("a content tag without its marker (smoke test failed or never ran) is not adoptable", () => {
        const s = imageRegistryState([{ digest: D1, tags: [image.tag] }], image);
        assert.equal(s.adoptable, undefined);
        assert.equal(s.contentTagDigest, D1);
        assert.equal(s.highestRebuild, 0);
        assert.equal(s.markerPresent, false);
    });

    it("a content tag with its marker on the same digest is adopted", () => {
        const s = imageRegistryState([{ digest: D1, tags: [image.tag, markerTag(CELL, HASH), image.latestTag] }], image);
        assert.deepEqual(s.adoptable, { tag: image.tag, digest: D1 });
        assert.equal(s.latestDigest, D1);
    });

    it("a marker on another digest does not make a build adoptable", () => {
        const s = imageRegistryState(
            [
                { digest: D1, tags: [image.tag] },
                { digest: D2, tags: [markerTag(CELL, HASH)] },
            ],
            image,
        );
        assert.equal(s.adoptable, undefined);
    });

    it("the dated tag and other cells' and hashes' tags are told apart", () => {
        const other = contentTag("cuda13.0-py3.13", HASH);
        const otherHash = contentTag(CELL, "fedcba9876543210");
        const s = imageRegistryState(
            [
                { digest: D1, tags: [other, markerTag("cuda13.0-py3.13", HASH), otherHash, markerTag(CELL, "fedcba9876543210")] },
                { digest: D3, tags: [image.datedTag!] },
            ],
            image,
        );
        assert.equal(s.adoptable, undefined);
        assert.equal(s.highestRebuild, -1);
        assert.equal(s.datedTagExists, true);
        assert.equal(s.datedTagDigest, D3);
    });

    it("ECR ListImages ids (one per digest+tag pair) group by digest", () => {
        const listing = listingFromImageIds([
            { imageDigest: D1, imageTag: "a" },
            { imageDigest: D1, imageTag: "b" },
            { imageDigest: D2 },
            { imageDigest: D2, imageTag: "c" },
        ]);
        assert.deepEqual(listing, [
            { digest: D1, tags: ["a", "b"] },
            { digest: D2, tags: ["c"] },
        ]);
    });

    it("a tags list without digests still tells presence; unresolved digests never block the marker", () => {
        const listing = listingFromTagDigests({ [image.tag]: "", [markerTag(CELL, HASH)]: "" });
        const s = imageRegistryState(listing, image);
        assert.deepEqual(s.adoptable, { tag: image.tag, digest: "" });
        assert.equal(s.contentTagDigest, undefined);
    });
});
