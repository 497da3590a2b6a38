// The pull request's one sticky comment (preview.yml, job rebuild-graph): the image graph since the
// PR's base (`ci-images graph`), the estimated build time, why each image rebuilds, and the
// `pulumi preview` summary. Each run edits the comment it posted before, found by a hidden marker
// among the comments of github-actions[bot]; the same text goes to the step summary.
//
// Run by actions/github-script: `require("./.github/scripts/preview-comment.js").run({ github, context, core }, inputs)`
// (its README, "Run a separate file": `require` resolves relative paths from the working directory, the checkout).
// Pure parts (commentBody, findStickyComment) are exported for test/previewComment.test.ts.
"use strict";
const fs = require("fs");

/** Hidden marker that identifies the sticky comment. */
const MARKER = "<!-- ci-images:preview-comment -->";
/** The author of comments posted with the run's GITHUB_TOKEN. */
const BOT_LOGIN = "github-actions[bot]";
/** GitHub refuses comment bodies over 65,536 characters; stay under with room for the frame. */
const MAX_BODY = 60000;
/** GitHub renders a mermaid block only up to about 50,000 characters; a bigger graph is left to the JSON. */
const MAX_MERMAID = 45000;

/** A code fence longer than any run of backticks inside `text`, so the text cannot close it. */
function fenced(text, info) {
    const longest = Math.max(2, ...(String(text).match(/`+/g) || []).map((r) => r.length));
    const fence = "`".repeat(longest + 1);
    return `${fence}${info || ""}\n${String(text).replace(/\n+$/, "")}\n${fence}`;
}

/** The `Resources:` block pulumi prints last, else the output's last 15 lines. */
function previewSummary(output) {
    const lines = String(output || "").replace(/\r/g, "").split("\n");
    let start = -1;
    for (let i = lines.length - 1; i >= 0; i--) {
        if (/^Resources:\s*$/.test(lines[i])) {
            start = i;
            break;
        }
    }
    const block = start >= 0 ? lines.slice(start) : lines.slice(-15);
    return block.join("\n").trim();
}

/** The estimate line from `ci-images graph --format json`'s `estimate`. */
function estimateLine(estimate) {
    if (!estimate || estimate.builds === 0) return "**Estimated build time:** nothing to build";
    return `**Estimated build time:** ~${estimate.minutes} min (${estimate.builds} build${estimate.builds === 1 ? "" : "s"} in ${estimate.waves} wave${estimate.waves === 1 ? "" : "s"} × ${estimate.minutesPerBuild} min per build, an assumption)`;
}

/**
 * The comment's Markdown.
 * @param {{ mermaid?: string, graph?: { since: string, nodes: { name: string, status: string, reason: string | null }[], estimate?: object }, graphProblem?: string, preview?: string, previewResult?: string }} inputs
 */
function commentBody(inputs) {
    const parts = [MARKER, "### Images and infrastructure of this pull request", ""];
    const graph = inputs.graph;
    if (graph && Array.isArray(graph.nodes)) {
        const rebuilding = graph.nodes.filter((n) => n.status !== "unchanged");
        const own = rebuilding.filter((n) => n.status === "rebuilds-own-input").length;
        parts.push(`**Rebuilds:** ${rebuilding.length} of ${graph.nodes.length} images (${own} for an input of their own, ${rebuilding.length - own} because a parent rebuilds) since \`${graph.since}\``, "");
        parts.push(estimateLine(graph.estimate), "");
        const mermaid = String(inputs.mermaid || "");
        if (mermaid.length > 0 && mermaid.length <= MAX_MERMAID) parts.push(fenced(mermaid, "mermaid"), "");
        else if (mermaid.length > MAX_MERMAID) parts.push(`_The graph (${mermaid.length} characters) is too large to draw here: run \`npx ci-images graph --stack prod --since ${graph.since} --format dot\`._`, "");
        if (rebuilding.length > 0) {
            parts.push("<details><summary>Why each image rebuilds</summary>", "");
            for (const n of rebuilding) parts.push(`- \`${n.name}\`: ${String(n.reason).replace(/\n/g, " ")}`);
            parts.push("", "</details>", "");
        }
    } else {
        parts.push(`_The image graph could not be computed${inputs.graphProblem ? `: ${inputs.graphProblem}` : ""} (see the rebuild-graph job's log)._`, "");
    }
    const summary = previewSummary(inputs.preview);
    parts.push(`#### \`pulumi preview\` (prod): ${inputs.previewResult || "unknown"}`, "");
    parts.push(summary ? fenced(summary) : "_No preview output (see the preview job's log)._", "");
    let body = parts.join("\n");
    const full = String(inputs.preview || "").trim();
    if (full && full !== summary) {
        const room = MAX_BODY - body.length - 200;
        if (room > 1000) {
            const shown = full.length > room ? `… (first ${full.length - room} characters cut)\n${full.slice(full.length - room)}` : full;
            body += `\n<details><summary>Full preview output</summary>\n\n${fenced(shown)}\n\n</details>\n`;
        }
    }
    return body.length > MAX_BODY ? `${body.slice(0, MAX_BODY)}\n\n_(cut at ${MAX_BODY} characters)_\n` : body;
}

/** The bot's earlier sticky comment among `comments`, or undefined (a human's comment with the marker is not ours to edit). */
function findStickyComment(comments) {
    return comments.find((c) => c.user && c.user.login === BOT_LOGIN && typeof c.body === "string" && c.body.includes(MARKER));
}

/** Edits the sticky comment, or posts it when there is none yet. Returns what it did. */
async function upsertComment(github, { owner, repo, issueNumber, body }) {
    const comments = await github.paginate(github.rest.issues.listComments, { owner, repo, issue_number: issueNumber, per_page: 100 });
    const existing = findStickyComment(comments);
    if (existing) {
        await github.rest.issues.updateComment({ owner, repo, comment_id: existing.id, body });
        return { action: "updated", id: existing.id };
    }
    const created = await github.rest.issues.createComment({ owner, repo, issue_number: issueNumber, body });
    return { action: "created", id: created.data.id };
}

function readOptional(file) {
    try {
        return { text: fs.readFileSync(file, "utf8") };
    } catch (e) {
        return { problem: `${file} could not be read (${e.code || e.message})` };
    }
}

/** github-script entry point. */
async function run({ github, context, core }, { mermaidFile, graphFile, preview, previewResult }) {
    const mermaid = readOptional(mermaidFile);
    const graphText = readOptional(graphFile);
    let graph;
    let graphProblem = graphText.problem || mermaid.problem;
    if (graphText.text !== undefined) {
        try {
            graph = JSON.parse(graphText.text);
        } catch (e) {
            graphProblem = `${graphFile} is not JSON (${e.message})`;
        }
    }
    const body = commentBody({ mermaid: mermaid.text, graph, graphProblem, preview, previewResult });
    const { owner, repo } = context.repo;
    const result = await upsertComment(github, { owner, repo, issueNumber: context.issue.number, body });
    core.info(`sticky comment ${result.action}: ${result.id}`);
    await core.summary.addRaw(body).write();
    return result;
}

module.exports = { MARKER, BOT_LOGIN, commentBody, findStickyComment, previewSummary, upsertComment, run };
