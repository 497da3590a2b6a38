/**
 * The compiled CLI (dist/, bundled into dist/ci-images.js), as `npx ci-images` runs it.
 * Subprocess tests call {@link ensureBuiltCli} in a `before` hook: it rebuilds dist/ as `npm run build`
 * does (tsc, then the bundle) when any cli/ or lib/ source, or the CLI tsconfig, is newer than the
 * build (so `npm test` works on a fresh clone and after edits).
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

export const PROJECT_ROOT = path.resolve(__dirname, "..");
/** The package bin, which requires dist/cli/main.js. */
export const CLI_BIN = path.join(PROJECT_ROOT, "bin", "ci-images.js");
const BUILT_MAIN = path.join(PROJECT_ROOT, "dist", "cli", "main.js");
/** The bundle the bin runs (scripts/bundle-cli.js). */
export const BUNDLE = path.join(PROJECT_ROOT, "dist", "ci-images.js");

function newestSource(dir: string): number {
    let newest = 0;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, entry.name);
        if (entry.isDirectory()) newest = Math.max(newest, newestSource(p));
        else if (entry.name.endsWith(".ts")) newest = Math.max(newest, fs.statSync(p).mtimeMs);
    }
    return newest;
}

/** Builds dist/ unless it is newer than every CLI source. */
export function ensureBuiltCli(): void {
    const built = fs.existsSync(BUILT_MAIN) && fs.existsSync(BUNDLE) ? Math.min(fs.statSync(BUILT_MAIN).mtimeMs, fs.statSync(BUNDLE).mtimeMs) : 0;
    const sources = Math.max(newestSource(path.join(PROJECT_ROOT, "cli")), newestSource(path.join(PROJECT_ROOT, "lib")), fs.statSync(path.join(PROJECT_ROOT, "tsconfig.cli.json")).mtimeMs);
    if (built >= sources) return;
    execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", path.join(PROJECT_ROOT, "tsconfig.cli.json")], { cwd: PROJECT_ROOT, stdio: "inherit" });
    execFileSync(process.execPath, [path.join(PROJECT_ROOT, "scripts", "bundle-cli.js")], { cwd: PROJECT_ROOT, stdio: "inherit" });
    // tsc leaves unchanged outputs alone under --incremental: mark the build as current.
    const now = new Date();
    fs.utimesSync(BUILT_MAIN, now, now);
    fs.utimesSync(BUNDLE, now, now);
}
