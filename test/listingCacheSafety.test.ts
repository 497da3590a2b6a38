/**
 * The context listing cache's safety rules (docs/decisions/0010): a listing made by another matcher
 * version is never replayed, MLCI_LISTING_CACHE=0 turns it off, and a .dockerignore Docker refuses is
 * a config problem naming the file and line.
 */
import { strict as assert } from "assert";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseStackConfig } from "../lib/config/config";
import { ConfigError } from "../lib/config/problems";
import { FileHashCache } from "../lib/images/contentHash";
import { CachedListing, listContextFiles, ListingCache } from "../lib/images/dockerContext";
import { expandImageGraph, tagImages } from "../lib/images/graph";
import { listingCacheAllowed } from "../lib/stackPlan";

function write(root: string, rel: string, content: string): void {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), content);
}

/** A listing cache in memory that counts its reads. */
function memoryCache(): ListingCache & { listings: Map<string, CachedListing>; reads: number } {
    const listings = new Map<string, CachedListing>();
    return {
        listings,
        reads: 0,
        getListing(key) {
            this.reads++;
            return listings.get(key);
        },
        setListing(key, l) {
            listings.set(key, l);
        },
    };
}

const settled = () => BigInt(Date.now()) * 1_000_000n + 10_000_000_000n;

describe("the context listing cache's safety rules", () => {
    let root: string;
    beforeEach(() => {
        root = fs.mkdtempSync(path.join(os.tmpdir(), "mlci-listing-safety-"));
    });
    afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

    it("never replays a listing recorded by an older matcher (the key holds the matcher version), though every directory stamp holds", () => {
        write(root, "a+b", "x");
        write(root, "ab", "y");
        write(root, ".dockerignore", "a+b\n");
        const cache = memoryCache();
        const first = listContextFiles(root, path.join(root, "Dockerfile"), { cache, nowNs: settled() }).map((f) => f.path);
        assert.deepEqual(first, [".dockerignore", "ab"]);
        const [key, listing] = [...cache.listings][0];
        // What the previous matcher (@balena/dockerignore's reading: `a+b` excludes `ab`) would have recorded, under its key.
        const ignorePath = path.join(root, ".dockerignore");
        const oldKey = createHash("sha256").update(`${ignorePath}\0a+b\n`).digest("hex");
        cache.listings.set(key, { ...listing, ignoreSha256: oldKey, files: [[".dockerignore", "f"], ["a+b", "f"]] });
        const again = listContextFiles(root, path.join(root, "Dockerfile"), { cache, nowNs: settled() }).map((f) => f.path);
        assert.deepEqual(again, [".dockerignore", "ab"]);
    });

    it("MLCI_LISTING_CACHE=0 turns the listing cache off (tagImages never reads a listing); anything else leaves it on", async () => {
        assert.equal(listingCacheAllowed({ MLCI_LISTING_CACHE: "0" }), false);
        assert.equal(listingCacheAllowed({}), true);
        assert.equal(listingCacheAllowed({ MLCI_LISTING_CACHE: "1" }), true);
        write(root, "Pulumi.yaml", "name: t\nruntime: nodejs\n");
        write(root, "docker/cpu/Dockerfile", "FROM python:3.12\nCOPY r.txt /r.txt\n");
        write(root, "docker/cpu/r.txt", "numpy\n");
        const config = parseStackConfig({ matrix: { python: ["3.12"] }, families: { cpu: { cpuOnly: true } }, registry: { backend: "local" }, access: { runner: { enabled: false }, pipeline: { enabled: false } } }, { projectRoot: root, env: {} });
        const reads = async (useListingCache: boolean | undefined) => {
            const cache = new FileHashCache(path.join(root, "cache.json"), 0n);
            let n = 0;
            const get = cache.getListing.bind(cache);
            cache.getListing = (k) => (n++, get(k));
            const images = await tagImages(expandImageGraph(config), "2026-11-22", { cache, useListingCache });
            return { n, tag: images[0].tag };
        };
        const on = await reads(undefined);
        const off = await reads(false);
        assert.equal(on.n, 1);
        assert.equal(off.n, 0);
        assert.equal(off.tag, on.tag);
    });

    it("a .dockerignore Docker refuses (a lone `!`) is a config problem naming the family, the file and the line", async () => {
        write(root, "Pulumi.yaml", "name: t\nruntime: nodejs\n");
        write(root, "docker/cpu/Dockerfile", "FROM python:3.12\n");
        write(root, "docker/cpu/.dockerignore", "cache\n!\n");
        const config = parseStackConfig({ matrix: { python: ["3.12"] }, families: { cpu: { cpuOnly: true } }, registry: { backend: "local" }, access: { runner: { enabled: false }, pipeline: { enabled: false } } }, { projectRoot: root, env: {} });
        await assert.rejects(tagImages(expandImageGraph(config), "2026-11-22", {}), (e: Error) => {
            assert.ok(e instanceof ConfigError);
            assert.match(e.message, /mlci:families\.cpu\.context/);
            assert.match(e.message, /docker\/cpu\/\.dockerignore:2: illegal exclusion pattern "!"/);
            return true;
        });
    });
});
