/**
 * pulumi-command 1.2.1 (`local/commandOutputs.go`): a change of `triggers` replaces the Command (its `create` runs and
 * sets `stdout`); any other input change is an UPDATE, which runs the `update` command and sets `stdout` from it. The
 * smoke test's `update` is a no-op (`true`), so an update would blank `stdout`, and with it `sizeBytes` and
 * `totalStorageBytes`. Every flag of the smoke test must therefore be a trigger (#27, from the providers' trackers).
 */
import * as assert from "assert";
import { RecordedResource, runProgram } from "./harness";

/** What pulumi-command 1.2.1 does to a Command's stdout when its inputs go from `before` to `after`. */
function stdoutAfterUp(before: Record<string, any>, after: Record<string, any>, createStdout: string): string {
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    if (!same(before.triggers, after.triggers)) return createStdout; // replaced: create runs
    if (!same(before.create, after.create)) return after.update === "true" ? "" : `(output of ${after.update})`; // update runs
    return createStdout; // no change: the stored stdout stays
}

describe("smoke-test Commands: a changed flag re-runs the test instead of blanking its output (pulumi-command 1.2.1)", function () {
    this.timeout(120_000);
    const smokeOf = async (overrides: Record<string, unknown>) => {
        const run = await runProgram({ stack: "dev", overrides, env: { MLCI_REBUILD_EPOCH: "2026-11-22" } });
        return new Map<string, RecordedResource>(run.byType("command:local:Command").filter((c) => c.name.includes("-smoke-test-")).map((c) => [c.name, c]));
    };

    for (const [what, change] of [["the size budget", { build: { smokeTest: { sizeBudgetGb: 12 } } }], ["--gpu", { build: { smokeTest: { gpu: true } } }]] as const) {
        it(`${what}: the same Command (same name) is replaced, so stdout keeps the size the new run measured`, async () => {
            const before = await smokeOf({});
            const after = await smokeOf(change);
            let compared = 0;
            for (const [name, b] of before) {
                const a = after.get(name);
                if (a === undefined || a.inputs.create === b.inputs.create) continue;
                compared++;
                assert.notStrictEqual(stdoutAfterUp(b.inputs, a.inputs, "PASS size linux/amd64: compressed 4.20 GB"), "", `${name}: the update would blank stdout`);
            }
            assert.ok(compared > 0, "the change reaches at least one smoke test under the same name");
        });
    }
});
