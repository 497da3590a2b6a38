/**
 * The code that shapes tags: the import closure of the planning entry point (lib/stackPlan.ts, which
 * validates config, lists contexts and hashes) inside a project tree, plus the locked version of every
 * package that closure imports. `explain` and `graph` plan a revision with this checkout's code; when
 * that code differs from the revision's own, the revision's real tags may differ from the ones computed
 * here, so every verdict says so (see revisionPlan.ts).
 */
import * as fs from "fs";
import * as path from "path";

/** The planning entry point, project-relative. */
export const TAG_CODE_ENTRY = "lib/stackPlan.ts";

const IMPORT = /(?:\bimport\s+(?:type\s+)?(?:[^'";]*?\sfrom\s+)?|\bexport\s+(?:type\s+)?[^'";]*?\sfrom\s+|\brequire\s*\(\s*|\bimport\s*\(\s*)["']([^"']+)["']/g;

/** The project files (relative) and packages (`npm:<name>`) the entry reaches, each with what identifies its content. */
export function tagCodeFingerprint(root: string): Map<string, string> {
    const out = new Map<string, string>();
    if (!fs.existsSync(path.join(root, TAG_CODE_ENTRY))) return out;
    const lock = readLock(root);
    const queue = [TAG_CODE_ENTRY];
    while (queue.length > 0) {
        const rel = queue.pop()!;
        if (out.has(rel)) continue;
        const text = fs.readFileSync(path.join(root, rel), "utf8");
        out.set(rel, text);
        for (const m of text.matchAll(IMPORT)) {
            const spec = m[1];
            if (spec.startsWith(".")) {
                const target = resolveRelative(root, path.posix.join(path.posix.dirname(rel), spec));
                if (target !== undefined && !out.has(target)) queue.push(target);
            } else {
                const pkg = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0];
                if (pkg.startsWith("node:") || !lock) continue;
                out.set(`npm:${pkg}`, lock[`node_modules/${pkg}`]?.version ?? "(not locked)");
            }
        }
    }
    return out;
}

function resolveRelative(root: string, rel: string): string | undefined {
    for (const candidate of [`${rel}.ts`, `${rel}/index.ts`, rel, `${rel}.js`, `${rel}.json`]) {
        const abs = path.join(root, candidate);
        if (fs.existsSync(abs) && fs.statSync(abs).isFile()) return path.posix.normalize(candidate);
    }
    return undefined;
}

function readLock(root: string): Record<string, { version?: string }> | undefined {
    try {
        return (JSON.parse(fs.readFileSync(path.join(root, "package-lock.json"), "utf8")) as { packages?: Record<string, { version?: string }> }).packages;
    } catch {
        return undefined;
    }
}

/** What differs between two fingerprints: files and packages added, removed or changed, sorted. */
export function tagCodeDifferences(before: Map<string, string>, after: Map<string, string>): string[] {
    const keys = new Set([...before.keys(), ...after.keys()]);
    return [...keys].filter((k) => before.get(k) !== after.get(k)).sort();
}
