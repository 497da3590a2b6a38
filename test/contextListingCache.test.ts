/**
 * The remembered sent-file list (lib/images/dockerContext.ts, git's untracked-cache idea): a warm listing
 * reads no directory while every directory's stamp holds, and never serves a list that a change made
 * wrong (a file added, removed or replaced, a directory added, a .dockerignore edited).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { FileHashCache } from "../lib/images/contentHash";
import { listContextFiles } from "../lib/images/dockerContext";

/** Past the racy window of anything written so far (injected: whether a listing is stored never depends on the clock). */
const settled = () => BigInt(Date.now()) * 1_000_000n + 10_000_000_000n;
/** Lets a coarse filesystem clock tick, so a change after a listing moves its directory's stamp. */
const tick = () => new Promise((r) => setTimeout(r, 20));

function write(root: string, rel: string, content: string): void {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), content);
}

/** Counts fs.readdirSync calls during `f` (on the fs module object itself, which the listing's module reads through). */
function readdirCalls<T>(f: () => T): { result: T; calls: number } {
    const nodeFs = require("fs") as { readdirSync: (...a: unknown[]) => unknown };
    const original = nodeFs.readdirSync;
    let calls = 0;
    nodeFs.readdirSync = (...args: unknown[]) => {
        calls++;
        return original(...args);
    };
    try {
        return { result: f(), calls };
    } finally {
        nodeFs.readdirSync = original;
    }
}

describe("the remembered context listing", () => {
    let root: string;
    let ctx: string;
    let cacheFile: string;
    const dockerfile = () => path.join(ctx, "Dockerfile");
    const fresh = () => listContextFiles(ctx, dockerfile()).map((f) => [f.path, f.kind]);
    /** A listing through a cache loaded from disk, as each CLI run or `pulumi up` does, then saved. */
    const cached = (nowNs = settled()) => {
        const cache = new FileHashCache(cacheFile);
        const { result, calls } = readdirCalls(() => listContextFiles(ctx, dockerfile(), { cache, nowNs }));
        cache.save();
        return { files: result.map((f) => [f.path, f.kind]), readdirs: calls, stats: result.map((f) => f.stat) };
    };

    beforeEach(async () => {
        root = fs.mkdtempSync(path.join(os.tmpdir(), "mlci-listing-"));
        ctx = path.join(root, "ctx");
        for (const f of ["Dockerfile", "a.txt", "src/m.py", "src/deep/n.py", "cache/big.bin", "NOTES.md"]) write(ctx, f, `${f}\n`);
        write(ctx, ".dockerignore", "cache\n*.md\n");
        cacheFile = path.join(root, ".cache", "file-hashes.json");
        await tick();
    });
    afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

    it("is reused with no directory read while nothing changed, with each file's current stat", () => {
        const first = cached();
        assert.ok(first.readdirs >= 3, "the first listing walks the context");
        assert.deepEqual(first.files, fresh());
        const second = cached();
        assert.equal(second.readdirs, 0, "a warm listing reads no directory");
        assert.deepEqual(second.files, fresh());
        assert.deepEqual(
            second.stats.map((s) => s.ino),
            listContextFiles(ctx, dockerfile()).map((f) => f.stat.ino),
        );
    });

    it("sees a file added or removed in a subdirectory, a new directory, and a file replaced by a symlink", async () => {
        cached();
        await tick();
        // Added only (every remembered file still exists): only the directories' stamps tell.
        write(ctx, "src/deep/added.py", "x\n");
        write(ctx, "src/new/o.py", "o\n");
        const added = cached();
        assert.ok(added.readdirs > 0);
        assert.deepEqual(added.files, fresh());
        assert.ok(added.files.some(([p]) => p === "src/deep/added.py") && added.files.some(([p]) => p === "src/new/o.py"));
        await tick();
        fs.rmSync(path.join(ctx, "src/m.py"));
        const removed = cached();
        assert.deepEqual(removed.files, fresh());
        assert.ok(!removed.files.some(([p]) => p === "src/m.py"));
        await tick();
        fs.rmSync(path.join(ctx, "a.txt"));
        fs.symlinkSync("src/deep/n.py", path.join(ctx, "a.txt"));
        assert.deepEqual(cached().files.find(([p]) => p === "a.txt"), ["a.txt", "symlink"]);
    });

    it("is not reused under an edited .dockerignore, nor under a new Dockerfile-specific one", async () => {
        cached();
        await tick();
        // Rewritten in place: the directory's stamp does not move, only the ignore file's text.
        fs.writeFileSync(path.join(ctx, ".dockerignore"), "cache\nsrc\n");
        const edited = cached();
        assert.deepEqual(edited.files, fresh());
        assert.ok(edited.files.some(([p]) => p === "NOTES.md") && !edited.files.some(([p]) => p === "src/m.py"));
        cached();
        write(ctx, "Dockerfile.dockerignore", "a.txt\n");
        const specific = cached();
        assert.deepEqual(specific.files, fresh());
        assert.ok(!specific.files.some(([p]) => p === "a.txt"));
    });

    it("keeps one listing per ignore file, so two Dockerfiles sharing a context both stay warm", () => {
        write(ctx, "Dockerfile.b", "FROM x\n");
        write(ctx, "Dockerfile.b.dockerignore", "src\n");
        const listB = () => {
            const cache = new FileHashCache(cacheFile);
            const { result, calls } = readdirCalls(() => listContextFiles(ctx, path.join(ctx, "Dockerfile.b"), { cache, nowNs: settled() }));
            cache.save();
            return { files: result.map((f) => f.path), readdirs: calls };
        };
        cached();
        const b = listB();
        assert.ok(!b.files.includes("src/m.py") && b.files.includes("NOTES.md"));
        assert.equal(cached().readdirs, 0);
        assert.equal(listB().readdirs, 0);
    });

    it("is not stored while a directory changed within the racy window (it could change again without its stamp moving)", () => {
        const justNow = cached(BigInt(Date.now()) * 1_000_000n);
        assert.ok(justNow.readdirs > 0);
        assert.ok(cached().readdirs > 0, "nothing was remembered from the racy listing");
        assert.equal(cached().readdirs, 0);
    });

    it("ignores a cache file whose listing was tampered with", () => {
        cached();
        const data = JSON.parse(fs.readFileSync(cacheFile, "utf8"));
        const [dir] = Object.keys(data.listings);
        data.listings[dir].files = [["a.txt", "directory"]];
        fs.writeFileSync(cacheFile, JSON.stringify(data));
        const after = cached();
        assert.ok(after.readdirs > 0);
        assert.deepEqual(after.files, fresh());
    });
});
