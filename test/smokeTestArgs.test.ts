import { strict as assert } from "assert";
import { smokeTestArgs } from "../lib/images/smokeTest";

const image = (cell: { cuda?: string; python: string; label: string }, extra: Partial<Parameters<typeof smokeTestArgs>[0]> = {}) => ({
    cell,
    smokeImports: [],
    buildArgs: {},
    hashInputs: { rebuildEpoch: null } as never,
    ...extra,
});

describe("smokeTestArgs: the cell always comes from the plan", () => {
    it("a CUDA cell gets --python X.Y and --cuda X.Y (major.minor), whatever the ref looks like", () => {
        const args = smokeTestArgs(image({ cuda: "13.2.1", python: "3.13", label: "cuda13.2-py3.13" }), { gpu: false, sizeBudgetGb: 10 });
        assert.deepEqual(args.slice(0, 4), ["--python", "3.13", "--cuda", "13.2"]);
        assert.ok(!args.includes("--gpu"));
    });
    it("a CPU cell gets --python and --cuda none (a CPU-only torch is checked); --gpu only for CUDA cells", () => {
        const args = smokeTestArgs(image({ python: "3.12", label: "py3.12" }), { gpu: true, sizeBudgetGb: 8 });
        assert.deepEqual(args, ["--python", "3.12", "--cuda", "none", "--size-budget-gb", "8"]);
        assert.ok(smokeTestArgs(image({ cuda: "13.0.2", python: "3.12", label: "cuda13.0-py3.12" }), { gpu: true, sizeBudgetGb: 10 }).includes("--gpu"));
    });
});
