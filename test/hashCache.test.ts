import { strict as assert } from "assert";
import fc from "fast-check";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { FileHashCache, hashContext, HASH_SCHEME } from "../lib/images/contentHash";
import { dockerignoreMatcher, listContextFiles, parseDockerignore } from "../lib/images/dockerContext";

function tmpDir(): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), "mlci-hashcache-"));
}

function write(root: string, rel: string, content: string, mode = 0o644): void {
    const abs = path.join(root, rel);
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    fs.writeFileSync(abs, content);
    fs.chmodSync(abs, mode);
}

/** The fs module object itself (the `import * as` namespace is read-only), to count calls. */
const fsModule: typeof fs = require("fs");

/** Counts files opened for reading while `fn` runs. */
async function opensDuring<T>(fn: () => Promise<T>): Promise<{ opens: number; value: T }> {
    const original = fsModule.openSync;
    let opens = 0;
    fsModule.openSync = ((...args: Parameters<typeof fs.openSync>) => {
        opens++;
        return original(...args);
    }) as typeof fs.openSync;
    try {
        return { value: await fn(), opens };
    } finally {
        fsModule.openSync = original;
    }
}

/** The listing with no pruning: every directory walked, each file's path asked of the standalone matcher (its ancestors' match state rebuilt per path). */
function referenceListing(contextDir: string, patterns: string[]): string[] {
    // As the file is read (ignorefile.ReadAll drops a leading `/`; patternmatcher.New does not).
    const excluded = dockerignoreMatcher(parseDockerignore(patterns.join("\n")));
    const out: string[] = [];
    const walk = (dirAbs: string, dirRel: string) => {
        for (const e of fs.readdirSync(dirAbs, { withFileTypes: true })) {
            const rel = dirRel === "" ? e.name : `${dirRel}/${e.name}`;
            if (e.isDirectory()) walk(path.join(dirAbs, e.name), rel);
            else if (!excluded(rel)) out.push(rel);
        }
    };
    walk(contextDir, "");
    return out.sort();
}

const segment = fc.constantFrom("a", "b", "cache", "Cache", "src", "x.md", "y.pyc", "keep", "README.md", "*", "*.md", "**", "**.pyc", "?", "c*", "[ab]", "a+b", "c++");
const pattern = fc.tuple(fc.boolean(), fc.array(segment, { minLength: 1, maxLength: 3 }), fc.constantFrom("", "/", "./")).map(([neg, segs, lead]) => `${neg ? "!" : ""}${lead}${segs.join("/")}`);
const nameSeg = fc.constantFrom("a", "b", "cache", "CACHE", "src", "x.md", "y.pyc", "keep", "README.md", "c1", "a+b", "ab", "c++");
const relPath = fc.array(nameSeg, { minLength: 1, maxLength: 4 }).map((s) => s.join("/"));

describe("the .dockerignore matcher follows Docker where @balena/dockerignore does not", () => {
    it("`a+b` matches only `a+b` (patternmatcher escapes `+`), and matching is case-sensitive", () => {
        const m = dockerignoreMatcher(["a+b", "cache"]);
        assert.equal(m("a+b"), true);
        assert.equal(m("ab"), false); // the library's regexp `^a+b$` wrongly matches `ab`
        assert.equal(m("aab"), false);
        assert.equal(m("CACHE/x"), false); // the library matches case-insensitively
    });
});

describe("context listing skips an excluded directory only when no `!` pattern could reach inside", () => {
    it("lists exactly what walking everything and asking the per-path matcher lists", () => {
        fc.assert(
            fc.property(fc.uniqueArray(relPath, { minLength: 1, maxLength: 25 }), fc.array(pattern, { maxLength: 5 }), (files, patterns) => {
                const root = tmpDir();
                try {
                    const written = new Set<string>();
                    for (const f of files) {
                        // A path cannot be both a file and a directory.
                        if ([...written].some((w) => w.startsWith(`${f}/`) || f.startsWith(`${w}/`))) continue;
                        write(root, f, f);
                        written.add(f);
                    }
                    fs.writeFileSync(path.join(root, ".dockerignore"), patterns.join("\n"));
                    const ours = listContextFiles(root, path.join(root, "Dockerfile")).map((f) => f.path);
                    assert.deepEqual(ours, referenceListing(root, patterns), JSON.stringify(patterns));
                } finally {
                    fs.rmSync(root, { recursive: true, force: true });
                }
            }),
            { numRuns: 150 },
        );
    });

    it("lists the same files with an unrelated `!README.md` next to an ignored cache folder", () => {
        const root = tmpDir();
        write(root, ".dockerignore", "cache\n*.md\n!README.md\n");
        write(root, "README.md", "r");
        write(root, "cache/deep/blob.bin", "x");
        try {
            assert.deepEqual(listContextFiles(root, path.join(root, "Dockerfile")).map((f) => f.path), [".dockerignore", "README.md"]);
        } finally {
            fs.rmSync(root, { recursive: true, force: true });
        }
    });
});

describe("per-file hash cache never serves a stale hash", () => {
    let root: string;
    let ctx: string;
    let cacheFile: string;
    const list = () => listContextFiles(ctx, path.join(ctx, "Dockerfile"));
    const old = new Date(Date.now() - 3_600_000);

    beforeEach(async () => {
        root = tmpDir();
        ctx = path.join(root, "ctx");
        for (const f of ["Dockerfile", "a.txt", "b.txt", "sub/c.txt"]) write(ctx, f, `content of ${f}\n`);
        for (const f of ["Dockerfile", "a.txt", "b.txt", "sub/c.txt"]) fs.utimesSync(path.join(ctx, f), old, old);
        cacheFile = path.join(root, ".cache", "file-hashes.json");
        // Lets a coarse-grained filesystem clock tick, so an edit's ctime differs from these.
        await new Promise((r) => setTimeout(r, 20));
    });
    afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

    /**
     * A clock reading past the racy window of every listed file. Injected rather than read from Date.now():
     * whole milliseconds against ns stamps would make a file changed in the same millisecond "future".
     */
    const settled = () => {
        let latest = 0n;
        for (const f of list()) for (const t of [f.stat.mtimeNs, f.stat.ctimeNs]) if (t > latest) latest = t;
        return latest + 2_000_000_000n;
    };
    async function primed(): Promise<string> {
        const cache = new FileHashCache(cacheFile);
        const { digest } = await hashContext(list(), { cache, nowNs: settled() });
        assert.equal(cache.size, 4, "every file is cached once its window has passed");
        cache.save();
        return digest;
    }
    const warm = () => opensDuring(() => hashContext(list(), { cache: new FileHashCache(cacheFile), nowNs: settled() }));

    it("a warm run with nothing changed reads no file and gives the cold digest", async () => {
        const cold = (await hashContext(list())).digest;
        assert.equal(await primed(), cold);
        const { opens, value } = await warm();
        assert.equal(opens, 0);
        assert.equal(value.digest, cold);
    });

    const edits: [string, () => void][] = [
        ["a size change", () => fs.appendFileSync(path.join(ctx, "a.txt"), "more")],
        ["a same-size edit with mtime restored (ctime moves)", () => {
            fs.writeFileSync(path.join(ctx, "a.txt"), "CONTENT of a.txt\n");
            fs.utimesSync(path.join(ctx, "a.txt"), old, old);
        }],
        ["a file replaced by another inode with the same bytes and mtime", () => {
            const tmp = path.join(ctx, "a.txt.new");
            fs.writeFileSync(tmp, "content of a.txt\n");
            fs.utimesSync(tmp, old, old);
            fs.renameSync(tmp, path.join(ctx, "a.txt"));
        }],
        ["a metadata-only change (chmod back and forth)", () => {
            fs.chmodSync(path.join(ctx, "a.txt"), 0o600);
            fs.chmodSync(path.join(ctx, "a.txt"), 0o644);
        }],
    ];
    for (const [what, edit] of edits) {
        it(`re-reads the file after ${what}`, async () => {
            await primed();
            await new Promise((r) => setTimeout(r, 10));
            edit();
            const { opens, value } = await warm();
            assert.equal(opens, 1);
            assert.equal(value.digest, (await hashContext(list())).digest);
        });
    }

    it("ignores a cache file of another format or scheme, or a corrupt one", async () => {
        const cold = (await hashContext(list())).digest;
        const abs = path.join(ctx, "a.txt");
        const st = fs.lstatSync(abs, { bigint: true });
        const stamp = `${st.size}:${st.mtimeNs}:${st.ctimeNs}:${st.ino}`;
        const bogus = "0".repeat(64);
        fs.mkdirSync(path.dirname(cacheFile), { recursive: true });
        for (const text of [
            JSON.stringify({ scheme: HASH_SCHEME, entries: { [abs]: { size: String(st.size), mtimeNs: String(st.mtimeNs), ctimeNs: String(st.ctimeNs), ino: String(st.ino), sha256: bogus } } }),
            JSON.stringify({ scheme: "other", format: 2, entries: [[abs, stamp, bogus]] }),
            JSON.stringify({ scheme: HASH_SCHEME, format: 2, entries: [[abs, stamp, "not-a-hash"]] }),
            "{ truncated",
        ]) {
            fs.writeFileSync(cacheFile, text);
            const cache = new FileHashCache(cacheFile);
            assert.equal(cache.size, 0, text);
            assert.equal((await hashContext(list(), { cache, nowNs: settled() })).digest, cold, text);
        }
    });

    it("does not store a file changed (mtime or ctime) within the racy window", () => {
        const abs = path.join(ctx, "a.txt");
        const st = fs.lstatSync(abs, { bigint: true });
        const latest = st.mtimeNs > st.ctimeNs ? st.mtimeNs : st.ctimeNs;
        const cache = new FileHashCache(cacheFile);
        cache.set(abs, st, "0".repeat(64), latest + 1_000_000_000n);
        assert.equal(cache.get(abs, st), undefined);
        cache.set(abs, st, "0".repeat(64), latest + 2_000_000_000n);
        assert.equal(cache.get(abs, st), "0".repeat(64));
    });
});

describe("hashing a large context", () => {
    it("gives the same digest with and without the cache, and reports an unreadable file by path", async function () {
        this.timeout(30_000);
        const root = tmpDir();
        try {
            for (let i = 0; i < 2100; i++) write(root, `f/${i % 7}/file${i}.txt`, `file ${i}\n`.repeat(i % 50));
            write(root, "big.bin", "x".repeat(3 << 20));
            const files = listContextFiles(root, path.join(root, "Dockerfile"));
            const plain = await hashContext(files);
            const cache = new FileHashCache();
            // Past every file's racy window (injected: the wall clock would make this depend on timing).
            const nowNs = files.reduce((m, f) => (f.stat.ctimeNs > m ? f.stat.ctimeNs : m), 0n) + 2_000_000_000n;
            await hashContext(files, { cache, nowNs });
            const cached = await hashContext(files, { cache, nowNs });
            assert.equal(cache.size, files.length);
            assert.equal(cached.digest, plain.digest);
            assert.deepEqual(cached.entries, plain.entries);
            fs.rmSync(path.join(root, "f/3/file3.txt"));
            await assert.rejects(hashContext(files), /file3\.txt/);
        } finally {
            fs.rmSync(root, { recursive: true, force: true });
        }
    });
});


describe("cached COPY/ADD check (tagImages)", () => {
    const { tagImages, expandImageGraph } = require("../lib/images/graph") as typeof import("../lib/images/graph");
    const { parseStackConfig } = require("../lib/config/config") as typeof import("../lib/config/config");
    const { ConfigError } = require("../lib/config/problems") as typeof import("../lib/config/problems");

    /** One cpu family whose Dockerfile copies `requirements.txt`, planned with a persistent cache. */
    function project(): { root: string; plan: (cache: FileHashCache) => Promise<unknown> } {
        const root = tmpDir();
        write(root, "Pulumi.yaml", "name: t\nruntime: nodejs\n");
        write(root, "docker/cpu/Dockerfile", "ARG BASE_REGISTRY=docker.io\nARG PYTHON_VERSION\nFROM ${BASE_REGISTRY}/library/python:${PYTHON_VERSION}\nCOPY requirements.txt /r.txt\n");
        write(root, "docker/cpu/requirements.txt", "numpy\n");
        const config = parseStackConfig({ matrix: { python: ["3.12"] }, families: { cpu: { cpuOnly: true } }, registry: { backend: "local" }, access: { runner: { enabled: false }, pipeline: { enabled: false } } }, { projectRoot: root, env: {} });
        return { root, plan: (cache) => tagImages(expandImageGraph(config), "2026-11-22", { cache }) };
    }

    it("records a pass, and a warm cache never hides a copy that breaks later (Dockerfile or context changed)", async () => {
        const { root, plan } = project();
        const file = path.join(tmpDir(), "cache.json");
        await plan(new FileHashCache(file, 0n));
        assert.equal(JSON.parse(fs.readFileSync(file, "utf8")).verdicts.length, 1, "the pass is cached");
        await plan(new FileHashCache(file, 0n));
        // The Dockerfile now copies a file that is not there: a new key, so the check runs again.
        write(root, "docker/cpu/Dockerfile", fs.readFileSync(path.join(root, "docker/cpu/Dockerfile"), "utf8").replace("requirements.txt", "missing.txt"));
        await assert.rejects(plan(new FileHashCache(file, 0n)), (e: Error) => e instanceof ConfigError && /COPY "missing\.txt" matches no file/.test(e.message));
        // Back to the passing Dockerfile, but the file is now excluded from the context.
        write(root, "docker/cpu/Dockerfile", fs.readFileSync(path.join(root, "docker/cpu/Dockerfile"), "utf8").replace("missing.txt", "requirements.txt"));
        await plan(new FileHashCache(file, 0n));
        write(root, "docker/cpu/.dockerignore", "requirements.txt\n");
        await assert.rejects(plan(new FileHashCache(file, 0n)), (e: Error) => e instanceof ConfigError && /COPY "requirements\.txt" matches no file the build context "docker\/cpu" sends/.test(e.message));
    });
});
