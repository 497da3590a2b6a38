/** Timing helpers and the one table `npm run bench` prints. */

/** One line of the table: a ratio (or count) measured in this run, against its target. */
export interface Row {
    section: string;
    measurement: string;
    /** The figure shown, e.g. `0.82×` or `4 = 4`. */
    figure: string;
    /** The target, e.g. `≤ 1.0×`, or `—` for context rows. */
    target: string;
    /** `met`, `MISSED`, or `info` for rows without a target. */
    status: "met" | "MISSED" | "info";
}

/** Seconds elapsed by `fn`. */
export async function timed<T>(fn: () => T | Promise<T>): Promise<{ seconds: number; value: T }> {
    const t0 = process.hrtime.bigint();
    const value = await fn();
    return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, value };
}

export function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Runs every contestant `rounds` times, round-robin (so a burst of load from elsewhere hits
 * all of them alike), and returns each one's median seconds and all samples.
 */
export async function roundRobin(contestants: Record<string, () => unknown | Promise<unknown>>, rounds: number, before?: Record<string, () => unknown | Promise<unknown>>): Promise<Record<string, { median: number; samples: number[] }>> {
    const samples: Record<string, number[]> = Object.fromEntries(Object.keys(contestants).map((k) => [k, []]));
    for (let r = 0; r < rounds; r++) {
        for (const [name, fn] of Object.entries(contestants)) {
            await before?.[name]?.();
            samples[name].push((await timed(fn)).seconds);
        }
    }
    return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, { median: median(v), samples: v }]));
}

export function ratio(a: number, b: number): string {
    return `${(a / b).toFixed(2)}×`;
}

export function seconds(s: number): string {
    return s < 1 ? `${(s * 1000).toFixed(0)} ms` : `${s.toFixed(2)} s`;
}

/** The table as Markdown, so the README can take it as printed. */
export function renderTable(rows: Row[]): string {
    const header = ["Benchmark", "Measurement", "Figure", "Target", "Status"];
    const cells = rows.map((r) => [r.section, r.measurement, r.figure, r.target, r.status]);
    const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
    const line = (c: string[]) => `| ${c.map((x, i) => x.padEnd(widths[i])).join(" | ")} |`;
    return [line(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...cells.map(line)].join("\n");
}
