/**
 * GitHub runs a `run:` step without `shell:` as `bash -e {0}`: no pipefail, so `cmd | tee log` has tee's
 * status and a failed `cmd` passes. Every step that pipes into tee must get pipefail (`shell: bash`, which
 * is `bash --noprofile --norc -eo pipefail {0}`, or `set -o pipefail`). The model is
 * test/workflowTriggers.ts githubShellArgv; pr-images' publish step is also run with a failing fake npx.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { githubShellArgv, runsWithPipefail } from "./workflowTriggers";
import { jobNamed, readWorkflow, Step, WORKFLOW_DIR } from "./workflows.test";

const pipesIntoTee = (run: string) => /\|\s*tee\b/.test(run);

/** Runs a step's script in GitHub's shell for it, with `npx` faked to print a line and exit `code`. */
function runWithFakeNpx(step: Step, code: number): number | null {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlci-pipe-"));
    try {
        fs.writeFileSync(path.join(dir, "npx"), `#!/bin/sh\necho "publish: build failed"\nexit ${code}\n`, { mode: 0o755 });
        const script = path.join(dir, "step.sh");
        fs.writeFileSync(script, step.run!);
        const [shell, ...args] = githubShellArgv(step).map((a) => (a === "{0}" ? script : a));
        return spawnSync(shell, args, { env: { PATH: `${dir}:${process.env.PATH}`, RUNNER_TEMP: dir }, encoding: "utf8" }).status;
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

describe("a step that pipes into tee fails when the command before the pipe fails", () => {
    it("the shell model: no shell is bash -e without pipefail, shell: bash has it", () => {
        assert.strictEqual(runsWithPipefail({ run: "a | tee x" }), false);
        assert.strictEqual(runsWithPipefail({ run: "a | tee x", shell: "bash" }), true);
        assert.strictEqual(runsWithPipefail({ run: "set -o pipefail\na | tee x" }), true);
        assert.strictEqual(runsWithPipefail({ run: "a | tee x" }, { workflow: { run: { shell: "bash" } } }), true);
        assert.strictEqual(runWithFakeNpx({ run: "npx ci-images publish 2>&1 | tee log" }, 1), 0, "bash -e alone hides the failure (what the old step did)");
    });

    it("every workflow step that pipes into tee runs with pipefail", () => {
        let seen = 0;
        for (const file of fs.readdirSync(WORKFLOW_DIR).filter((f) => /\.ya?ml$/.test(f))) {
            const { doc } = readWorkflow(file);
            for (const [name, job] of Object.entries(doc.jobs ?? {}) as [string, { defaults?: unknown; steps?: Step[] }][]) {
                for (const step of job.steps ?? []) {
                    if (typeof step.run !== "string" || !pipesIntoTee(step.run)) continue;
                    seen++;
                    assert.ok(runsWithPipefail(step, { job: job.defaults, workflow: doc.defaults }), `${file} ${name}: "${step.run}" without pipefail`);
                }
            }
        }
        assert.ok(seen >= 1, "pr-images' publish step pipes into tee");
    });

    it("pr-images' publish step fails when publish fails, and passes when it passes", () => {
        const step = (jobNamed("pr-images.yml", Object.keys(readWorkflow("pr-images.yml").doc.jobs)[0]).steps ?? []).find((s) => /ci-images publish/.test(s.run ?? ""));
        assert.ok(step, "a publish step");
        assert.strictEqual(runWithFakeNpx(step, 1), 1);
        assert.strictEqual(runWithFakeNpx(step, 0), 0);
    });
});
