/**
 * The one config problem type and its one formatter: `config mlci:<path>: <problem>. Fix: <fix>`.
 * A leaf module: every layer that reports config problems imports it, and it imports nothing.
 */

/** The Pulumi config namespace of this project. */
export const CONFIG_NAMESPACE = "mlci";

/** One config problem: where, what, and how to fix it. */
export interface ConfigProblem {
    /** Path under `mlci:` (e.g. `build.forceRebuild[0]`), or a full key of another namespace (`github:token`). */
    path: string;
    message: string;
    fix?: string;
}

/** Thrown before any resource is registered when the stack config is invalid. */
export class ConfigError extends Error {
    constructor(public readonly problems: ConfigProblem[]) {
        super(formatProblems(problems));
        this.name = "ConfigError";
    }
}

/** Renders problems as the one message the program and the CLI print. */
export function formatProblems(problems: ConfigProblem[]): string {
    const lines = problems.map((p) => `  - config ${p.path.includes(":") ? p.path : `${CONFIG_NAMESPACE}:${p.path}`}: ${p.message}${p.fix ? `. Fix: ${p.fix}` : ""}`);
    return `Invalid ml-ci-images stack config (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${lines.join("\n")}`;
}

/** Levenshtein distance, for "did you mean" hints. */
function editDistance(a: string, b: string): number {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0][j] = j;
    for (let i = 1; i <= a.length; i++)
        for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    return d[a.length][b.length];
}

/** The closest candidate within a small edit distance, or undefined. */
export function closest(word: string, candidates: string[]): string | undefined {
    let best: string | undefined;
    let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
    for (const c of candidates) {
        const dist = editDistance(word, c);
        if (dist < bestDistance) [best, bestDistance] = [c, dist];
    }
    return best;
}
