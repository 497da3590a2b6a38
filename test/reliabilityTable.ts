/**
 * The numbers of docs/reliability.md, from the fault suite's own record: the integration suite
 * (test/integration/faults.test.ts) writes docs/reliability-summary.json after every run and
 * rewrites the table between the markers of docs/reliability.md with {@link renderFaultTable};
 * test/reliabilityDoc.test.ts checks that the committed table is exactly the rendering of the
 * committed record, so nobody types a number.
 */
import * as fs from "fs";
import * as path from "path";

/** How one faulted run ended. */
export type FaultOutcome = "green" | "green-after-retries" | "failed-cleanly" | "failed-unclean";

/** One run of a command with faults injected, and what the invariants found after it. */
export interface FaultRun {
    /** The test's title. */
    test: string;
    /** `publish`, `wait`, `retag`, `status`, `listing`. */
    command: string;
    /** Kinds of the faults injected in this run (docs/reliability.md lists them). */
    kinds: string[];
    /** Faults injected, per kind. */
    injected: Record<string, number>;
    outcome: FaultOutcome;
    /** `retrying …` lines the CLI or the program printed. */
    retryLines: number;
    /** Tags that existed before the run and were lost or moved otherwise than by promotion. */
    imagesLost: number;
    /** Markers on a digest not pushed whole or not smoke-tested; -latest/dated tags on an unmarked digest. */
    halfPromotions: number;
    /** A fault-free rerun finished the work without rebuilding a marked build (null: not applicable). */
    converged: boolean | null;
}

/** What the suite records. */
export interface FaultSummary {
    recordedAt: string;
    /** Wall time of the fault suite. */
    suiteSeconds: number;
    runs: FaultRun[];
}

export const SUMMARY_FILE = path.join(__dirname, "..", "docs", "reliability-summary.json");
export const DOC_FILE = path.join(__dirname, "..", "docs", "reliability.md");
export const TABLE_START = "<!-- fault-table:start (generated from docs/reliability-summary.json by test/reliabilityTable.ts; do not edit) -->";
export const TABLE_END = "<!-- fault-table:end -->";

/** The order kinds appear in; unknown kinds follow, sorted. */
export const FAULT_KINDS = ["500", "502", "503", "429 + Retry-After", "429, no Retry-After", "ECR throttling (429 TOOMANYREQUESTS)", "reset mid blob upload", "reset mid manifest PUT", "reset, answer lost", "reset before answer", "slow first byte", "proxy restart", "registry restart"];

/** The markdown table (and its totals line) of a summary. */
export function renderFaultTable(summary: FaultSummary): string {
    const kinds = [...new Set(summary.runs.flatMap((r) => r.kinds))].sort((a, b) => {
        const ia = FAULT_KINDS.indexOf(a);
        const ib = FAULT_KINDS.indexOf(b);
        return ia !== ib ? (ia < 0 ? 1 : ib < 0 ? -1 : ia - ib) : a.localeCompare(b);
    });
    const row = (label: string, runs: FaultRun[], injected: number, commands: string) => {
        const n = (o: FaultOutcome) => runs.filter((r) => r.outcome === o).length;
        return `| ${label} | ${commands} | ${injected} | ${runs.length} | ${n("green")} | ${n("green-after-retries")} | ${n("failed-cleanly")} | ${n("failed-unclean")} | ${runs.reduce((a, r) => a + r.imagesLost, 0)} | ${runs.reduce((a, r) => a + r.halfPromotions, 0)} |`;
    };
    const lines = [
        "| fault | commands | faults injected | runs | green first try | green after retries | failed cleanly, clear message | failed otherwise | images lost | half-promotions |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ...kinds.map((k) => {
            const runs = summary.runs.filter((r) => r.kinds.includes(k));
            return row(k, runs, runs.reduce((a, r) => a + (r.injected[k] ?? 0), 0), [...new Set(runs.map((r) => r.command))].sort().join(", "));
        }),
        row("**all runs**", summary.runs, summary.runs.reduce((a, r) => a + Object.values(r.injected).reduce((x, y) => x + y, 0), 0), [...new Set(summary.runs.map((r) => r.command))].sort().join(", ")),
    ];
    const converged = summary.runs.filter((r) => r.converged !== null);
    lines.push(
        "",
        `Recorded ${summary.recordedAt} by the fault suite (${summary.suiteSeconds} s): ${summary.runs.length} faulted runs, ${converged.filter((r) => r.converged).length} of ${converged.length} fault-free reruns converged (built nothing already marked, finished what was left).`,
    );
    return lines.join("\n");
}

/** docs/reliability.md with its generated section replaced by the rendering of `summary`. */
export function withFaultTable(doc: string, summary: FaultSummary): string {
    const start = doc.indexOf(TABLE_START);
    const end = doc.indexOf(TABLE_END);
    if (start < 0 || end < start) throw new Error(`docs/reliability.md has no ${TABLE_START} … ${TABLE_END} section`);
    return `${doc.slice(0, start + TABLE_START.length)}\n${renderFaultTable(summary)}\n${doc.slice(end)}`;
}

/** Writes the record and regenerates the doc's table (the fault suite calls this at its end). */
export function recordFaultSummary(summary: FaultSummary): void {
    fs.writeFileSync(SUMMARY_FILE, `${JSON.stringify(summary, null, 2)}\n`);
    fs.writeFileSync(DOC_FILE, withFaultTable(fs.readFileSync(DOC_FILE, "utf8"), summary));
}

// `npx ts-node --transpile-only test/reliabilityTable.ts`: regenerates the doc's table from the record.
if (require.main === module) recordFaultSummary(JSON.parse(fs.readFileSync(SUMMARY_FILE, "utf8")) as FaultSummary);
