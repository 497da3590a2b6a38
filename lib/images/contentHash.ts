/**
 * Content hashing of build inputs. A context digest covers exactly what Docker sends (path,
 * executable bit, bytes or link target) in path order; an image hash adds the Dockerfile,
 * build args, target, platforms, the parent's tag and (for date-rebuilt families) the epoch.
 * No absolute path, mtime or directory order can affect either.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import type { CachedListing, ContextFile, ListingCache } from "./dockerContext";

/** Version of the hashing scheme; bump to re-tag everything on purpose. */
export const HASH_SCHEME = "mlci-content-hash/v1";

/** Layout of the persisted cache: `[absolutePath, stamp, sha256]` rows, verdict keys and context listings. Bump when it changes. */
const CACHE_FORMAT = 4;

/** What a cached hash is valid for: size, mtime (ns), ctime (ns) and inode, all of them. */
function statStamp(st: fs.BigIntStats): string {
    return `${st.size}:${st.mtimeNs}:${st.ctimeNs}:${st.ino}`;
}

/** A listing as read from disk, checked field by field (a hand-edited or truncated cache is ignored). */
function isCachedListing(v: unknown): v is CachedListing {
    const l = v as CachedListing;
    return (
        typeof l === "object" &&
        l !== null &&
        typeof l.ignoreSha256 === "string" &&
        Array.isArray(l.dirs) &&
        l.dirs.every((d) => Array.isArray(d) && d.length === 2 && typeof d[0] === "string" && typeof d[1] === "string") &&
        Array.isArray(l.files) &&
        l.files.every((f) => Array.isArray(f) && f.length === 2 && typeof f[0] === "string" && (f[1] === "f" || f[1] === "l"))
    );
}

/**
 * Per-file hash cache keyed by absolute path and validated by size, mtime (ns), ctime (ns)
 * and inode. An entry whose mtime is not safely older than the moment it was recorded is
 * never stored ("racy" edits within the same clock tick), so a stale hash is never served.
 * It also keeps each context's sent-file list (lib/images/dockerContext.ts `CachedListing`).
 */
export class FileHashCache implements ListingCache {
    /** absolute path → [stamp, sha256] */
    private entries = new Map<string, [string, string]>();
    /** Content-addressed keys of checks that passed (e.g. a Dockerfile's COPY sources against its context). */
    private verdicts = new Set<string>();
    /** context directory and ignore file (dockerContext.ts) → the last listing made under them */
    private listings = new Map<string, CachedListing>();
    private dirty = false;

    /**
     * @param file Where the cache persists (outside any build context), or undefined for memory only.
     * @param racyWindowNs Files changed (mtime or ctime) this recently are never cached. @default 2 s
     * @param onSaveError Called when the cache cannot be written (a read-only home, a full disk): the
     *   cache is an optimisation, so a caller may warn and go on. @default rethrow
     */
    constructor(
        private readonly file?: string,
        private readonly racyWindowNs: bigint = 2_000_000_000n,
        private readonly onSaveError?: (e: Error) => void,
    ) {
        if (file) {
            try {
                const data = JSON.parse(fs.readFileSync(file, "utf8"));
                if (data?.scheme === HASH_SCHEME && data.format === CACHE_FORMAT && Array.isArray(data.entries)) {
                    for (const key of Array.isArray(data.verdicts) ? data.verdicts : []) if (typeof key === "string" && /^[0-9a-z:-]+$/.test(key)) this.verdicts.add(key);
                    if (typeof data.listings === "object" && data.listings !== null) {
                        for (const [key, listing] of Object.entries(data.listings)) if (isCachedListing(listing)) this.listings.set(key, listing);
                    }
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

    /**
     * Whether a check passed before for exactly these inputs. `key` must be derived from everything
     * the check reads (hashes of its inputs), so a cached pass can never be stale.
     */
    hasVerdict(key: string): boolean {
        return this.verdicts.has(key);
    }

    /** Records that the check `key` passed. */
    addVerdict(key: string): void {
        if (this.verdicts.has(key)) return;
        this.verdicts.add(key);
        this.dirty = true;
    }

    getListing(key: string): CachedListing | undefined {
        return this.listings.get(key);
    }

    setListing(key: string, listing: CachedListing): void {
        this.listings.set(key, listing);
        this.dirty = true;
    }

    /** Writes the cache atomically if it changed (a failure goes to `onSaveError` when given). */
    save(): void {
        if (!this.file || !this.dirty) return;
        const tmp = `${this.file}.${process.pid}.tmp`;
        try {
            fs.mkdirSync(path.dirname(this.file), { recursive: true });
            const rows: [string, string, string][] = [];
            for (const [abs, [stamp, sha]] of this.entries) rows.push([abs, stamp, sha]);
            fs.writeFileSync(tmp, JSON.stringify({ scheme: HASH_SCHEME, format: CACHE_FORMAT, entries: rows, verdicts: [...this.verdicts], listings: Object.fromEntries(this.listings) }));
            fs.renameSync(tmp, this.file);
        } catch (e) {
            try {
                fs.rmSync(tmp, { force: true });
            } catch {
                // Nothing was written.
            }
            if (!this.onSaveError) throw e;
            this.onSaveError(e as Error);
        }
        this.dirty = false;
    }
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
    /**
     * The moment hashing starts (wall clock, ns), which the cache's racy window is measured back
     * from. Tests pass it so that whether an entry is stored never depends on the clock.
     * @default the wall clock (`Date.now()`, whole milliseconds)
     */
    nowNs?: bigint;
}

/** Hashes the sent files of a context into a manifest and its digest. */
export async function hashContext(files: ContextFile[], opts: HashContextOptions = {}): Promise<{ digest: string; entries: ContextEntry[] }> {
    // Date.now() is whole milliseconds while stamps are ns: a file changed in this very millisecond reads as
    // "future" and is not stored, which is the safe side (only a cache miss next time).
    const nowNs = opts.nowNs ?? BigInt(Date.now()) * 1_000_000n;
    const entries = new Array<ContextEntry>(files.length);
    // Cache hits and symlinks first, synchronously; only the misses are read.
    const misses: number[] = [];
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
        }
    }
    // Read on the main thread: build contexts are a few files. (A worker-thread pool measured 0.88× vs 1.18× of
    // openssl only on the bench's generated ~10k-file context, and never started on a real one: dropped.)
    const buf = Buffer.allocUnsafe(1 << 20);
    const hashes = misses.map((i) => hashFileSync(files[i].absolutePath, buf));
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

/** The inputs an image's hash commits to, in the order it commits to them. */
export const HASH_INPUT_NAMES = ["scheme", "dockerfile", "context", "buildArgs", "target", "platforms", "parentTag", "rebuildEpoch"] as const;

/** One input of an image's hash. */
export type HashInputName = (typeof HASH_INPUT_NAMES)[number];

/** One SHA-256 per hash input (of that input's canonical JSON): two images differ in exactly the inputs whose digests differ. */
export type ImageHashManifest = Record<HashInputName, string>;

/** Each input in its canonical form (args and platforms sorted, absent values null), in {@link HASH_INPUT_NAMES} order. */
function canonicalInputs(inputs: ImageHashInputs): unknown[] {
    const byName: Record<HashInputName, unknown> = {
        scheme: HASH_SCHEME,
        dockerfile: inputs.dockerfileSha256,
        context: inputs.contextDigest,
        buildArgs: Object.keys(inputs.buildArgs)
            .sort()
            .map((k) => [k, inputs.buildArgs[k]]),
        target: inputs.target ?? null,
        platforms: [...inputs.platforms].sort(),
        parentTag: inputs.parentTag,
        rebuildEpoch: inputs.rebuildEpoch,
    };
    return HASH_INPUT_NAMES.map((name) => byName[name]);
}

/** The per-input digests of an image's hash inputs (what `ci-images explain` compares). */
export function imageHashManifest(inputs: ImageHashInputs): ImageHashManifest {
    const parts = canonicalInputs(inputs);
    return Object.fromEntries(HASH_INPUT_NAMES.map((name, i) => [name, createHash("sha256").update(JSON.stringify(parts[i])).digest("hex")])) as ImageHashManifest;
}

/** The image's content hash: SHA-256 over the canonical JSON array of its inputs ({@link HASH_INPUT_NAMES} order). */
export function imageContentHash(inputs: ImageHashInputs): string {
    return createHash("sha256").update(JSON.stringify(canonicalInputs(inputs))).digest("hex");
}
