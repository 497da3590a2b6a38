/**
 * The image DAG with each image's rebuild verdict (rebuildReasons.ts), drawn as Mermaid, Graphviz dot
 * or JSON: one node per image, an edge from each parent to its child. Pure: verdicts in, text out.
 */
import type { BuildPlan } from "./buildPlan";
import type { ImageRebuild, RebuildStatus } from "./rebuildReasons";

/** Output formats of `ci-images graph`. */
export const GRAPH_FORMATS = ["mermaid", "dot", "json"] as const;
export type GraphFormat = (typeof GRAPH_FORMATS)[number];

const STATUS_LABEL: Record<RebuildStatus, string> = {
    unchanged: "unchanged",
    "rebuilds-own-input": "rebuilds (own input)",
    "rebuilds-cascade": "rebuilds (cascade)",
};

/** Fill and stroke per status, shared by mermaid and dot (grey, red, amber). */
const STATUS_COLOURS: Record<RebuildStatus, { fill: string; stroke: string }> = {
    unchanged: { fill: "#eeeeee", stroke: "#999999" },
    "rebuilds-own-input": { fill: "#ffd6d6", stroke: "#cc0000" },
    "rebuilds-cascade": { fill: "#ffe8c2", stroke: "#e08000" },
};

const MERMAID_CLASS: Record<RebuildStatus, string> = { unchanged: "unchanged", "rebuilds-own-input": "own", "rebuilds-cascade": "cascade" };

/** Parent → child edges between images of the graph. */
function edges(images: ImageRebuild[]): { from: string; to: string }[] {
    const names = new Set(images.map((i) => i.name));
    return images.filter((i) => i.parent !== null && names.has(i.parent)).map((i) => ({ from: i.parent!, to: i.name }));
}

/** Text inside a quoted Mermaid label: `#` first, then every character Mermaid or HTML would read, as an entity code. */
export function mermaidText(s: string): string {
    return s.replace(/#/g, "#35;").replace(/"/g, "#quot;").replace(/</g, "#lt;").replace(/>/g, "#gt;").replace(/`/g, "#96;").replace(/[\r\n]+/g, " ");
}

/** The short mark on each node whose verdict carries a caveat (the caveat itself is said once, on its own node or line). */
export const CAVEAT_MARK = "previous tag unknown (tag code changed)";

/** The caveat the verdicts carry (the same on all of them), if any. */
export function graphCaveat(images: ImageRebuild[]): string | undefined {
    return images.find((i) => i.caveat !== undefined)?.caveat;
}

/** A node's label lines: name, status, reason, and the caveat mark. */
function labelLines(i: ImageRebuild): string[] {
    return [i.name, STATUS_LABEL[i.status], ...(i.reason ? [i.reason] : []), ...(i.caveat ? [CAVEAT_MARK] : [])];
}

/** A Mermaid flowchart (top-down): nodes `n<index>` labelled name / status / reason, classed by status; a `caveat` node when the tag code changed. */
export function mermaidGraph(images: ImageRebuild[]): string {
    const id = new Map(images.map((i, k) => [i.name, `n${k}`]));
    const lines = ["flowchart TD"];
    const caveat = graphCaveat(images);
    if (caveat !== undefined) lines.push(`    caveat["${mermaidText(`caveat: ${caveat}`)}"]`);
    for (const i of images) {
        const label = labelLines(i).map(mermaidText).join("<br/>");
        lines.push(`    ${id.get(i.name)}["${label}"]:::${MERMAID_CLASS[i.status]}`);
    }
    for (const e of edges(images)) lines.push(`    ${id.get(e.from)} --> ${id.get(e.to)}`);
    for (const status of Object.keys(MERMAID_CLASS) as RebuildStatus[]) {
        const { fill, stroke } = STATUS_COLOURS[status];
        lines.push(`    classDef ${MERMAID_CLASS[status]} fill:${fill},stroke:${stroke},color:#000000`);
    }
    return `${lines.join("\n")}\n`;
}

/** A dot string literal (quotes and backslashes escaped). */
function dotString(s: string): string {
    return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/[\r\n]+/g, " ")}"`;
}

/** A Graphviz digraph: one box per image, filled by status, the reason on its last label line. */
export function dotGraph(images: ImageRebuild[]): string {
    const lines = ["digraph images {", "    rankdir=TB;", '    node [shape=box, style="rounded,filled", fontname="sans-serif"];'];
    const caveat = graphCaveat(images);
    if (caveat !== undefined) lines.push(`    label=${dotString(`caveat: ${caveat}`)};`);
    for (const i of images) {
        const { fill, stroke } = STATUS_COLOURS[i.status];
        const label = labelLines(i).map((l) => dotString(l).slice(1, -1)).join("\\n");
        lines.push(`    ${dotString(i.name)} [label="${label}", fillcolor="${fill}", color="${stroke}"];`);
    }
    for (const e of edges(images)) lines.push(`    ${dotString(e.from)} -> ${dotString(e.to)};`);
    lines.push("}");
    return `${lines.join("\n")}\n`;
}

/** Minutes one image build is assumed to take when nothing better is known (a CUDA image with PyTorch). */
export const DEFAULT_MINUTES_PER_BUILD = 30;

/** The rebuilds' estimated wall-clock time: the build plan's critical path (its waves) × minutes per build. */
export interface BuildEstimate {
    /** Builds the plan runs (one per image, or per platform with builders). */
    builds: number;
    /** Waves of the plan: builds in one wave run at once, within each builder's maxParallel. */
    waves: number;
    minutesPerBuild: number;
    /** waves × minutesPerBuild. */
    minutes: number;
}

/** The estimate for a build plan of the rebuilding images (lib/images/buildPlan.ts `planBuilds`). */
export function estimateBuildTime(plan: Pick<BuildPlan, "tasks" | "waves">, minutesPerBuild: number = DEFAULT_MINUTES_PER_BUILD): BuildEstimate {
    return { builds: plan.tasks.length, waves: plan.waves, minutesPerBuild, minutes: plan.waves * minutesPerBuild };
}

/** The JSON shape of `ci-images graph --format json`. */
export function jsonGraph(images: ImageRebuild[], since: string, estimate: BuildEstimate) {
    const caveat = graphCaveat(images);
    return { since, ...(caveat !== undefined ? { caveat } : {}), nodes: images, edges: edges(images), estimate };
}

/** The graph in one of {@link GRAPH_FORMATS}. */
export function renderGraph(images: ImageRebuild[], format: GraphFormat, since: string, estimate: BuildEstimate): string {
    if (format === "mermaid") return mermaidGraph(images);
    if (format === "dot") return dotGraph(images);
    return `${JSON.stringify(jsonGraph(images, since, estimate), null, 2)}\n`;
}
