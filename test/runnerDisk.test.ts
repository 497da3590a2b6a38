/**
 * The disk one run needs on the machine that builds (lib/images/runnerDisk.ts) and `ci-images disk`,
 * which the weekly workflow runs before it builds on a GitHub-hosted runner.
 */
import * as assert from "assert";
import { planBuilds, PlanImage } from "../lib/images/buildPlan";
import { BUILDKIT_KEEP_GB, FIXED_ALLOWANCE_GB, runnerDiskNeed, UNCOMPRESSED_RATIO } from "../lib/images/runnerDisk";
import { cliFixtureProject, runCli } from "./cliContext";

const IMAGES: PlanImage[] = [
    { name: "base-a", family: "base", platforms: ["linux/amd64"] },
    { name: "nightly-a", family: "nightly", platforms: ["linux/amd64"], parent: "base-a" },
    { name: "nightly-b", family: "nightly", platforms: ["linux/amd64"], parent: "base-a" },
    { name: "cpu-a", family: "cpu", platforms: ["linux/amd64", "linux/arm64"] },
];
const BUDGETS: Record<string, number> = { "base-a": 4, "nightly-a": 10, "nightly-b": 10, "cpu-a": 2 };

describe("runner disk: what one run needs (pure)", () => {
    it("is the largest wave's builds and smoke-test pulls, uncompressed, plus the BuildKit cache bound and a fixed allowance", () => {
        const plan = planBuilds(IMAGES, []); // the engine's default builder: unbounded waves, parents first
        const need = runnerDiskNeed({ plan, builders: [], sizeBudgetGb: (n) => BUDGETS[n] });
        // wave 0: base-a + cpu-a (6 GB compressed); wave 1: nightly-a + nightly-b (20 GB).
        assert.deepStrictEqual([need.peakWave, need.peakImages.sort()], [1, ["nightly-a", "nightly-b"]]);
        assert.strictEqual(need.buildGb, 20 * UNCOMPRESSED_RATIO);
        assert.strictEqual(need.smokeTestGb, 20 * UNCOMPRESSED_RATIO);
        assert.strictEqual(need.totalGb, FIXED_ALLOWANCE_GB + BUILDKIT_KEEP_GB + 40 * UNCOMPRESSED_RATIO);
    });

    it("a builder with one slot runs one build at a time, so the need shrinks to the largest single image", () => {
        const plan = planBuilds(IMAGES, [{ name: "local", driver: "docker-container", platforms: ["linux/amd64", "linux/arm64"], maxParallel: 1 }]);
        const need = runnerDiskNeed({ plan, builders: [{ name: "local", driver: "docker-container" }], sizeBudgetGb: (n) => BUDGETS[n] });
        assert.strictEqual(need.totalGb, FIXED_ALLOWANCE_GB + BUILDKIT_KEEP_GB + 2 * 10 * UNCOMPRESSED_RATIO);
    });

    it("remote builders keep the builds off the runner: only the smoke tests' pulls count; without smoke tests, nothing", () => {
        const builders = [{ name: "fleet", driver: "remote" as const, endpoint: "tcp://bk:1234", platforms: ["linux/amd64", "linux/arm64"], maxParallel: 8 }];
        const plan = planBuilds(IMAGES, builders);
        const need = runnerDiskNeed({ plan, builders, sizeBudgetGb: (n) => BUDGETS[n] });
        assert.strictEqual(need.buildGb, 0);
        assert.strictEqual(need.smokeTestGb, 20 * UNCOMPRESSED_RATIO);
        const none = runnerDiskNeed({ plan, builders, sizeBudgetGb: (n) => BUDGETS[n], smokeTest: false });
        assert.strictEqual(none.totalGb, FIXED_ALLOWANCE_GB + BUILDKIT_KEEP_GB);
    });
});

describe("ci-images disk", () => {
    it("prints the need; with --free-gb below it exits 1 naming the figure and the runner variable", async () => {
        const root = cliFixtureProject();
        const json = await runCli(["disk", "--stack", "ci", "--root", root, "--json"]);
        assert.strictEqual(json.code, 0, json.stderr);
        const need = JSON.parse(json.stdout).totalGb as number;
        assert.ok(need > FIXED_ALLOWANCE_GB + BUILDKIT_KEEP_GB, String(need));
        const enough = await runCli(["disk", "--stack", "ci", "--root", root, "--free-gb", String(need)]);
        assert.strictEqual(enough.code, 0, enough.stderr);
        assert.match(enough.stdout, new RegExp(`^stack ci: a run that builds every image needs ${need} GB`));
        const short = await runCli(["disk", "--stack", "ci", "--root", root, "--free-gb", "14"]);
        assert.strictEqual(short.code, 1);
        assert.match(short.stderr, new RegExp(`stack ci needs ${need} GB of disk for a run that builds every image; this machine has 14 GB free\\. Fix: set the repository variable CI_IMAGES_RUNNER to a runner label with at least ${need} GB free`));
        const bad = await runCli(["disk", "--stack", "ci", "--root", root, "--free-gb", "lots"]);
        assert.strictEqual(bad.code, 2);
    });
});
