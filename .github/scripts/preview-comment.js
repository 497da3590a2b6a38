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
/** GitHub refuses comment bodies over 65,536 characters; stay under with room to spare. */
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

/** At most this many "why it rebuilds" lines are listed; the rest are counted (the graph JSON has them all). */
const MAX_REASONS = 60;
/** One reason line is cut past this many characters. */
const MAX_REASON_CHARS = 400;
/** The preview summary block is cut (from the top) past this many characters. */
const MAX_SUMMARY_CHARS = 6000;

/** The last `room` characters of `text`, saying how many were cut (cut before fencing, so no fence is broken). */
function tail(text, room) {
    if (text.length <= room) return text;
    return `… (first ${text.length - room} characters cut)\n${text.slice(text.length - room)}`;
}

/** The "why each image rebuilds" block: whole, capped at MAX_REASONS lines. */
function reasonsBlock(rebuilding) {
    const lines = ["<details><summary>Why each image rebuilds</summary>", ""];
    for (const n of rebuilding.slice(0, MAX_REASONS)) {
        const reason = String(n.reason).replace(/\s*\n\s*/g, " ");
        lines.push(`- \`${n.name}\`: ${reason.length > MAX_REASON_CHARS ? `${reason.slice(0, MAX_REASON_CHARS)}…` : reason}`);
    }
    if (rebuilding.length > MAX_REASONS) lines.push(`- … and ${rebuilding.length - MAX_REASONS} more (all in the job's \`ci-images graph --format json\`)`);
    lines.push("", "</details>", "");
    return lines.join("\n");
}

/**
 * The comment's Markdown, whole blocks only: a block that does not fit is left out or replaced by a
 * note, never cut through a code fence or a <details>, so the body stays under GitHub's 65,536 characters.
 * @param {{ mermaid?: string, graph?: { since: string, caveat?: string, nodes: { name: string, status: string, reason: string | null }[], estimate?: object }, graphProblem?: string, preview?: string, previewResult?: string }} inputs
 */
function commentBody(inputs) {
    const head = [MARKER, "### Images and infrastructure of this pull request", ""];
    let drawing = "";
    let reasons = "";
    const graph = inputs.graph;
    if (graph && Array.isArray(graph.nodes)) {
        const rebuilding = graph.nodes.filter((n) => n.status !== "unchanged");
        const own = rebuilding.filter((n) => n.status === "rebuilds-own-input").length;
        head.push(`**Rebuilds:** ${rebuilding.length} of ${graph.nodes.length} images (${own} for an input of their own, ${rebuilding.length - own} because a parent rebuilds) since \`${graph.since}\``, "");
        if (graph.caveat) head.push(`> **Caveat:** ${String(graph.caveat).replace(/\s*\n\s*/g, " ").slice(0, 1000)}`, "");
        head.push(estimateLine(graph.estimate), "");
        const mermaid = String(inputs.mermaid || "");
        if (mermaid.length > 0 && mermaid.length <= MAX_MERMAID) drawing = `${fenced(mermaid, "mermaid")}\n`;
        else if (mermaid.length > MAX_MERMAID) drawing = tooLarge(mermaid.length, graph.since);
        if (rebuilding.length > 0) reasons = reasonsBlock(rebuilding);
    } else {
        head.push(`_The image graph could not be computed${inputs.graphProblem ? `: ${String(inputs.graphProblem).slice(0, 500)}` : ""} (see the rebuild-graph job's log)._`, "");
    }
    const summary = tail(previewSummary(inputs.preview), MAX_SUMMARY_CHARS);
    const previewBlock = [`#### \`pulumi preview\` (prod): ${inputs.previewResult || "unknown"}`, "", summary ? fenced(summary) : "_No preview output (see the preview job's log)._", ""].join("\n");
    const budget = MAX_BODY - 400; // room for the notes below
    let fixed = head.join("\n");
    // The drawing is the first to give way, then the reasons (the graph JSON keeps everything).
    if (fixed.length + drawing.length + reasons.length + previewBlock.length > budget && drawing) drawing = tooLarge(String(inputs.mermaid).length, graph.since, "with the rest of this comment");
    if (fixed.length + drawing.length + reasons.length + previewBlock.length > budget) reasons = "_The reasons do not fit in this comment: see `ci-images explain` or the job's graph JSON._\n";
    let body = [fixed, drawing, reasons, previewBlock].filter((p) => p).join("\n");
    const full = String(inputs.preview || "").trim();
    if (full && full !== previewSummary(inputs.preview)) {
        const frame = "\n<details><summary>Full preview output</summary>\n\n\n\n</details>\n";
        const room = MAX_BODY - body.length - frame.length - 200;
        if (room > 1000) body += `\n<details><summary>Full preview output</summary>\n\n${fenced(tail(full, room))}\n\n</details>\n`;
    }
    return body;
}

/** The note that replaces a drawing too large for the comment. */
function tooLarge(chars, since, why) {
    return `_The graph (${chars} characters) is too large to draw here${why ? ` ${why}` : ""}: run \`npx ci-images graph --stack prod --since ${since} --format dot\`._\n`;
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

/**
 * github-script entry point. The preview's output is read from `previewFile` (an artifact of the
 * preview job: no job output or environment variable carries it); `postComment: false` (a fork's PR,
 * whose token is read-only) writes the step summary only.
 */
async function run({ github, context, core }, { mermaidFile, graphFile, previewFile, previewResult, postComment = true }) {
    const previewText = previewFile ? readOptional(previewFile) : {};
    const preview = previewText.text;
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
    let result = { action: "not posted (a fork's pull request: step summary only)", id: null };
    if (postComment) {
        const { owner, repo } = context.repo;
        result = await upsertComment(github, { owner, repo, issueNumber: context.issue.number, body });
    }
    core.info(`sticky comment ${result.action}${result.id !== null ? `: ${result.id}` : ""}`);
    await core.summary.addRaw(body).write();
    return result;
}

module.exports = { MARKER, BOT_LOGIN, commentBody, findStickyComment, previewSummary, upsertComment, run };
