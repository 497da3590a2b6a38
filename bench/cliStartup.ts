/**
 * CLI start-up: `ci-images tags --stack dev` (the bundled CLI through the package bin, warm hash
 * cache, output discarded) against a bare `node -e 0`, round-robin. Target: ≤ 3×. Builds dist/
 * first when it is stale, as the unit tests do.
 */
import { spawnSync } from "child_process";
import * as path from "path";
import { CLI_BIN, ensureBuiltCli, PROJECT_ROOT } from "../test/builtCli";
import { ratio, roundRobin, Row } from "./report";

function run(args: string[]): void {
    const r = spawnSync(process.execPath, args, { cwd: PROJECT_ROOT, stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
    if (r.status !== 0) throw new Error(`node ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
}

export async function benchCliStartup(rounds: number): Promise<{ rows: Row[]; details: string[] }> {
    ensureBuiltCli();
    run([CLI_BIN, "tags", "--stack", "dev"]); // warms the hash cache and the OS file cache
    const t = await roundRobin({ bare: () => run(["-e", "0"]), tags: () => run([CLI_BIN, "tags", "--stack", "dev"]) }, Math.max(rounds, 5));
    const r = t.tags.median / t.bare.median;
    return {
        rows: [{ section: "CLI start-up", measurement: "`ci-images tags --stack dev` (bundled, whole run) ÷ bare `node -e 0`", figure: ratio(t.tags.median, t.bare.median), target: "≤ 3.0×", status: r <= 3 ? "met" : "MISSED" }],
        details: [`CLI start-up: tags ${(t.tags.median * 1000).toFixed(0)} ms, bare node ${(t.bare.median * 1000).toFixed(0)} ms (medians), ${path.relative(PROJECT_ROOT, CLI_BIN)}`],
    };
}
