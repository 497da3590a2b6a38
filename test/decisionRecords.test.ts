import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";

const DIR = path.resolve(__dirname, "..", "docs", "decisions");
/** The four sections every record has, in this order. */
const SECTIONS = ["Context", "Decision", "Consequences", "Revisit when"] as const;
/** "Under a page". */
const MAX_LINES = 60;
const RECORD_FILE = /^(\d{4})-[a-z0-9]+(?:-[a-z0-9]+)*\.md$/;

/** What is wrong with one record (file name and text); empty when it is well-formed. */
function recordProblems(file: string, text: string): string[] {
    const problems: string[] = [];
    const number = RECORD_FILE.exec(file)?.[1];
    if (number === undefined) return [`${file}: name must be NNNN-short-title.md`];
    const lines = text.replace(/\n$/, "").split("\n");
    if (lines.length > MAX_LINES) problems.push(`${file}: ${lines.length} lines, over the ${MAX_LINES}-line page`);
    if (!new RegExp(`^# ${number}\\. \\S`).test(lines[0] ?? "")) problems.push(`${file}: first line must be "# ${number}. <title>"`);
    const headings = lines.filter((l) => /^## /.test(l)).map((l) => l.slice(3).trim());
    const found = SECTIONS.map((s) => headings.findIndex((h) => h === s || (s === "Revisit when" && /^Revisit when(…|\.\.\.)?$/.test(h))));
    SECTIONS.forEach((s, i) => {
        if (found[i] < 0) problems.push(`${file}: missing section "## ${s}${s === "Revisit when" ? "…" : ""}"`);
    });
    const present = found.filter((i) => i >= 0);
    if (present.some((v, i) => i > 0 && v < present[i - 1])) problems.push(`${file}: sections must come in the order ${SECTIONS.join(", ")}`);
    for (const [i, s] of SECTIONS.entries()) {
        if (found[i] < 0) continue;
        const start = lines.indexOf(lines.find((l) => l.startsWith(`## ${s}`))!);
        const next = lines.findIndex((l, j) => j > start && /^## /.test(l));
        const body = lines.slice(start + 1, next < 0 ? undefined : next).join("\n").trim();
        if (body === "") problems.push(`${file}: section "${s}" is empty`);
    }
    return problems;
}

function recordFiles(): string[] {
    return fs.readdirSync(DIR).filter((f) => f.endsWith(".md") && f !== "README.md").sort();
}

describe("decision records: every record keeps its shape", function () {
    it("the checker rejects a record with a missing section, a wrong order, an empty section or too many lines", () => {
        const good = ["# 0042. A choice", "", "## Context", "x", "## Decision", "x", "## Consequences", "x", "## Revisit when…", "x"].join("\n");
        assert.deepEqual(recordProblems("0042-a-choice.md", good), []);
        assert.match(recordProblems("0042-a-choice.md", good.replace("## Consequences", "## Outcome")).join("\n"), /missing section "## Consequences"/);
        assert.match(recordProblems("0042-a-choice.md", good.replace("## Context\nx\n## Decision", "## Decision\nx\n## Context")).join("\n"), /order/);
        assert.match(recordProblems("0042-a-choice.md", good.replace("## Decision\nx", "## Decision\n ")).join("\n"), /"Decision" is empty/);
        assert.match(recordProblems("0042-a-choice.md", good + "\n".repeat(MAX_LINES) + "end").join("\n"), /over the 60-line page/);
        assert.match(recordProblems("Decisions.md", good).join("\n"), /NNNN-short-title/);
    });

    for (const file of recordFiles()) {
        it(`${file}: Context, Decision, Consequences, Revisit when…, each non-empty, in order, at most ${MAX_LINES} lines`, () => {
            assert.deepEqual(recordProblems(file, fs.readFileSync(path.join(DIR, file), "utf8")), []);
        });
    }

    it("record numbers are unique, start at 0000 (the template) and have no gaps", () => {
        const numbers = recordFiles().map((f) => Number(RECORD_FILE.exec(f)?.[1] ?? NaN));
        assert.deepEqual(numbers, numbers.map((_, i) => i), `records: ${recordFiles().join(", ")}`);
    });
});

describe("decision records: the index", function () {
    const index = fs.readFileSync(path.join(DIR, "README.md"), "utf8");
    const linked = [...index.matchAll(/\]\(([^)\s]+\.md)\)/g)].map((m) => m[1]);

    it("links every record file, the template included", () => {
        const missing = recordFiles().filter((f) => !linked.includes(f));
        assert.deepEqual(missing, [], "add these to docs/decisions/README.md");
    });

    it("links no record that does not exist", () => {
        const dangling = linked.filter((f) => !fs.existsSync(path.join(DIR, f)));
        assert.deepEqual(dangling, []);
    });

    it("states the rule that a later change of a choice updates its record", () => {
        assert.match(index, /each later change of one of these choices updates its record/i);
    });
});
