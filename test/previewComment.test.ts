/**
 * The PR preview's sticky comment (preview.yml, job rebuild-graph): the github-script step's own script
 * text runs against a fake `github` that keeps a PR's comments as the REST API does (listComments pages
 * of at most per_page, oldest first; create; update by id), so a second run edits the first run's
 * comment instead of adding one.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import YAML from "yaml";

const ROOT = path.resolve(__dirname, "..");
const SCRIPT = path.join(ROOT, ".github", "scripts", "preview-comment.js");
/** What the script exports (plain JavaScript: github-script runs it without a build). */
interface PreviewCommentModule {
    MARKER: string;
    commentBody(inputs: { mermaid?: string; graph?: unknown; graphProblem?: string; preview?: string; previewResult?: string }): string;
}
const comment = require(SCRIPT) as PreviewCommentModule;

interface FakeComment {
    id: number;
    body: string;
    user: { login: string };
}

/** A pull request's comments behind the calls github-script's `github` (Octokit) makes. */
function fakeGithub(initial: FakeComment[] = []) {
    const comments = [...initial];
    let nextId = 1000;
    const calls: string[] = [];
    const listComments = async (p: { issue_number: number; per_page?: number; page?: number }) => {
        calls.push(`list page ${p.page ?? 1}`);
        const per = Math.min(p.per_page ?? 30, 100);
        const page = p.page ?? 1;
        return { data: comments.slice((page - 1) * per, page * per) };
    };
    const github = {
        rest: {
            issues: {
                listComments,
                createComment: async (p: { issue_number: number; body: string }) => {
                    calls.push("create");
                    const c = { id: nextId++, body: p.body, user: { login: "github-actions[bot]" } };
                    comments.push(c);
                    return { data: c };
                },
                updateComment: async (p: { comment_id: number; body: string }) => {
                    calls.push(`update ${p.comment_id}`);
                    const c = comments.find((x) => x.id === p.comment_id);
                    if (!c) throw Object.assign(new Error("Not Found"), { status: 404 });
                    c.body = p.body;
                    return { data: c };
                },
            },
        },
        /** Octokit's paginate: every page of a list endpoint, concatenated. */
        paginate: async (method: typeof listComments, params: { issue_number: number; per_page?: number }) => {
            const out: FakeComment[] = [];
            for (let page = 1; ; page++) {
                const { data } = await method({ ...params, page });
                out.push(...data);
                if (data.length < Math.min(params.per_page ?? 30, 100)) return out;
            }
        },
    };
    return { github, comments, calls };
}

function fakeCore() {
    const summaries: string[] = [];
    const core = {
        info: (_: string) => undefined,
        summary: {
            text: "",
            addRaw(s: string) {
                this.text += s;
                return this;
            },
            async write() {
                summaries.push(this.text);
                this.text = "";
            },
        },
    };
    return { core, summaries };
}

/** The preview.yml step's `script:` run as github-script runs it (an async function of github, context, core, require). */
async function runWorkflowStep(github: unknown, core: unknown, inputs: { preview?: string; result: string; post?: boolean }, cwd: string): Promise<void> {
    // What download-artifact leaves in the checkout: the preview job's output file.
    if (inputs.preview !== undefined) {
        fs.mkdirSync(path.join(cwd, "preview-output"), { recursive: true });
        fs.writeFileSync(path.join(cwd, "preview-output", "pulumi-preview.txt"), inputs.preview);
    }
    const env = { PREVIEW_RESULT: inputs.result, POST_COMMENT: String(inputs.post ?? true) };
    const job = YAML.parse(fs.readFileSync(path.join(ROOT, ".github", "workflows", "preview.yml"), "utf8")).jobs["rebuild-graph"];
    const step = job.steps.find((s: { uses?: string }) => s.uses?.startsWith("actions/github-script@"));
    const context = { repo: { owner: "pytorch", repo: "ml-ci-images" }, issue: { number: 42 } };
    // github-script's require resolves relative paths from the working directory (the checkout).
    const relRequire = (id: string) => require(id.startsWith(".") ? path.join(ROOT, id) : id);
    const saved = { ...process.env };
    const dir = process.cwd();
    Object.assign(process.env, env);
    process.chdir(cwd);
    try {
        const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor;
        await new AsyncFunction("github", "context", "core", "require", step.with.script)(github, context, core, relRequire);
    } finally {
        process.chdir(dir);
        for (const k of Object.keys(env)) if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
    }
}

const PREVIEW = [
    "Previewing update (prod):",
    "    pulumi:pulumi:Stack ml-ci-images-prod running",
    " ~  mlci:images:ImageBuild nightly-cuda13.2-py3.12 update",
    "Resources:",
    "    ~ 2 to update",
    "    40 unchanged",
    "",
].join("\n");

function graphFiles(torch: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "preview-comment-"));
    const nodes = [
        { name: "base-cuda13.2-py3.12", parent: null, status: "unchanged", reason: null },
        { name: "nightly-cuda13.2-py3.12", parent: "base-cuda13.2-py3.12", status: "rebuilds-own-input", reason: `rebuilds: build arg TORCH_VERSION 2.9.0 → ${torch}` },
        { name: "rl-cuda13.2-py3.12", parent: "nightly-cuda13.2-py3.12", status: "rebuilds-cascade", reason: "rebuilds because its parent `nightly-cuda13.2-py3.12` rebuilds" },
    ];
    fs.writeFileSync(path.join(dir, "rebuild-graph.json"), JSON.stringify({ since: "abc123", nodes, edges: [], estimate: { builds: 2, waves: 2, minutesPerBuild: 30, minutes: 60 } }));
    fs.writeFileSync(path.join(dir, "rebuild-graph.mmd"), 'flowchart TD\n    n0["base-cuda13.2-py3.12<br/>unchanged"]:::unchanged\n');
    return dir;
}

describe("preview.yml's sticky comment", () => {
    it("the first run posts one comment; the next runs edit it, even when it is past the first page of comments", async () => {
        const others: FakeComment[] = Array.from({ length: 120 }, (_, i) => ({ id: i + 1, body: `review ${i}`, user: { login: "someone" } }));
        const { github, comments, calls } = fakeGithub(others);
        const { core, summaries } = fakeCore();
        await runWorkflowStep(github, core, { preview: PREVIEW, result: "success" }, graphFiles("2.10.0"));
        const mine = () => comments.filter((c) => c.body.includes(comment.MARKER));
        assert.equal(mine().length, 1);
        assert.deepEqual(calls, ["list page 1", "list page 2", "create"]);
        const first = mine()[0];
        assert.match(first.body, /build arg TORCH_VERSION 2\.9\.0 → 2\.10\.0/);

        calls.length = 0;
        await runWorkflowStep(github, core, { preview: PREVIEW, result: "failure" }, graphFiles("2.11.0"));
        await runWorkflowStep(github, core, { preview: PREVIEW, result: "success" }, graphFiles("2.12.0"));
        assert.equal(mine().length, 1, "updated, not appended");
        assert.equal(mine()[0].id, first.id);
        assert.deepEqual(calls, ["list page 1", "list page 2", `update ${first.id}`, "list page 1", "list page 2", `update ${first.id}`]);
        assert.match(mine()[0].body, /TORCH_VERSION 2\.9\.0 → 2\.12\.0/);
        assert.equal(comments.length, 121);
        assert.deepEqual(summaries.length, 3, "each run also writes the step summary");
        assert.equal(summaries[2], mine()[0].body);
    });

    it("never edits a comment someone else wrote, even one that quotes the marker", async () => {
        const quoted = { id: 7, body: `look: ${comment.MARKER}`, user: { login: "reviewer" } };
        const { github, comments, calls } = fakeGithub([quoted]);
        await runWorkflowStep(github, fakeCore().core, { preview: PREVIEW, result: "success" }, graphFiles("2.10.0"));
        assert.deepEqual(calls, ["list page 1", "create"]);
        assert.equal(comments[0].body, `look: ${comment.MARKER}`);
    });

    it("the body: graph, estimate, reasons and the preview's Resources summary; a missing graph is said, not hidden", () => {
        const body = comment.commentBody({
            mermaid: "flowchart TD\n    n0[\"a\"]\n",
            graph: JSON.parse(fs.readFileSync(path.join(graphFiles("2.10.0"), "rebuild-graph.json"), "utf8")),
            preview: PREVIEW,
            previewResult: "success",
        });
        assert.ok(body.startsWith(`${comment.MARKER}\n`));
        assert.match(body, /\*\*Rebuilds:\*\* 2 of 3 images \(1 for an input of their own, 1 because a parent rebuilds\) since `abc123`/);
        assert.match(body, /\*\*Estimated build time:\*\* ~60 min \(2 builds in 2 waves × 30 min per build, an assumption\)/);
        assert.match(body, /```mermaid\nflowchart TD\n {4}n0\["a"\]\n```/);
        assert.match(body, /- `rl-cuda13\.2-py3\.12`: rebuilds because its parent `nightly-cuda13\.2-py3\.12` rebuilds/);
        assert.match(body, /#### `pulumi preview` \(prod\): success\n\n```\nResources:\n {4}~ 2 to update\n {4}40 unchanged\n```/);
        const broken = comment.commentBody({ graphProblem: "rebuild-graph.json could not be read (ENOENT)", preview: "", previewResult: "failure" });
        assert.match(broken, /_The image graph could not be computed: rebuild-graph\.json could not be read \(ENOENT\)/);
        assert.match(broken, /_No preview output \(see the preview job's log\)\._/);
    });

    it("a preview output with backticks cannot close the fence, and the body stays under GitHub's 65,536 characters", () => {
        const huge = `${"x".repeat(200_000)}\n\`\`\`\nResources:\n    1 unchanged\n`;
        const body = comment.commentBody({ graph: { since: "a", nodes: [], estimate: { builds: 0, waves: 0, minutesPerBuild: 30, minutes: 0 } }, preview: huge, previewResult: "success" });
        assert.ok(body.length < 65_536, `${body.length}`);
        assert.match(body, /````\n[^]*```\nResources:/);
        assert.match(body, /Estimated build time:\*\* nothing to build/);
    });

    it("a fork's pull request: the graph goes to the step summary, no comment is posted or listed", async () => {
        const { github, calls } = fakeGithub();
        const { core, summaries } = fakeCore();
        await runWorkflowStep(github, core, { result: "skipped", post: false }, graphFiles("2.10.0"));
        assert.deepEqual(calls, []);
        assert.equal(summaries.length, 1);
        assert.match(summaries[0], /TORCH_VERSION 2\.9\.0 → 2\.10\.0/);
        assert.match(summaries[0], /_No preview output/);
    });

    it("reads a 300 KB preview output from the artifact file (no env var or job output carries it); the body stays whole: fences and <details> balanced, under 65,536", async () => {
        const big = `${Array.from({ length: 6000 }, (_, i) => ` ~ aws:ecr:Repository r${i} update \`x\` [diff: ~tags]`).join("\n")}\nResources:\n    ~ 6000 to update\n`;
        assert.ok(big.length > 300_000);
        const { github, comments } = fakeGithub();
        await runWorkflowStep(github, fakeCore().core, { preview: big, result: "success" }, graphFiles("2.10.0"));
        const body = comments[0].body;
        assert.ok(body.length < 65_536, `${body.length}`);
        assert.match(body, /Resources:\n {4}~ 6000 to update/);
        assert.match(body, /<details><summary>Full preview output<\/summary>\n\n`{3,}\n… \(first \d+ characters cut\)\n/);
        assertBalanced(body);
    });

    it("caps the reasons list (500 rebuilding images) and drops the drawing before cutting anything, keeping blocks whole", () => {
        const nodes = Array.from({ length: 500 }, (_, i) => ({ name: `img-${i}`, parent: null, status: "rebuilds-own-input", reason: `rebuilds: ${"r".repeat(1000)}` }));
        const mermaid = `flowchart TD\n${nodes.map((n, i) => `    n${i}["${n.name}<br/>${"x".repeat(55)}"]:::own`).join("\n")}\n`;
        assert.ok(mermaid.length < 45_000 && mermaid.length > 35_000, `${mermaid.length}`); // drawable alone, not with 500 reasons
        const body = comment.commentBody({ mermaid, graph: { since: "abc", nodes, estimate: { builds: 500, waves: 1, minutesPerBuild: 30, minutes: 30 } }, preview: PREVIEW, previewResult: "success" });
        assert.ok(body.length < 65_536, `${body.length}`);
        assert.match(body, /_The graph \(\d+ characters\) is too large to draw here with the rest of this comment/);
        assert.equal((body.match(/^- `img-\d+`: /gm) ?? []).length, 60);
        assert.match(body, /- … and 440 more/);
        assert.match(body, /: rebuilds: r{390}…\n/);
        assertBalanced(body);
    });
});

describe("preview.yml carries the preview's output as a file", () => {
    const wf = YAML.parse(fs.readFileSync(path.join(ROOT, ".github", "workflows", "preview.yml"), "utf8"));
    const text = fs.readFileSync(path.join(ROOT, ".github", "workflows", "preview.yml"), "utf8");

    it("no job output or env var holds it: the preview job tees to a file and uploads it, rebuild-graph downloads it (actions pinned by SHA)", () => {
        assert.equal(wf.jobs.preview.outputs, undefined);
        assert.doesNotMatch(text, /steps\.pulumi\.outputs|needs\.preview\.outputs/);
        const pulumi = wf.jobs.preview.steps.find((s: { id?: string }) => s.id === "pulumi");
        assert.match(pulumi.run, /\bpulumi preview --stack prod\b.*--policy-pack policy.*\| tee pulumi-preview\.txt$/);
        const up = wf.jobs.preview.steps.find((s: { uses?: string }) => s.uses?.startsWith("actions/upload-artifact@"));
        assert.match(up.uses, /^actions\/upload-artifact@[0-9a-f]{40}$/);
        assert.deepEqual([up.with.name, up.with.path], ["pulumi-preview", "pulumi-preview.txt"]);
        const down = wf.jobs["rebuild-graph"].steps.find((s: { uses?: string }) => s.uses?.startsWith("actions/download-artifact@"));
        assert.match(down.uses, /^actions\/download-artifact@[0-9a-f]{40}$/);
        assert.deepEqual([down.with.name, down.with.path], ["pulumi-preview", "preview-output"]);
        assert.match(wf.jobs["rebuild-graph"].steps.find((s: { uses?: string }) => s.uses?.startsWith("actions/github-script@")).with.script, /previewFile: "preview-output\/pulumi-preview\.txt"/);
    });

    it("runs on cli/ and .github/scripts/ changes; the graph runs for forks (only the comment is guarded) and is planned once", () => {
        for (const p of ["cli/**", ".github/scripts/**"]) assert.ok(wf.on.pull_request.paths.includes(p), p);
        const job = wf.jobs["rebuild-graph"];
        assert.equal(job.if, "${{ !cancelled() }}");
        const graphRuns = job.steps.map((s: { run?: string }) => s.run ?? "").join("\n");
        assert.equal((graphRuns.match(/--since/g) ?? []).length, 1, "one planning run");
        assert.match(graphRuns, /--from-json rebuild-graph\.json --format mermaid/);
        const post = job.steps.find((s: { uses?: string }) => s.uses?.startsWith("actions/github-script@"));
        assert.equal(post.env.POST_COMMENT, "${{ github.event.pull_request.head.repo.full_name == github.repository }}");
    });
});

/** Every code fence opened is closed by the same fence, and every <details> by </details>. */
function assertBalanced(body: string): void {
    const fences = body.match(/^`{3,}[a-z]*$/gm) ?? [];
    const stack: string[] = [];
    for (const f of fences) {
        const ticks = f.match(/^`+/)![0];
        if (stack.length > 0 && stack[stack.length - 1] === ticks && f === ticks) stack.pop();
        else stack.push(ticks);
    }
    assert.deepEqual(stack, [], "unclosed code fence");
    assert.equal((body.match(/<details>/g) ?? []).length, (body.match(/<\/details>/g) ?? []).length, "unbalanced <details>");
}
