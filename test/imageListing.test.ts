import { strict as assert } from "assert";
import { decideImage, imageRegistryState, listingFromImageIds, listingFromTagDigests } from "../lib/registry/imageListing";
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

    it("forced rebuilds count by their number, not by listing order; markers of other builds do not count", () => {
        const listing = [
            { digest: D2, tags: [forcedTag(CELL, HASH, 2)] },
            { digest: D1, tags: [image.tag, markerTag(CELL, HASH), markerTag(CELL, HASH, 2)] },
            { digest: D3, tags: [forcedTag(CELL, HASH, 10), markerTag(CELL, HASH, 10)] },
        ];
        const s = imageRegistryState(listing, image);
        assert.equal(s.highestRebuild, 10);
        assert.deepEqual(s.adoptable, { tag: forcedTag(CELL, HASH, 10), digest: D3 });
        // -r2's marker sits on another digest: had -r2 been the newest, it would not be adoptable.
        assert.equal(imageRegistryState(listing.slice(0, 2), image).adoptable, undefined);
    });

    it("a tags list without digests still tells presence; unresolved digests never block the marker", () => {
        const listing = listingFromTagDigests({ [image.tag]: "", [markerTag(CELL, HASH)]: "" });
        const s = imageRegistryState(listing, image);
        assert.deepEqual(s.adoptable, { tag: image.tag, digest: "" });
        assert.equal(s.contentTagDigest, undefined);
    });
});

describe("decideImage: adopt or build, under which tag, promoting which tags", () => {
    const opts = { forced: false, adoptExisting: true };
    const forced1 = forcedTag(CELL, HASH, 1);
    const forced2 = forcedTag(CELL, HASH, 2);

    it("an empty registry: build the content tag, promote its marker, -latest and the dated tag", () => {
        assert.deepEqual(decideImage(imageRegistryState([], image), image, opts), {
            action: "build",
            tag: image.tag,
            forced: false,
            promoteTags: [markerTag(CELL, HASH), image.latestTag, image.datedTag],
        });
    });

    it("the newest marked build is adopted; an older marked build behind an unmarked newer one is not", () => {
        const listing = [
            { digest: D1, tags: [image.tag, markerTag(CELL, HASH)] },
            { digest: D2, tags: [forced1, markerTag(CELL, HASH, 1)] },
        ];
        assert.deepEqual(decideImage(imageRegistryState(listing, image), image, opts), {
            action: "adopt",
            tag: forced1,
            digest: D2,
            forced: false,
            promoteTags: [markerTag(CELL, HASH, 1), image.latestTag, image.datedTag],
        });
        const withFailed = [...listing, { digest: D3, tags: [forced2] }];
        const d = decideImage(imageRegistryState(withFailed, image), image, opts);
        assert.equal(d.action, "build");
        assert.equal(d.tag, forcedTag(CELL, HASH, 3));
        assert.deepEqual(d.promoteTags.slice(0, 1), [markerTag(CELL, HASH, 3)]);
    });

    it("forced or adoptExisting false: always a new build tag above the listing", () => {
        const listing = [{ digest: D1, tags: [image.tag, markerTag(CELL, HASH)] }];
        for (const o of [{ forced: true, adoptExisting: true }, { forced: false, adoptExisting: false }]) {
            const d = decideImage(imageRegistryState(listing, image), image, o);
            assert.equal(d.action, "build");
            assert.equal(d.tag, forced1);
            assert.equal(d.forced, o.forced);
        }
    });

    it("the dated tag is promoted only when absent, or when it is already on the adopted digest", () => {
        const onOther = [
            { digest: D1, tags: [image.tag, markerTag(CELL, HASH)] },
            { digest: D3, tags: [image.datedTag!] },
        ];
        assert.deepEqual(decideImage(imageRegistryState(onOther, image), image, opts).promoteTags, [markerTag(CELL, HASH), image.latestTag]);
        assert.deepEqual(decideImage(imageRegistryState(onOther, image), image, { forced: true, adoptExisting: true }).promoteTags, [markerTag(CELL, HASH, 1), image.latestTag]);
        const onSame = [{ digest: D1, tags: [image.tag, markerTag(CELL, HASH), image.datedTag!] }];
        assert.deepEqual(decideImage(imageRegistryState(onSame, image), image, opts).promoteTags, [markerTag(CELL, HASH), image.latestTag, image.datedTag]);
    });
});
