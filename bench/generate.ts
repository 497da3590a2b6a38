/**
 * Seeded benchmark data: a large Docker build context (≈10k sent files, ≈300 MB, plus an
 * ignored cache folder) and small image catalogs. Same seed, same bytes, on every machine.
 */
import { createCipheriv, createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";

/** Small deterministic PRNG (mulberry32) for structure: names, counts, sizes. */
export function prng(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

/** `n` pseudo-random bytes derived from (seed, name): an AES-128-CTR keystream, fast and repeatable. */
export function seededBytes(seed: string, name: string, n: number): Buffer {
    const key = createHash("sha256").update(`${seed}\0${name}`).digest();
    const cipher = createCipheriv("aes-128-ctr", key.subarray(0, 16), key.subarray(16, 32));
    return cipher.update(Buffer.alloc(n));
}

/** Text-like bytes (base64 lines, no NUL), as source files and scripts are. */
export function seededText(seed: string, name: string, n: number): Buffer {
    const raw = seededBytes(seed, name, Math.ceil((n * 3) / 4) + 3).toString("base64");
    const lines: string[] = [];
    for (let i = 0; i < raw.length && lines.length * 77 < n; i += 76) lines.push(raw.slice(i, i + 76));
    return Buffer.from(lines.join("\n") + "\n").subarray(0, n);
}

/** Sizes drawn log-uniformly in [min, max]. */
function logUniform(rand: () => number, min: number, max: number): number {
    return Math.round(Math.exp(Math.log(min) + rand() * (Math.log(max) - Math.log(min))));
}

/** What {@link generateLargeContext} wrote. */
export interface GeneratedContext {
    dir: string;
    dockerfile: string;
    /** Sent files (relative POSIX paths, sorted), as the generator knows them, independent of the project's listing. */
    included: string[];
    includedBytes: number;
    ignoredFiles: number;
    ignoredBytes: number;
}

export const DOCKERIGNORE = ["# build cache and byte code never enter the context", "cache", "**/__pycache__", "**/*.pyc", "*.md", "!README.md", ""].join("\n");

/**
 * Writes a context of exactly `files` sent files (≈`totalMb` MB: source text, scripts with
 * the executable bit, binary assets and a few large wheels) plus an ignored `cache/` folder
 * and scattered `__pycache__/*.pyc` that `.dockerignore` excludes.
 */
export function generateLargeContext(dir: string, seed = "mlci-bench-1", files = 10_000, totalMb = 300): GeneratedContext {
    const rand = prng(0x5eed);
    const included: string[] = [];
    let includedBytes = 0;
    let ignoredFiles = 0;
    let ignoredBytes = 0;
    const write = (rel: string, data: Buffer, mode = 0o644, sent = true) => {
        const abs = path.join(dir, rel);
        fs.mkdirSync(path.dirname(abs), { recursive: true });
        fs.writeFileSync(abs, data, { mode });
        fs.chmodSync(abs, mode);
        if (sent) {
            included.push(rel);
            includedBytes += data.length;
        } else {
            ignoredFiles++;
            ignoredBytes += data.length;
        }
    };
    const fixed = 4;
    const wheels = 16;
    const scripts = 100;
    const assets = 980;
    const sources = files - fixed - wheels - scripts - assets;
    write("Dockerfile", Buffer.from("ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY requirements.txt /tmp/\nCOPY wheels/ /tmp/wheels/\nCOPY src/ /opt/src/\nCOPY scripts/ /opt/scripts/\nCOPY assets/ /opt/assets/\n"));
    write(".dockerignore", Buffer.from(DOCKERIGNORE));
    write("README.md", Buffer.from("# bench context\n"));
    write("requirements.txt", Buffer.from("numpy\npytest\n"));
    write("NOTES.md", Buffer.from("ignored\n"), 0o644, false);

    // Source text and scripts: many small files (≈25% of the bytes).
    const sourceBudget = totalMb * 0.25 * 1e6;
    const sourceSizes = Array.from({ length: sources }, () => logUniform(rand, 300, 40_000));
    const sourceScale = sourceBudget / sourceSizes.reduce((a, b) => a + b, 0);
    for (let i = 0; i < sources; i++) {
        const rel = `src/pkg${String(i % 80).padStart(2, "0")}/sub${(i >> 3) % 4}/mod_${i}.py`;
        write(rel, seededText(seed, rel, Math.max(1, Math.round(sourceSizes[i] * sourceScale))));
    }
    for (let i = 0; i < scripts; i++) {
        const rel = `scripts/step_${String(i).padStart(3, "0")}.sh`;
        write(rel, Buffer.concat([Buffer.from("#!/bin/sh\n"), seededText(seed, rel, logUniform(rand, 200, 4_000))]), 0o755);
    }
    // Binary assets (≈25%) and large wheels (the rest): few files, most bytes.
    const assetBudget = totalMb * 0.25 * 1e6;
    const assetSizes = Array.from({ length: assets }, () => logUniform(rand, 4_000, 400_000));
    const assetScale = assetBudget / assetSizes.reduce((a, b) => a + b, 0);
    for (let i = 0; i < assets; i++) {
        const rel = `assets/a${String(i % 10)}/blob_${i}.bin`;
        write(rel, seededBytes(seed, rel, Math.max(1, Math.round(assetSizes[i] * assetScale))));
    }
    const wheelBytes = Math.max(0, totalMb * 1e6 - includedBytes) / wheels;
    for (let i = 0; i < wheels; i++) {
        const rel = `wheels/pkg_${i}-1.0-py3-none-any.whl`;
        write(rel, seededBytes(seed, rel, Math.round(wheelBytes * (0.5 + (i % 4) / 3))));
    }
    // Ignored: a build cache folder and byte code next to sources.
    for (let i = 0; i < 1000; i++) write(`cache/c${i % 20}/entry_${i}.bin`, seededBytes(seed, `cache${i}`, logUniform(rand, 1_000, 120_000)), 0o644, false);
    for (let i = 0; i < 500; i++) write(`src/pkg${String(i % 80).padStart(2, "0")}/__pycache__/mod_${i}.cpython-311.pyc`, seededBytes(seed, `pyc${i}`, 2_000), 0o644, false);

    included.sort();
    return { dir, dockerfile: path.join(dir, "Dockerfile"), included, includedBytes, ignoredFiles, ignoredBytes };
}
