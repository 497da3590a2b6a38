/**
 * Content hashing of build inputs. A context digest covers exactly what Docker sends (path,
 * executable bit, bytes or link target) in path order; an image hash adds the Dockerfile,
 * build args, target, platforms, the parent's tag and (for date-rebuilt families) the epoch.
 * No absolute path, mtime or directory order can affect either.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { ContextFile } from "./dockerContext";

/** Version of the hashing scheme; bump to re-tag everything on purpose. */
export const HASH_SCHEME = "mlci-content-hash/v1";

/** A cached file hash, valid only while every stat field still matches. */
interface CachedFileHash {
    size: string;
    mtimeNs: string;
    ctimeNs: string;
    ino: string;
    sha256: string;
}

/**
 * Per-file hash cache keyed by absolute path and validated by size, mtime (ns), ctime (ns)
 * and inode. An entry whose mtime is not safely older than the moment it was recorded is
 * never stored ("racy" edits within the same clock tick), so a stale hash is never served.
 */
export class FileHashCache {
    private entries = new Map<string, CachedFileHash>();
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
                if (data?.scheme === HASH_SCHEME && data.entries && typeof data.entries === "object") this.entries = new Map(Object.entries(data.entries));
            } catch {
                // Missing or unreadable: start empty.
            }
        }
    }

    get(abs: string, st: fs.BigIntStats): string | undefined {
        const e = this.entries.get(abs);
        if (!e) return undefined;
        if (e.size === String(st.size) && e.mtimeNs === String(st.mtimeNs) && e.ctimeNs === String(st.ctimeNs) && e.ino === String(st.ino)) return e.sha256;
        this.entries.delete(abs);
        this.dirty = true;
        return undefined;
    }

    set(abs: string, st: fs.BigIntStats, sha256: string, nowNs: bigint): void {
        // Racy-clean guard: a file modified within the last 2 s could change again without its mtime moving.
        if (nowNs - st.mtimeNs < this.racyWindowNs || nowNs - st.ctimeNs < this.racyWindowNs) return;
        this.entries.set(abs, { size: String(st.size), mtimeNs: String(st.mtimeNs), ctimeNs: String(st.ctimeNs), ino: String(st.ino), sha256 });
        this.dirty = true;
    }

    /** Writes the cache atomically if it changed. */
    save(): void {
        if (!this.file || !this.dirty) return;
        fs.mkdirSync(path.dirname(this.file), { recursive: true });
        const tmp = `${this.file}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, JSON.stringify({ scheme: HASH_SCHEME, entries: Object.fromEntries(this.entries) }));
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
    /** Files read at once. @default 16 */
    concurrency?: number;
}

/** Hashes the sent files of a context into a manifest and its digest. */
export async function hashContext(files: ContextFile[], opts: HashContextOptions = {}): Promise<{ digest: string; entries: ContextEntry[] }> {
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    const entries = await mapBounded(files, opts.concurrency ?? 16, async (f): Promise<ContextEntry> => {
        if (f.kind === "symlink") {
            return { path: f.path, mode: "l", sha256: createHash("sha256").update(fs.readlinkSync(f.absolutePath)).digest("hex") };
        }
        const mode = (Number(f.stat.mode) & 0o111) !== 0 ? "x" : "-";
        let sha = opts.cache?.get(f.absolutePath, f.stat);
        if (sha === undefined) {
            sha = await hashFileBytes(f.absolutePath);
            opts.cache?.set(f.absolutePath, f.stat, sha, nowNs);
        }
        return { path: f.path, mode, sha256: sha };
    });
    const h = createHash("sha256").update(`${HASH_SCHEME}:context\n`);
    for (const e of entries) h.update(`${e.mode} ${e.sha256} ${e.path}\0`);
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
