/**
 * Context hashing, cold and warm: the project against `openssl dgst -sha256` over the same sent
 * bytes (the single-stream floor), a plain read (`cat`), `sha256sum`, and AWS CDK's
 * `FileSystem.fingerprint` in Docker ignore mode, on one generated context.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { FileHashCache, hashContext } from "../lib/images/contentHash";
import { listContextFiles, parseDockerignore } from "../lib/images/dockerContext";
import { generateLargeContext } from "./generate";
import { ratio, roundRobin, Row, seconds } from "./report";

/** Options for {@link benchContextHashing}. */
export interface ContextHashingOptions {
    /** Scratch directory (under os.tmpdir()), removed by the caller. */
    workDir: string;
    /** Rounds per contestant. @default 5 */
    rounds?: number;
    log: (line: string) => void;
}

const RACY_WINDOW_MS = 2_000;

export async function benchContextHashing(opts: ContextHashingOptions): Promise<{ rows: Row[]; details: string[] }> {
    const rounds = opts.rounds ?? 5;
    const dir = path.join(opts.workDir, "context");
    const t0 = Date.now();
    const gen = generateLargeContext(dir);
    // The file the staleness check edits gets a whole-second mtime, so putting it back is exact.
    const victim = path.join(dir, gen.included.find((p) => p.startsWith("src/"))!);
    const victimTime = Math.floor(Date.now() / 1000) - 3600;
    fs.utimesSync(victim, victimTime, victimTime);
    const generatedAt = Date.now();
    opts.log(`generated ${gen.included.length} sent files (${(gen.includedBytes / 1e6).toFixed(0)} MB) + ${gen.ignoredFiles} ignored (${(gen.ignoredBytes / 1e6).toFixed(0)} MB) in ${seconds((generatedAt - t0) / 1000)}`);

    // The same sent bytes for every contestant: the generator's own list, checked against the project's.
    const listed = listContextFiles(dir, gen.dockerfile).map((f) => f.path);
    if (listed.length !== gen.included.length || listed.some((p, i) => p !== gen.included[i])) {
        throw new Error(`the project's context listing (${listed.length} files) differs from the generator's (${gen.included.length})`);
    }
    const list0 = path.join(opts.workDir, "sent-files.list0");
    fs.writeFileSync(list0, gen.included.join("\0"));
    const xargs = (...cmd: string[]) => execFileSync("sh", ["-c", `xargs -0 ${cmd.join(" ")} < "$1" > /dev/null`, "sh", list0], { cwd: dir });

    // CDK keeps its fingerprint cache in ~/.cdk/cache/fingerprints (read when the module loads): point HOME at scratch.
    const cdkHome = path.join(opts.workDir, "cdk-home");
    const savedHome = process.env.HOME;
    process.env.HOME = cdkHome;
    const cdk: typeof import("aws-cdk-lib") = require("aws-cdk-lib");
    const exclude = parseDockerignore(fs.readFileSync(path.join(dir, ".dockerignore"), "utf8"));
    const cdkFingerprint = () => cdk.FileSystem.fingerprint(dir, { ignoreMode: cdk.IgnoreMode.DOCKER, exclude });
    const clearCdkCache = () => fs.rmSync(path.join(cdkHome, ".cdk"), { recursive: true, force: true });

    const project = () => hashContext(listContextFiles(dir, gen.dockerfile));

    xargs("cat"); // page cache warm for everyone: "cold" below means no hash cache, not a cold disk
    const reference = (await project()).digest;
    opts.log("cold: cat, openssl, sha256sum, CDK, project …");
    const cold = await roundRobin(
        {
            cat: () => xargs("cat"),
            openssl: () => xargs("openssl", "dgst", "-sha256"),
            sha256sum: () => xargs("sha256sum"),
            cdkCold: cdkFingerprint,
            project,
        },
        rounds,
        { cdkCold: clearCdkCache },
    );

    // Warm: nothing changed since the cache was written. Files younger than the racy window are never cached, so wait it out.
    const wait = generatedAt + RACY_WINDOW_MS + 100 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const cacheFile = path.join(opts.workDir, "project-cache", "file-hashes.json");
    const warmProject = async () => {
        // As tagImages runs it: the cache serves the sent-file list (while every directory's stamp holds) and the file hashes.
        const cache = new FileHashCache(cacheFile);
        const result = await hashContext(listContextFiles(dir, gen.dockerfile, { cache }), { cache });
        cache.save();
        return result;
    };
    const primed = await warmProject();
    if (primed.digest !== reference) throw new Error("cached digest differs from the cold digest");
    clearCdkCache();
    cdkFingerprint(); // primes CDK's cache for the warm rounds
    opts.log("warm: CDK, project …");
    const warm = await roundRobin({ cdkWarm: cdkFingerprint, project: warmProject }, rounds * 2);
    const cacheEntries = new FileHashCache(cacheFile).size;

    // Correctness of the warm path, each against a fresh (uncached) hash of the same tree.
    const fresh = async () => (await hashContext(listContextFiles(dir, gen.dockerfile), {})).digest;
    const sources = gen.included.filter((p) => p.startsWith("src/"));
    // Touch: the mtime moves, the bytes do not: same digest.
    const touched = path.join(dir, sources[1]);
    const later = new Date(Date.now() + 1000);
    fs.utimesSync(touched, later, later);
    const touchSafe = (await warmProject()).digest === reference && (await fresh()) === reference;
    // An edit (size changes) and a new file in a listed directory: the warm digest is the fresh one, not the old.
    fs.appendFileSync(path.join(dir, sources[2]), "# edited\n");
    const added = `${path.posix.dirname(sources[3])}/added_by_bench.py`;
    fs.writeFileSync(path.join(dir, added), "print('new')\n");
    const afterEdit = await fresh();
    const editDetected = afterEdit !== reference && (await warmProject()).digest === afterEdit;
    const beforeStaleCheck = afterEdit;
    const cdkBefore = cdkFingerprint();

    // Staleness: same size, new bytes, mtime put back (as `touch -r`, `rsync -t` or a restored backup do).
    const bytes = fs.readFileSync(victim);
    bytes[0] = bytes[0] === 0x41 ? 0x42 : 0x41;
    fs.writeFileSync(victim, bytes);
    fs.utimesSync(victim, victimTime, victimTime);
    const projectAfter = (await warmProject()).digest;
    const projectFresh = await fresh();
    const cdkAfter = cdkFingerprint();
    clearCdkCache();
    const cdkFresh = cdkFingerprint();
    const projectStale = projectAfter !== projectFresh || projectAfter === beforeStaleCheck;
    const cdkStale = cdkAfter !== cdkFresh;
    if (cdkAfter === cdkBefore && cdkFresh === cdkBefore) throw new Error("the edit did not change CDK's fingerprint at all");

    process.env.HOME = savedHome;

    const m = (r: { median: number }) => r.median;
    const rows: Row[] = [
        { section: "Context hashing", measurement: "cold: project (main thread) ÷ openssl dgst -sha256 (same sent bytes)", figure: ratio(m(cold.project), m(cold.openssl)), target: "≤ 1.5×", status: m(cold.project) <= 1.5 * m(cold.openssl) ? "met" : "MISSED" },
        { section: "", measurement: "cold: cat (plain read) ÷ openssl", figure: ratio(m(cold.cat), m(cold.openssl)), target: "—", status: "info" },
        { section: "", measurement: "cold: sha256sum ÷ openssl", figure: ratio(m(cold.sha256sum), m(cold.openssl)), target: "—", status: "info" },
        { section: "", measurement: "cold: CDK FileSystem.fingerprint (Docker mode, no cache) ÷ openssl", figure: ratio(m(cold.cdkCold), m(cold.openssl)), target: "—", status: "info" },
        { section: "", measurement: "warm (nothing changed): project ÷ CDK warm", figure: ratio(m(warm.project), m(warm.cdkWarm)), target: "≤ 1.0×", status: m(warm.project) <= m(warm.cdkWarm) ? "met" : "MISSED" },
        { section: "", measurement: "warm: project warm ÷ project cold", figure: ratio(m(warm.project), m(cold.project)), target: "—", status: "info" },
        { section: "", measurement: "touch-safe: a touched file (mtime moved, same bytes) keeps the digest, warm and fresh", figure: touchSafe ? "same" : "moved", target: "same", status: touchSafe ? "met" : "MISSED" },
        { section: "", measurement: "edit detected: a grown file and a new file give the warm digest = a fresh hash", figure: editDetected ? "detected" : "missed", target: "detected", status: editDetected ? "met" : "MISSED" },
        {
            section: "",
            measurement: "stale hash after a same-size edit with mtime restored: project / CDK",
            figure: `${projectStale ? "stale" : "fresh"} / ${cdkStale ? "stale" : "fresh"}`,
            target: "project fresh",
            status: projectStale ? "MISSED" : "met",
        },
    ];
    const fmt = (name: string, r: { median: number; samples: number[] }) => `${name} ${seconds(r.median)} (${r.samples.map((s) => seconds(s)).join(", ")})`;
    const details = [
        `context: ${gen.included.length} sent files, ${(gen.includedBytes / 1e6).toFixed(0)} MB; ignored: ${gen.ignoredFiles} files, ${(gen.ignoredBytes / 1e6).toFixed(0)} MB; ${os.availableParallelism?.() ?? os.cpus().length} cores; hash cache ${cacheEntries} entries, ${(fs.statSync(cacheFile).size / 1e6).toFixed(1)} MB`,
        `cold medians: ${Object.entries(cold).map(([k, v]) => fmt(k, v)).join("; ")}`,
        `warm medians: ${Object.entries(warm).map(([k, v]) => fmt(k, v)).join("; ")}`,
    ];
    return { rows, details };
}
