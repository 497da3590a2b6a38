/**
 * The workflow snippets in README.md and docs/*.md are copied into consumer repositories, so they are
 * held to the workflows' own rules: they parse, name ci-images commands and flags that exist, pass
 * values to scripts through env (never `${{ }}` inside `run:`), log in to ECR before `docker run`,
 * and give a job container its credentials. And docs/ci.md agrees with docs/pipelines.md and the
 * workflow files where they describe the same thing.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";
import { COMMANDS } from "../cli/commandSpecs";
import { parseCommandArgs } from "../cli/main";
import { readWorkflow } from "./workflows.test";

const ROOT = path.resolve(__dirname, "..");
const DOCS = ["README.md", ...fs.readdirSync(path.join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];

interface Snippet {
    file: string;
    line: number;
    text: string;
}

/** Every fenced ```yaml block of the docs, with the line it starts on. */
export function yamlSnippets(): Snippet[] {
    const out: Snippet[] = [];
    for (const file of DOCS) {
        const lines = fs.readFileSync(path.join(ROOT, file), "utf8").split("\n");
        for (let i = 0; i < lines.length; i++) {
            if (!/^```ya?ml\s*$/.test(lines[i])) continue;
            const end = lines.findIndex((l, j) => j > i && /^```\s*$/.test(l));
            assert.ok(end > i, `${file}:${i + 1}: unterminated yaml block`);
            out.push({ file, line: i + 1, text: lines.slice(i + 1, end).join("\n") });
            i = end;
        }
    }
    return out;
}

/** Every object in a parsed YAML value, depth first. */
export function objects(v: unknown, out: Record<string, unknown>[] = []): Record<string, unknown>[] {
    if (Array.isArray(v)) v.forEach((x) => objects(x, out));
    else if (v && typeof v === "object") {
        out.push(v as Record<string, unknown>);
        Object.values(v).forEach((x) => objects(x, out));
    }
    return out;
}

/** `ci-images <command> …` invocations in a shell script, split into words (quotes dropped; stops at a pipe, redirect, `)` or comment). */
function ciImagesCalls(script: string): string[][] {
    return [...script.matchAll(/(?:npx )?\bci-images ([^\n|;&)>`#]+)/g)].map((m) => (m[1].match(/"[^"]*"|'[^']*'|\S+/g) ?? []).map((w) => w.replace(/^["']|["']$/g, "")));
}

const isWorkflowSnippet = (doc: unknown) => objects(doc).some((o) => "run" in o || "uses" in o || "runs-on" in o);

describe("workflow snippets in the docs", () => {
    const snippets = yamlSnippets();
    const parsed = snippets.map((s) => ({ ...s, doc: YAML.parse(s.text) as unknown }));
    const workflowSnippets = parsed.filter((s) => isWorkflowSnippet(s.doc));

    it("every yaml block parses, and there are workflow snippets to check", () => {
        for (const s of snippets) {
            const doc = YAML.parseDocument(s.text);
            assert.deepStrictEqual(doc.errors.map((e) => e.message), [], `${s.file}:${s.line}`);
        }
        assert.ok(workflowSnippets.length >= 6, `${workflowSnippets.length} workflow snippets`);
    });

    it("never put ${{ }} inside run: (script injection); values reach scripts through env", () => {
        for (const s of workflowSnippets) {
            for (const o of objects(s.doc)) if (typeof o.run === "string") assert.doesNotMatch(o.run, /\$\{\{/, `${s.file}:${s.line}: ${o.run}`);
        }
    });

    it("name ci-images commands and flags that exist, with the right number of arguments", () => {
        let seen = 0;
        for (const s of workflowSnippets) {
            for (const o of objects(s.doc)) {
                if (typeof o.run !== "string") continue;
                for (const [name, ...args] of ciImagesCalls(o.run)) {
                    const spec = COMMANDS.find((c) => c.name === name);
                    assert.ok(spec, `${s.file}:${s.line}: ci-images ${name} is not a command`);
                    assert.doesNotThrow(() => parseCommandArgs(spec, args), `${s.file}:${s.line}: ci-images ${name} ${args.join(" ")}`);
                    seen++;
                }
            }
        }
        assert.ok(seen >= 4, `${seen} ci-images calls in snippets`);
    });

    it("log in to the registry before any docker run, and give a job container credentials", () => {
        for (const s of workflowSnippets) {
            const steps = objects(s.doc).filter((o) => typeof o.run === "string" || typeof o.uses === "string");
            let loggedIn = false;
            for (const step of steps) {
                const script = String(step.run ?? "");
                if (/docker login\b/.test(script) || String(step.uses ?? "").startsWith("aws-actions/amazon-ecr-login@")) loggedIn = true;
                if (/\bdocker run\b/.test(script)) assert.ok(loggedIn || /docker login\b[\s\S]*docker run/.test(script), `${s.file}:${s.line}: docker run without an ECR login before it`);
            }
            for (const o of objects(s.doc)) {
                const container = o.container as Record<string, unknown> | string | undefined;
                if (container === undefined) continue;
                assert.ok(typeof container === "object" && container.credentials, `${s.file}:${s.line}: a job container of a private registry needs container.credentials (it is pulled before any step runs)`);
            }
        }
    });

    it("read only the variables the program writes (or the state backend's URL)", () => {
        for (const s of workflowSnippets) {
            for (const m of s.text.matchAll(/\bvars\.([A-Za-z_][A-Za-z0-9_]*)/g)) assert.match(m[1], /^(CI_IMAGES?_[A-Z0-9_]+|PULUMI_BACKEND_URL)$/, `${s.file}:${s.line}: vars.${m[1]}`);
        }
    });
});

describe("docs/ci.md agrees with docs/pipelines.md and the workflows", () => {
    const ci = fs.readFileSync(path.join(ROOT, "docs", "ci.md"), "utf8");
    const pipelines = fs.readFileSync(path.join(ROOT, "docs", "pipelines.md"), "utf8");
    const weekly = readWorkflow("weekly-rebuild.yml").doc;

    it("state the weekly schedule's time as the cron does (02:17 UTC, not the seed's 02:00), and no time that no cron has", () => {
        const cronTime = (cron: string) => {
            const [minute, hour] = cron.split(" ");
            return `${hour.padStart(2, "0")}:${minute.padStart(2, "0")} UTC`;
        };
        const time = cronTime(String(weekly.on.schedule[0].cron));
        // Every scheduled workflow's time (lock-refresh and digest-bump have their own slots).
        const cronTimes = new Set(
            fs.readdirSync(path.join(ROOT, ".github", "workflows")).filter((f) => f.endsWith(".yml"))
                .flatMap((f) => ((readWorkflow(f).doc.on?.schedule ?? []) as { cron: string }[]).map((s) => cronTime(String(s.cron)))),
        );
        for (const [name, text] of [["docs/ci.md", ci], ["docs/pipelines.md", pipelines]]) {
            const times = [...text.matchAll(/\b(\d\d:\d\d) UTC\b/g)].map((m) => `${m[1]} UTC`).filter((t) => t !== "00:00 UTC"); // 00:00 is the epoch flip
            assert.ok(times.includes(time), `${name} does not state the weekly run's ${time}`);
            for (const t of times) assert.ok(cronTimes.has(t), `${name} states ${t}, which no workflow's cron has`);
        }
    });

    it("list the same workflows, and name the weekly run's push paths", () => {
        const tableFiles = (text: string) => new Set([...text.matchAll(/^\| `([\w-]+\.yml)` \|/gm)].map((m) => m[1]));
        assert.deepStrictEqual([...tableFiles(ci)].sort(), [...tableFiles(pipelines)].sort());
        for (const p of weekly.on.push.paths as string[]) {
            assert.ok(ci.includes(`\`${p}\``), `docs/ci.md does not name ${p}`);
            assert.ok(pipelines.includes(`\`${p}\``), `docs/pipelines.md does not name ${p}`);
        }
    });

    it("never tell admins to trust pull requests on the deploy role, and both name the preview role", () => {
        for (const line of ci.split("\n").filter((l) => /pullRequests: true/.test(l))) {
            assert.match(line, /Never `pullRequests: true`( or a branch subject)? on the deploy role/, line);
        }
        for (const text of [ci, pipelines]) {
            assert.match(text, /\*\*preview role\*\*/);
            assert.match(text, /CI_IMAGES_PREVIEW_ROLE_ARN/);
        }
    });
});
