import * as assert from "assert";
import { lifecyclePolicy, RetentionSettings } from "../lib/registry/lifecyclePolicy";
import { planStack } from "../lib/stackPlan";
import { expectedPushes, ForecastFamily, forecastFamiliesFromStack, forecastStorage, MAX_DEFAULT_FORECAST_WEEKS, replayHistory, storageBudgetProblems } from "../lib/registry/storageForecast";
import { catalogConfig, catalogFiles, clone, writeTree } from "./fixtures";

const START = "2026-11-22"; // a Sunday
const retention = (over: Partial<RetentionSettings> = {}): RetentionSettings => ({ datedTagDays: 7, keepHashBuilds: 20, untaggedDays: 1, protectedTagPatterns: ["release-*"], ...over });

function family(over: Partial<ForecastFamily> & { name: string }, r: RetentionSettings = retention()): ForecastFamily {
    const dateRebuilt = over.dateRebuilt ?? false;
    return { repository: `ml-ci/${over.name}`, cells: ["cuda13.2-py3.12"], platforms: ["linux/amd64"], sizeGb: 1, sizeSource: "estimate", dateRebuilt, policy: lifecyclePolicy(r, { datedTags: dateRebuilt }), ...over };
}

// Each expectation below is derived by hand from ECR's documented lifecycle rules for the
// history the forecast generates; the forecast computes it by replaying the simulator.
describe("storage forecast: known histories", () => {
    it("weekly content changes: the newest keepHashBuilds builds stay, nothing else", () => {
        const r = retention({ keepHashBuilds: 5 });
        const f = forecastStorage([family({ name: "stable", sizeGb: 2 }, r)], { start: START, weeks: 12, changeEveryWeeks: 1 });
        const repo = f.repositories[0];
        assert.deepStrictEqual([repo.steadyStateGb, repo.averageGb, repo.manifests, repo.growing], [10, 10, 5, false]);
        assert.strictEqual(repo.monthlyCostUsd, 1);
    });

    it("the nightly epoch: last week's dated build expires on the next epoch's evaluation (7 days 10 hours old)", () => {
        const f = forecastStorage([family({ name: "nightly", dateRebuilt: true, cells: ["cuda13.2-py3.12", "cuda13.2-py3.13"], sizeGb: 3 })], { start: START, weeks: 10 });
        assert.deepStrictEqual([f.repositories[0].steadyStateGb, f.repositories[0].manifests], [6, 2]);
    });

    it("datedTagDays 8 keeps two builds per cell for one day a week", () => {
        const f = forecastStorage([family({ name: "nightly", dateRebuilt: true, cells: ["cuda13.2-py3.12", "cuda13.2-py3.13"], sizeGb: 3 }, retention({ datedTagDays: 8 }))], { start: START, weeks: 10 });
        assert.strictEqual(f.repositories[0].steadyStateGb, 12);
        assert.strictEqual(f.repositories[0].averageGb, Math.round(((12 + 6 * 6) / 7) * 100) / 100);
    });

    it("a child of a date-rebuilt family is rebuilt weekly and fills keepHashBuilds", () => {
        const r = retention({ keepHashBuilds: 6 });
        const f = forecastStorage([family({ name: "nightly", dateRebuilt: true }, r), family({ name: "habitat", parent: "nightly", sizeGb: 4 }, r)], { start: START, weeks: 12 });
        const habitat = f.repositories.find((x) => x.family === "habitat")!;
        assert.deepStrictEqual([habitat.steadyStateGb, habitat.manifests], [24, 6]);
        assert.strictEqual(f.totalGb, 25);
    });

    it("multi-platform: an index holds its children; they go the day after the index expires", () => {
        const r = retention({ keepHashBuilds: 3 });
        const f = forecastStorage([family({ name: "cpu", cells: ["py3.12"], platforms: ["linux/amd64", "linux/arm64"], sizeGb: 1.5 }, r)], { start: START, weeks: 10, changeEveryWeeks: 1 });
        const repo = f.repositories[0];
        // 3 indexes × 2 children × 1.5 GB, plus on epoch day the expired index's 2 orphaned children.
        assert.strictEqual(repo.manifests, 9);
        assert.strictEqual(repo.steadyStateGb, 12);
        assert.strictEqual(repo.averageGb, Math.round(((12 + 6 * 9) / 7) * 100) / 100);
    });

    it("forced rebuilds are kept by their own count; the content build stays", () => {
        const r = retention({ keepHashBuilds: 3 });
        const f = forecastStorage([family({ name: "stable" }, r)], { start: START, weeks: 20, changeEveryWeeks: 100, forcedEveryWeeks: 2 });
        assert.deepStrictEqual([f.repositories[0].steadyStateGb, f.repositories[0].manifests], [4, 4]);
    });

    it("a replay too short to saturate keepHashBuilds says it is still growing", () => {
        const f = forecastStorage([family({ name: "stable" }, retention({ keepHashBuilds: 20 }))], { start: START, weeks: 10, changeEveryWeeks: 1 });
        assert.strictEqual(f.repositories[0].growing, true);
    });
});

describe("storage forecast: the history and the replay", () => {
    it("pushes the content tag, marker and dated tag on Sunday 02:00 UTC and moves -latest", () => {
        const pushes = expectedPushes([family({ name: "nightly", dateRebuilt: true })], { start: START, weeks: 2 });
        assert.deepStrictEqual(
            pushes.map((p) => [p.at.toISOString(), p.tags.map((t) => t.replace(/[0-9a-f]{12}$/, "<hex>")), p.movingTag]),
            [
                ["2026-11-22T02:00:00.000Z", ["cuda13.2-py3.12-h<hex>", "cuda13.2-py3.12-ok<hex>", "cuda13.2-py3.12-20261122"], "cuda13.2-py3.12-latest"],
                ["2026-11-29T02:00:00.000Z", ["cuda13.2-py3.12-h<hex>", "cuda13.2-py3.12-ok<hex>", "cuda13.2-py3.12-20261129"], "cuda13.2-py3.12-latest"],
            ],
        );
    });

    it("replayHistory: -latest moves, and the tagless old build goes after untaggedDays", () => {
        // A hand-made history outside the generator: a build tagged only -latest is superseded.
        const policy = lifecyclePolicy(retention());
        const at = (d: number) => new Date(Date.parse(`${START}T02:00:00Z`) + d * 86400000);
        const { stored, dailyGb } = replayHistory(
            new Map([["r", policy]]),
            [
                { at: at(0), repository: "r", cell: "py3.12", tags: [], movingTag: "py3.12-latest", platformSizesGb: [1], seed: "a" },
                { at: at(2), repository: "r", cell: "py3.12", tags: [], movingTag: "py3.12-latest", platformSizesGb: [1], seed: "b" },
            ],
            new Date(`${START}T00:00:00Z`),
            5,
        );
        // Day 2: a loses -latest (untagged, pushed 2.4 days ago > 1 day) and expires at once.
        assert.deepStrictEqual(dailyGb.get("r"), [1, 1, 1, 1, 1]);
        assert.deepStrictEqual(stored.get("r")!.map((i) => i.tags), [["py3.12-latest"]]);
    });

    it("refuses a start that is not a Sunday", () => {
        assert.throws(() => expectedPushes([family({ name: "x" })], { start: "2026-11-23" }), /not a Sunday/);
    });
});

describe("storage budget", () => {
    it("over the budget: a registry.storageBudgetGb problem naming the biggest repositories and the fix", () => {
        const r = retention({ keepHashBuilds: 6 });
        const f = forecastStorage([family({ name: "nightly", dateRebuilt: true }, r), family({ name: "habitat", parent: "nightly", sizeGb: 4 }, r)], { start: START, weeks: 12 });
        assert.deepStrictEqual(storageBudgetProblems(f, 25), []);
        const [p] = storageBudgetProblems(f, 20);
        assert.strictEqual(p.path, "registry.storageBudgetGb");
        assert.strictEqual(p.message, "the storage forecast is 25 GB (ml-ci/habitat 24 GB, ml-ci/nightly 1 GB), over the budget of 20 GB");
        assert.match(p.fix!, /keepHashBuilds/);
        assert.deepStrictEqual(storageBudgetProblems(f, undefined), []);
    });
});

describe("storage forecast: from a stack config", () => {
    async function stackFamilies(mutate: (raw: any) => void = () => {}, measured: Record<string, number> = {}) {
        const raw = clone(catalogConfig()) as any;
        mutate(raw);
        const { config } = await planStack(raw, { projectRoot: writeTree(catalogFiles()), env: {}, useHashCache: false });
        return forecastFamiliesFromStack(config, measured);
    }

    it("sizes: measured first, then families.<f>.sizeEstimateGb, then the smoke test's size budget", async () => {
        const families = await stackFamilies((r) => (r.families.nightly.sizeEstimateGb = 7.5), { base: 3.2 });
        assert.deepStrictEqual(
            families.map((f) => [f.name, f.sizeGb, f.sizeSource]),
            [["base", 3.2, "measured"], ["nightly", 7.5, "estimate"], ["habitat", 10, "size budget"], ["cpu", 10, "size budget"]],
        );
    });

    it("cells, platforms, parents and the repository's own lifecycle policy come from the config", async () => {
        const families = await stackFamilies();
        const cpu = families.find((f) => f.name === "cpu")!;
        assert.deepStrictEqual([cpu.repository, cpu.cells, cpu.platforms], ["ml-ci/cpu", ["py3.10", "py3.11"], ["linux/amd64", "linux/arm64"]]);
        const nightly = families.find((f) => f.name === "nightly")!;
        assert.ok(nightly.policy.rules.some((r) => r.selection.tagPatternList?.includes("*-20*")), "the nightly repository expires dated tags");
        assert.strictEqual(families.find((f) => f.name === "habitat")!.parent, "nightly");
    });

    it("without weeks, the replay grows until no repository is still growing", async () => {
        // cpu changes every 4 weeks with 2 cells: 40 content builds per repository take 80 weeks.
        const families = await stackFamilies((r) => (r.registry.retention = { keepHashBuilds: 40 }));
        const f = forecastStorage(families, { start: START });
        assert.ok(f.weeks > 52 && f.weeks <= MAX_DEFAULT_FORECAST_WEEKS, `replayed ${f.weeks} weeks`);
        assert.ok(f.repositories.every((r) => !r.growing), JSON.stringify(f.repositories));
    });
});
