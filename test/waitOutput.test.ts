/**
 * A step that turns `ci-images wait` into a step output must fail when wait fails. Written as
 * `echo "ref=$(npx ci-images wait …)" >> $GITHUB_OUTPUT`, the substitution's exit status is lost: the
 * output is empty, `container.image` is empty, and GitHub runs the job on the host instead of in the image.
 * Every such step, in the workflows and in the docs' snippets, runs here in GitHub's shell
 * (test/workflowTriggers.ts githubShellArgv) with a fake `npx`: a failing wait and a wait that prints no
 * digest-pinned ref must fail the step and write no output; a good ref is written.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import YAML from "yaml";
import { objects, yamlSnippets } from "./docsSnippets.test";
import { githubShellArgv } from "./workflowTriggers";
import { WORKFLOW_DIR } from "./workflows.test";

interface WaitStep {
    where: string;
    step: { run: string; shell?: string };
}

/** Steps whose script writes the output of `ci-images wait` to $GITHUB_OUTPUT. */
function waitSteps(): WaitStep[] {
    const out: WaitStep[] = [];
    const collect = (where: string, doc: unknown) => {
        for (const o of objects(doc)) {
            if (typeof o.run === "string" && /ci-images wait\b/.test(o.run) && /GITHUB_OUTPUT/.test(o.run)) out.push({ where, step: o as WaitStep["step"] });
        }
    };
    for (const f of fs.readdirSync(WORKFLOW_DIR).filter((f) => /\.ya?ml$/.test(f))) collect(f, YAML.parse(fs.readFileSync(path.join(WORKFLOW_DIR, f), "utf8")));
    for (const s of yamlSnippets()) collect(`${s.file}:${s.line}`, YAML.parse(s.text));
    return out;
}

const REF = `123456789012.dkr.ecr.us-east-1.amazonaws.com/ml-ci/nightly:cuda13.2-py3.12-abc@sha256:${"a".repeat(64)}`;

/** Runs a step with `npx` faked to print `stdout` and exit `code`; returns the step's exit code and what it wrote to $GITHUB_OUTPUT. */
function runWithFakeWait(step: WaitStep["step"], stdout: string, code: number): { code: number | null; output: string; log: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlci-wait-"));
    try {
        fs.writeFileSync(path.join(dir, "npx"), `#!/bin/bash\n[ "$1 $2" = "ci-images wait" ] || { echo "unexpected npx $*" >&2; exit 2; }\nprintf '%s' '${stdout}'\necho "wait: not found" >&2\nexit ${code}\n`, { mode: 0o755 });
        const script = path.join(dir, "step.sh");
        fs.writeFileSync(script, step.run);
        const outFile = path.join(dir, "github_output");
        fs.writeFileSync(outFile, "");
        const [shell, ...args] = githubShellArgv(step).map((a) => (a === "{0}" ? script : a));
        const r = spawnSync(shell, args, { env: { PATH: `${dir}:${process.env.PATH}`, GITHUB_OUTPUT: outFile, IMAGE: "nightly-cuda13.2-py3.12" }, encoding: "utf8" });
        return { code: r.status, output: fs.readFileSync(outFile, "utf8"), log: r.stdout + r.stderr };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

describe("steps that write ci-images wait's ref to a step output", () => {
    const steps = waitSteps();

    it("exist in consumer-example.yml, docs/ci.md and docs/cli.md", () => {
        const where = steps.map((s) => s.where.replace(/:\d+$/, ""));
        for (const f of ["consumer-example.yml", "docs/ci.md", "docs/cli.md"]) assert.ok(where.includes(f), `${f}: ${where.join(", ")}`);
    });

    it("fail, writing no ref, when wait fails (exit 1, nothing printed)", () => {
        for (const { where, step } of steps) {
            const r = runWithFakeWait(step, "", 1);
            assert.notStrictEqual(r.code, 0, `${where}: the step passed with an empty ref: ${step.run}`);
            assert.doesNotMatch(r.output, /^ref=/m, `${where}: wrote ${r.output}`);
        }
    });

    it("fail when wait prints something that is not a digest-pinned ref", () => {
        for (const { where, step } of steps) {
            const r = runWithFakeWait(step, "nightly:cuda13.2-py3.12-latest", 0);
            assert.notStrictEqual(r.code, 0, `${where}: ${step.run}`);
            assert.doesNotMatch(r.output, /^ref=/m, where);
            assert.match(r.log, /no digest-pinned ref/, where);
        }
    });

    it("write the digest-pinned ref when wait finds it", () => {
        for (const { where, step } of steps) {
            const r = runWithFakeWait(step, REF, 0);
            assert.strictEqual(r.code, 0, `${where}: ${r.log}`);
            assert.strictEqual(r.output, `ref=${REF}\n`, where);
        }
    });
});
