/**
 * Content hashing of build inputs. A context digest covers exactly what Docker sends (path,
 * executable bit, bytes or link target) in path order; an image hash adds the Dockerfile,
 * build args, target, platforms, the parent's tag and (for date-rebuilt families) the epoch.
 * No absolute path, mtime or directory order can affect either.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Worker } from "worker_threads";
import { ContextFile } from "./dockerContext";

/** Version of the hashing scheme; bump to re-tag everything on purpose. */
export const HASH_SCHEME = "mlci-content-hash/v1";

/** Layout of the persisted cache: `[absolutePath, stamp, sha256]` rows. Bump when it changes. */
const CACHE_FORMAT = 2;

/** What a cached hash is valid for: size, mtime (ns), ctime (ns) and inode, all of them. */
function statStamp(st: fs.BigIntStats): string {
    return `${st.size}:${st.mtimeNs}:${st.ctimeNs}:${st.ino}`;
}

/**
 * Per-file hash cache keyed by absolute path and validated by size, mtime (ns), ctime (ns)
 * and inode. An entry whose mtime is not safely older than the moment it was recorded is
 * never stored ("racy" edits within the same clock tick), so a stale hash is never served.
 */
export class FileHashCache {
    /** absolute path → [stamp, sha256] */
    private entries = new Map<string, [string, string]>();
    private dirty = false;

    /**
     * @param file Where the cache persists (outside any build context), or undefined for memory only.
     * @param racyWindowNs Files changed (mtime or ctime) this recently are never cached. @default 2 s
     */
    constructor(
        private readonly file?: string,
        private readonly racyWindowNs: bigint = 2_000_000_000n,
    ) {
        if (file) {
            try {
                const data = JSON.parse(fs.readFileSync(file, "utf8"));
                if (data?.scheme === HASH_SCHEME && data.format === CACHE_FORMAT && Array.isArray(data.entries)) {
                    for (const row of data.entries) {
                        if (Array.isArray(row) && row.length === 3 && typeof row[0] === "string" && typeof row[1] === "string" && typeof row[2] === "string" && /^[0-9a-f]{64}$/.test(row[2])) {
                            this.entries.set(row[0], [row[1], row[2]]);
                        }
                    }
                }
            } catch {
                // Missing or unreadable: start empty.
            }
        }
    }

    /** Number of cached files. */
    get size(): number {
        return this.entries.size;
    }

    get(abs: string, st: fs.BigIntStats): string | undefined {
        const e = this.entries.get(abs);
        if (!e) return undefined;
        if (e[0] === statStamp(st)) return e[1];
        this.entries.delete(abs);
        this.dirty = true;
        return undefined;
    }

    set(abs: string, st: fs.BigIntStats, sha256: string, nowNs: bigint): void {
        // Racy-clean guard: a file modified within the last 2 s could change again without its mtime moving.
        if (nowNs - st.mtimeNs < this.racyWindowNs || nowNs - st.ctimeNs < this.racyWindowNs) return;
        this.entries.set(abs, [statStamp(st), sha256]);
        this.dirty = true;
    }

    /** Writes the cache atomically if it changed. */
    save(): void {
        if (!this.file || !this.dirty) return;
        fs.mkdirSync(path.dirname(this.file), { recursive: true });
        const tmp = `${this.file}.${process.pid}.tmp`;
        const rows: [string, string, string][] = [];
        for (const [abs, [stamp, sha]] of this.entries) rows.push([abs, stamp, sha]);
        fs.writeFileSync(tmp, JSON.stringify({ scheme: HASH_SCHEME, format: CACHE_FORMAT, entries: rows }));
        fs.renameSync(tmp, this.file);
        this.dirty = false;
    }
}

/** SHA-256 of a file's bytes, streamed so memory stays flat for large files. */
export function hashFileBytes(abs: string): Promise<string> {
    return new Promise((resolve, reject) => {
        const h = createHash("sha256");
        const s = fs.createReadStream(abs, { highWaterMark: 1 << 20 });
        s.on("data", (chunk) => h.update(chunk));
        s.on("error", reject);
        s.on("end", () => resolve(h.digest("hex")));
    });
}

/** Runs `fn` over `items` with at most `limit` in flight, keeping result order. */
export async function mapBounded<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
    const results = new Array<R>(items.length);
    let next = 0;
    const worker = async () => {
        while (next < items.length) {
            const i = next++;
            results[i] = await fn(items[i]);
        }
    };
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
    return results;
}

/** Hashes one file synchronously through `buf`, so memory stays flat whatever its size. */
function hashFileSync(abs: string, buf: Buffer): string {
    const fd = fs.openSync(abs, "r");
    try {
        const h = createHash("sha256");
        let n: number;
        while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) h.update(buf.subarray(0, n));
        return h.digest("hex");
    } finally {
        fs.closeSync(fd);
    }
}

/**
 * A hashing thread running {@link hashFileSync} over batches of paths. Plain JS, so it starts
 * without ts-node; errors come back as data with the file's path.
 */
const HASH_WORKER_SOURCE = `
const { parentPort } = require("worker_threads");
const fs = require("fs");
const { createHash } = require("crypto");
const buf = Buffer.allocUnsafe(1 << 20);
parentPort.on("message", ({ id, paths }) => {
    const hashes = [];
    for (const p of paths) {
        let fd;
        try {
            fd = fs.openSync(p, "r");
            const h = createHash("sha256");
            let n;
            while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) h.update(buf.subarray(0, n));
            hashes.push(h.digest("hex"));
        } catch (e) {
            parentPort.postMessage({ id, error: { message: String(e && e.message), code: e && e.code, path: p } });
            return;
        } finally {
            if (fd !== undefined) fs.closeSync(fd);
        }
    }
    parentPort.postMessage({ id, hashes });
});
`;

interface WorkerReply {
    id: number;
    hashes?: string[];
    error?: { message: string; code?: string; path: string };
}

/** A hashing thread, ref'd only while it has work so an idle one never keeps the process alive. */
class HashWorker {
    private readonly worker = new Worker(HASH_WORKER_SOURCE, { eval: true });
    private readonly pending = new Map<number, { resolve: (h: string[]) => void; reject: (e: Error) => void }>();
    private nextId = 0;
    failed?: Error;

    constructor() {
        this.worker.unref();
        this.worker.on("message", (msg: WorkerReply) => {
            const p = this.pending.get(msg.id);
            if (!p) return;
            this.pending.delete(msg.id);
            if (this.pending.size === 0) this.worker.unref();
            if (msg.error) p.reject(Object.assign(new Error(`${msg.error.message} (hashing ${msg.error.path})`), { code: msg.error.code, path: msg.error.path }));
            else p.resolve(msg.hashes!);
        });
        this.worker.on("error", (e) => this.fail(e));
        this.worker.on("exit", (code) => this.fail(new Error(`hashing thread exited with code ${code}`)));
    }

    hash(paths: string[]): Promise<string[]> {
        if (this.failed) return Promise.reject(this.failed);
        return new Promise((resolve, reject) => {
            const id = this.nextId++;
            this.pending.set(id, { resolve, reject });
            if (this.pending.size === 1) this.worker.ref();
            this.worker.postMessage({ id, paths });
        });
    }

    terminate(): Promise<number> {
        return this.worker.terminate();
    }

    private fail(e: Error): void {
        this.failed ??= e;
        for (const p of this.pending.values()) p.reject(e);
        this.pending.clear();
    }
}

/** Hashing threads shared by every hashContext call of the process, started on first need. */
let sharedWorkers: HashWorker[] = [];

function hashWorkers(count: number): HashWorker[] {
    sharedWorkers = sharedWorkers.filter((w) => !w.failed);
    while (sharedWorkers.length < count) sharedWorkers.push(new HashWorker());
    return sharedWorkers.slice(0, count);
}

/** Stops the hashing threads (the next large hash starts new ones). */
export async function closeHashThreads(): Promise<void> {
    const workers = sharedWorkers;
    sharedWorkers = [];
    await Promise.all(workers.map((w) => w.terminate()));
}

/** Below this many bytes and files to read, a thread costs more to start than it saves. */
const THREAD_MIN_BYTES = 32n << 20n;
const THREAD_MIN_FILES = 2000;

/**
 * Hashes files on the main thread plus `threads - 1` hashing threads when there is enough to
 * read, all pulling batches (≈4 MiB or 256 files, largest files first) from one queue. The
 * main thread yields between its batches so replies from the threads are handled promptly.
 */
async function hashFiles(files: ContextFile[], threads: number): Promise<string[]> {
    const order = files.map((_, i) => i).sort((a, b) => (files[b].stat.size > files[a].stat.size ? 1 : files[b].stat.size < files[a].stat.size ? -1 : a - b));
    const batches: number[][] = [];
    let batch: number[] = [];
    let bytes = 0n;
    let total = 0n;
    for (const i of order) {
        batch.push(i);
        bytes += files[i].stat.size;
        total += files[i].stat.size;
        if (bytes >= 4n << 20n || batch.length >= 256) {
            batches.push(batch);
            batch = [];
            bytes = 0n;
        }
    }
    if (batch.length > 0) batches.push(batch);
    const out = new Array<string>(files.length);
    let next = 0;
    const useThreads = threads > 1 && (total >= THREAD_MIN_BYTES || files.length >= THREAD_MIN_FILES);
    // Two batches in flight per thread, so a thread never idles waiting for the main thread.
    const threadLanes = (useThreads ? hashWorkers(threads - 1) : []).flatMap((w) => [w, w]).map(async (w) => {
        while (next < batches.length) {
            const b = batches[next++];
            const hashes = await w.hash(b.map((i) => files[i].absolutePath));
            b.forEach((fileIndex, k) => (out[fileIndex] = hashes[k]));
        }
    });
    const mainLane = async () => {
        const buf = Buffer.allocUnsafe(1 << 20);
        while (next < batches.length) {
            for (const i of batches[next++]) out[i] = hashFileSync(files[i].absolutePath, buf);
            if (useThreads) await new Promise((r) => setImmediate(r));
        }
    };
    await Promise.all([...threadLanes, mainLane()]);
    return out;
}

/** One line of the context manifest: what the digest commits to for a file. */
export interface ContextEntry {
    path: string;
    /** `x` executable, `-` not, `l` symlink. */
    mode: "x" | "-" | "l";
    /** SHA-256 of the bytes, or of the link target for a symlink. */
    sha256: string;
}

/** Options for {@link hashContext}. */
export interface HashContextOptions {
    /** Per-file hash cache. @default none (every file read) */
    cache?: FileHashCache;
    /** Files read at once by the main-thread async path (`threads: 0`). @default 16 */
    concurrency?: number;
    /**
     * Threads that read and hash, the main thread included, used when there is a lot to read
     * (≥ 32 MiB or ≥ 2000 uncached files); 1 reads on the main thread only; 0 uses async
     * streamed reads on the main thread. @default os.availableParallelism(), at most 8
     */
    threads?: number;
}

/** Hashes the sent files of a context into a manifest and its digest. */
export async function hashContext(files: ContextFile[], opts: HashContextOptions = {}): Promise<{ digest: string; entries: ContextEntry[] }> {
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    const entries = new Array<ContextEntry>(files.length);
    // Cache hits and symlinks first, synchronously; only the misses are read.
    const misses: number[] = [];
    let missBytes = 0n;
    for (let i = 0; i < files.length; i++) {
        const f = files[i];
        if (f.kind === "symlink") {
            entries[i] = { path: f.path, mode: "l", sha256: createHash("sha256").update(fs.readlinkSync(f.absolutePath)).digest("hex") };
            continue;
        }
        const mode = (Number(f.stat.mode) & 0o111) !== 0 ? "x" : "-";
        const sha = opts.cache?.get(f.absolutePath, f.stat);
        entries[i] = { path: f.path, mode, sha256: sha ?? "" };
        if (sha === undefined) {
            misses.push(i);
            missBytes += f.stat.size;
        }
    }
    const threads = opts.threads ?? Math.min(8, os.availableParallelism?.() ?? os.cpus().length);
    const missFiles = misses.map((i) => files[i]);
    const hashes = threads === 0 ? await mapBounded(missFiles, opts.concurrency ?? 16, (f) => hashFileBytes(f.absolutePath)) : await hashFiles(missFiles, threads);
    misses.forEach((fileIndex, k) => {
        entries[fileIndex].sha256 = hashes[k];
        opts.cache?.set(files[fileIndex].absolutePath, files[fileIndex].stat, hashes[k], nowNs);
    });
    const h = createHash("sha256").update(`${HASH_SCHEME}:context\n`);
    let chunk = "";
    for (const e of entries) {
        chunk += `${e.mode} ${e.sha256} ${e.path}\0`;
        if (chunk.length >= 1 << 16) {
            h.update(chunk);
            chunk = "";
        }
    }
    h.update(chunk);
    return { digest: h.digest("hex"), entries };
}

/** Everything an image's tag commits to, besides the context. */
export interface ImageHashInputs {
    dockerfileSha256: string;
    contextDigest: string;
    buildArgs: Record<string, string>;
    target?: string;
    platforms: string[];
    /** The parent's content-hash tag, or null for a root image. */
    parentTag: string | null;
    /** The rebuild epoch (YYYY-MM-DD) for date-rebuilt families, else null. */
    rebuildEpoch: string | null;
}

/** The image's content hash: SHA-256 over a canonical JSON of its inputs. */
export function imageContentHash(inputs: ImageHashInputs): string {
    const canonical = JSON.stringify([
        HASH_SCHEME,
        inputs.dockerfileSha256,
        inputs.contextDigest,
        Object.keys(inputs.buildArgs)
            .sort()
            .map((k) => [k, inputs.buildArgs[k]]),
        inputs.target ?? null,
        [...inputs.platforms].sort(),
        inputs.parentTag,
        inputs.rebuildEpoch,
    ]);
    return createHash("sha256").update(canonical).digest("hex");
}
