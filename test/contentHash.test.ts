import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { FileHashCache, hashContext } from "../lib/images/contentHash";
import { listContextFiles } from "../lib/images/dockerContext";
import { planStack } from "../lib/stackPlan";
import { catalogConfig, catalogFiles, clone, writeTree } from "./fixtures";

async function tagsOf(root: string, raw = catalogConfig()): Promise<Record<string, string>> {
    const { images } = await planStack(raw, { projectRoot: root, env: {}, useHashCache: false });
    return Object.fromEntries(images.map((i) => [i.name, i.tag]));
}

function changedNames(a: Record<string, string>, b: Record<string, string>): string[] {
    return Object.keys({ ...a, ...b }).filter((k) => a[k] !== b[k]).sort();
}

describe("content-hash tags", () => {
    let root: string;
    let baseline: Record<string, string>;
    beforeEach(async () => {
        root = writeTree(catalogFiles());
        baseline = await tagsOf(root);
    });

    it("tags are <cell>-h<12 hex> and every image has one", () => {
        assert.deepEqual(Object.keys(baseline).sort(), [
            "base-cuda11.8-py3.10", "base-cuda11.8-py3.11", "base-cuda12.4-py3.10", "base-cuda12.4-py3.11",
            "cpu-py3.10", "cpu-py3.11",
            "habitat-cuda12.4-py3.10",
            "nightly-cuda11.8-py3.10", "nightly-cuda11.8-py3.11", "nightly-cuda12.4-py3.10", "nightly-cuda12.4-py3.11",
        ]);
        for (const [name, tag] of Object.entries(baseline)) {
            const cell = name.slice(name.indexOf("-") + 1);
            assert.match(tag, new RegExp(`^${cell.replace(/\./g, "\\.")}-h[0-9a-f]{12}$`), name);
        }
    });

    it("is deterministic: another directory, another file creation order, touched mtimes", async () => {
        const files = catalogFiles();
        const other = writeTree(files, Object.keys(files).reverse());
        const future = new Date(Date.now() + 3600_000);
        for (const rel of Object.keys(files)) fs.utimesSync(path.join(other, rel), future, future);
        assert.notEqual(other, root);
        assert.deepEqual(await tagsOf(other), baseline);
    });

    const cases: [string, (root: string, raw: ReturnType<typeof catalogConfig>) => void, string[]][] = [
        ["editing a root Dockerfile re-tags it and all its descendants only", (r) => fs.appendFileSync(path.join(r, "docker/base/Dockerfile"), "ENV X=1\n"), ["base", "nightly", "habitat"]],
        ["editing a context file re-tags that family and its descendants", (r) => fs.writeFileSync(path.join(r, "docker/base/10_nvidia.json"), "{}\n"), ["base", "nightly", "habitat"]],
        ["renaming a context file changes the path input", (r) => fs.renameSync(path.join(r, "docker/base/scripts/install.sh"), path.join(r, "docker/base/scripts/setup.sh")), ["base", "nightly", "habitat"]],
        ["flipping an executable bit changes the mode input", (r) => fs.chmodSync(path.join(r, "docker/base/scripts/install.sh"), 0o644), ["base", "nightly", "habitat"]],
        ["editing a re-included (!KEEP.md) file counts", (r) => fs.writeFileSync(path.join(r, "docker/base/KEEP.md"), "changed\n"), ["base", "nightly", "habitat"]],
        ["a leaf change re-tags only the leaf", (r) => fs.appendFileSync(path.join(r, "docker/habitat/Dockerfile"), "RUN true\n"), ["habitat"]],
        ["a middle change re-tags it and its children", (r) => fs.writeFileSync(path.join(r, "docker/nightly/requirements.txt"), "pytest\nhypothesis\n"), ["nightly", "habitat"]],
        ["a build arg change re-tags the family and descendants", (_r, raw) => ((raw.families as any).base.buildArgs = { UBUNTU_VERSION: "24.04" }), ["base", "nightly", "habitat"]],
        ["a target change re-tags", (_r, raw) => ((raw.families as any).nightly.target = "runtime"), ["nightly", "habitat"]],
        ["a platforms change re-tags", (_r, raw) => ((raw.families as any).cpu.platforms = ["linux/amd64"]), ["cpu"]],
        ["a new rebuild epoch re-tags date-rebuilt families and their descendants only", (_r, raw) => ((raw.build as any).rebuildEpoch = "2026-11-29"), ["nightly", "habitat"]],
        ["adding an ignored file changes nothing", (r) => { fs.writeFileSync(path.join(r, "docker/base/cache/new.bin"), "x"); fs.writeFileSync(path.join(r, "docker/base/README.md"), "x"); fs.mkdirSync(path.join(r, "docker/base/sub")); fs.writeFileSync(path.join(r, "docker/base/sub/a.pyc"), "x"); }, []],
        ["editing an ignored file changes nothing", (r) => fs.writeFileSync(path.join(r, "docker/base/NOTES.md"), "different\n"), []],
    ];
    for (const [title, mutate, families] of cases) {
        it(title, async () => {
            const raw = clone(catalogConfig());
            mutate(root, raw);
            const after = await tagsOf(root, raw);
            const expected = Object.keys(baseline).filter((n) => families.includes(n.split("-")[0])).sort();
            assert.deepEqual(changedNames(baseline, after), expected);
        });
    }

    it("a new matrix cell adds images without re-tagging existing ones", async () => {
        const raw = clone(catalogConfig());
        (raw.matrix as any).python.push("3.12");
        const after = await tagsOf(root, raw);
        const added = Object.keys(after).filter((k) => !(k in baseline));
        assert.deepEqual(added.sort(), ["base-cuda11.8-py3.12", "base-cuda12.4-py3.12", "cpu-py3.12", "nightly-cuda11.8-py3.12", "nightly-cuda12.4-py3.12"]);
        for (const k of Object.keys(baseline)) assert.equal(after[k], baseline[k], k);
    });

    it("the dated tag and aliases follow the epoch", async () => {
        const { images } = await planStack(catalogConfig(), { projectRoot: root, env: {}, useHashCache: false });
        const nightly = images.find((i) => i.name === "nightly-cuda12.4-py3.11")!;
        assert.equal(nightly.latestTag, "cuda12.4-py3.11-latest");
        assert.equal(nightly.datedTag, "cuda12.4-py3.11-20261122");
        assert.equal(images.find((i) => i.name === "base-cuda12.4-py3.11")!.datedTag, undefined);
        assert.equal(nightly.repositoryName, "ml-ci/nightly");
    });

    it("MLCI_REBUILD_EPOCH overrides the configured epoch", async () => {
        const { images } = await planStack(catalogConfig(), { projectRoot: root, env: { MLCI_REBUILD_EPOCH: "2026-12-06" }, useHashCache: false });
        assert.equal(images.find((i) => i.name === "nightly-cuda12.4-py3.11")!.datedTag, "cuda12.4-py3.11-20261206");
    });
});

describe("build context listing follows Docker's .dockerignore rules", () => {
    it("excludes ignored paths, keeps `!` re-includes, and lists POSIX relative paths in order", () => {
        const root = writeTree(catalogFiles());
        const files = listContextFiles(path.join(root, "docker/base"), path.join(root, "docker/base/Dockerfile")).map((f) => f.path);
        assert.deepEqual(files, [".dockerignore", "10_nvidia.json", "Dockerfile", "KEEP.md", "scripts/install.sh"]);
    });

    it("prefers <Dockerfile>.dockerignore over the context's .dockerignore", () => {
        const root = writeTree({ ...catalogFiles(), "docker/base/Dockerfile.dockerignore": "scripts\n" });
        const files = listContextFiles(path.join(root, "docker/base"), path.join(root, "docker/base/Dockerfile")).map((f) => f.path);
        assert.ok(!files.includes("scripts/install.sh"));
        assert.ok(files.includes("NOTES.md"), "the context .dockerignore no longer applies");
    });
});

/** The moment after which none of `files` changed (ns): the latest mtime or ctime among them. */
function latestChange(files: { absolutePath: string }[]): bigint {
    let latest = 0n;
    for (const f of files) {
        const st = fs.lstatSync(f.absolutePath, { bigint: true });
        for (const t of [st.mtimeNs, st.ctimeNs]) if (t > latest) latest = t;
    }
    return latest;
}

describe("per-file hash cache", () => {
    // The clock is injected (nowNs): with the wall clock (Date.now(), whole ms) a ctime set by utimesSync in the
    // same millisecond reads as "future", nothing is stored and the cache file is never written (the old flake).
    const WINDOW = 2_000_000_000n; // FileHashCache's default racy window
    it("gives the same digest as a cold hash and detects a same-size edit with a restored mtime", async () => {
        const root = writeTree({ "ctx/a.txt": "aaaa", "ctx/b.txt": "bbbb" });
        const old = new Date(Date.now() - 60_000);
        for (const f of ["a.txt", "b.txt"]) fs.utimesSync(path.join(root, "ctx", f), old, old);
        const cacheFile = path.join(root, "cache.json");
        const list = () => listContextFiles(path.join(root, "ctx"), path.join(root, "ctx/Dockerfile"));
        const changed = latestChange(list());
        const cold = await hashContext(list());
        // utimesSync moved ctime to now: within the window, nothing is cached.
        const racy = new FileHashCache(cacheFile);
        await hashContext(list(), { cache: racy, nowNs: changed + WINDOW - 1n });
        racy.save();
        assert.ok(!fs.existsSync(cacheFile), "files changed within the racy window are never cached");
        // Once the window has passed, they are.
        const cache = new FileHashCache(cacheFile);
        assert.equal((await hashContext(list(), { cache, nowNs: changed + WINDOW })).digest, cold.digest);
        assert.equal(cache.size, 2);
        cache.save();
        assert.ok(fs.existsSync(cacheFile));
        // Same size, same mtime, different bytes: ctime moves, so the cache must not serve the old hash.
        // (The pause lets a coarse-grained filesystem clock tick, so the new ctime differs.)
        await new Promise((r) => setTimeout(r, 20));
        fs.writeFileSync(path.join(root, "ctx/a.txt"), "zzzz");
        fs.utimesSync(path.join(root, "ctx/a.txt"), old, old);
        assert.ok(latestChange(list()) > changed, "precondition: the edit moved ctime");
        const reloaded = new FileHashCache(cacheFile);
        assert.equal(reloaded.size, 2, "the saved cache is read back");
        const warm = await hashContext(list(), { cache: reloaded, nowNs: latestChange(list()) + WINDOW });
        const fresh = await hashContext(list());
        assert.equal(warm.digest, fresh.digest);
        assert.notEqual(warm.digest, cold.digest);
    });
});
