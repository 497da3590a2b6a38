/**
 * #27 review, finding 9: a Command UPDATE (any input change that is not a trigger, e.g. the rotating registry
 * environment) runs the `update` command, and pulumi-command 1.2.1 sets `stdout` from it (local/commandOutputs.go).
 * A no-op `true` blanked the smoke test's stdout and with it the measured size. Every Command of the program now
 * re-prints the previous stdout, which pulumi-command passes as PULUMI_COMMAND_STDOUT (`addPreviousOutputInEnv`,
 * default true; @pulumi/command 1.2.1 local/command.d.ts). The update string is RUN here, with that variable.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import { compressedSizeFromSmokeTest } from "../components/images/imageBuild";
import { runProgram } from "./harness";

const SMOKE_STDOUT = "PASS import torch\nPASS size linux/amd64: compressed 7.25 GB (budget 12 GB)\nPASS size linux/arm64: compressed 6.50 GB (budget 12 GB)";

/** Runs a Command's `update` as pulumi-command's local provider does (`/bin/sh -c`), with the previous stdout in its environment. */
function runUpdate(update: string, previousStdout: string): string {
    const r = spawnSync("/bin/sh", ["-c", update], { env: { PATH: process.env.PATH, PULUMI_COMMAND_STDOUT: previousStdout, PULUMI_COMMAND_STDERR: "" }, encoding: "utf8" });
    assert.strictEqual(r.status, 0, r.stderr);
    return r.stdout;
}

describe("Command updates keep stdout (pulumi-command 1.2.1, PULUMI_COMMAND_STDOUT)", function () {
    this.timeout(120_000);

    it("every Command of the dev program (smoke tests and promotions) has an update that re-prints the previous stdout exactly", async () => {
        const run = await runProgram({ stack: "dev", env: { MLCI_REBUILD_EPOCH: "2026-11-22" } });
        const commands = run.byType("command:local:Command");
        assert.ok(commands.some((c) => c.name.includes("-smoke-test-")), "dev has smoke-test Commands");
        assert.ok(commands.some((c) => c.name.includes("-promote-")), "dev has promotion Commands");
        for (const c of commands) {
            const update = c.inputs.update as string;
            assert.strictEqual(runUpdate(update, SMOKE_STDOUT), SMOKE_STDOUT, `${c.name}: update ${update}`);
        }
    });

    it("so the size measured by the smoke test survives an update", () => {
        const before = compressedSizeFromSmokeTest(SMOKE_STDOUT);
        assert.ok(before !== undefined && before > 0);
        const run = "printf %s \"$PULUMI_COMMAND_STDOUT\"";
        assert.strictEqual(compressedSizeFromSmokeTest(runUpdate(run, SMOKE_STDOUT)), before);
        assert.strictEqual(compressedSizeFromSmokeTest(runUpdate("true", SMOKE_STDOUT)), undefined, "the old no-op update blanks it");
    });
});
