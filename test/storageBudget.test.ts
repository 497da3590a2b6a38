import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { lifecyclePolicy, RetentionSettings } from "../lib/registry/lifecyclePolicy";
import { forecastFamiliesFromStack, forecastStorage, ForecastFamily } from "../lib/registry/storageForecast";
import { planStackFile } from "../lib/stackPlan";
import { runCli } from "./cliContext";
import { projectCopy } from "./fixtures";

const ROOT = path.resolve(__dirname, "..");
const START = "2026-11-22";
const retention = (keepHashBuilds: number): RetentionSettings => ({ datedTagDays: 7, keepHashBuilds, untaggedDays: 1, protectedTagPatterns: ["release-*"] });


describe("storage forecast: a layer is stored once per repository (ECR)", () => {
    const root = (over: Partial<ForecastFamily>): ForecastFamily => ({
        name: "base",
        repository: "ml-ci/base",
        cells: ["cuda13.2-py3.12"],
        platforms: ["linux/amd64"],
        sizeGb: 3,
        sizeSource: "measured",
        dateRebuilt: false,
        policy: lifecyclePolicy(retention(3), { datedTags: false }),
        ...over,
    });

    it("builds of a root share its upstream layers: 3 kept builds of 3 GB with 2 GB shared store 2 + 3 × 1 GB", () => {
        const shared = forecastStorage([root({ sharedGb: 2 })], { start: START, weeks: 12, changeEveryWeeks: 1 });
        assert.equal(shared.repositories[0].steadyStateGb, 5);
        const full = forecastStorage([root({})], { start: START, weeks: 12, changeEveryWeeks: 1 });
        assert.equal(full.repositories[0].steadyStateGb, 9, "without sharedGb every manifest counts in full");
    });

    it("a child's builds share their parent's layers while the parent is unchanged", () => {
        const base = root({ sharedGb: 0, policy: lifecyclePolicy(retention(3), { datedTags: false }) });
        const stable = root({ name: "stable", repository: "ml-ci/stable", parent: "base", sizeGb: 8, sharedGb: 0, policy: lifecyclePolicy(retention(3), { datedTags: false }) });
        // base changes every 4 weeks, stable (own content) too, staggered: stable builds sit on 1-2 base builds.
        const f = forecastStorage([base, stable], { start: START, weeks: 24, changeEveryWeeks: 4 });
        const repo = f.repositories.find((r) => r.family === "stable")!;
        assert.ok(repo.steadyStateGb < 3 * 8, `${repo.steadyStateGb} GB: below the 24 GB of three full manifests`);
        assert.ok(repo.steadyStateGb >= 3 * 5 + 3, `${repo.steadyStateGb} GB: at least three own layer sets and one base`);
    });
});

describe("prod's storage budget (the users' target: under 100 GB)", () => {
    it("prod sets storageBudgetGb 100 and per-family budgets from the seed (base 3 GB, nightly 8 GB, no image over 10 GB)", async () => {
        const { config } = await planStackFile(ROOT, "prod", { useHashCache: false });
        assert.equal(config.registry.storageBudgetGb, 100);
        const byName = Object.fromEntries(config.families.map((f) => [f.name, f]));
        assert.equal(byName.base.sizeEstimateGb, 3);
        assert.equal(byName.nightly.sizeEstimateGb, 8);
        for (const f of config.families) assert.ok((f.sizeBudgetGb ?? 10) <= 10, `${f.name}: no image over 10 GB`);
        const families = forecastFamiliesFromStack(config);
        const keep = (name: string) => families.find((f) => f.name === name)!.policy.rules.find((r) => r.selection.tagPatternList?.some((p) => p.includes("-h")) && r.selection.countType === "imageCountMoreThan")?.selection.countNumber;
        assert.equal(keep("habitat"), 1, "habitat (one cell) keeps its newest build");
        assert.equal(keep("base"), 4, "the 4-cell families keep one build per cell");
    });

    it("ci-images check --stack prod passes: the forecast is within 100 GB", async () => {
        const r = await runCli(["storage", "--stack", "prod", "--json"], { cwd: projectCopy("mlci-storage-") });
        assert.equal(r.code, 0, r.stderr);
        const forecast = JSON.parse(r.stdout);
        assert.ok(forecast.totalGb <= 100, `${forecast.totalGb} GB`);
        const check = await runCli(["check", "--stack", "prod"], { cwd: projectCopy("mlci-storage-") });
        assert.equal(check.code, 0, check.stderr);
    });

    it("a change that would exceed it (keepHashBuilds 30, as prod had) fails check with the budget problem", async () => {
        const dir = projectCopy("mlci-storage-");
        const file = path.join(dir, "Pulumi.prod.yaml");
        fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace(/keepHashBuilds: 4\n/, "keepHashBuilds: 30\n"));
        const r = await runCli(["check", "--stack", "prod"], { cwd: dir });
        assert.equal(r.code, 1);
        assert.match(r.stderr, /config mlci:registry\.storageBudgetGb: the storage forecast is \d+(\.\d+)? GB \(.*\), over the budget of 100 GB\. Fix: /);
    });

    it("a family's own keepHashBuilds below its cells fails validation with its path", async () => {
        const dir = projectCopy("mlci-storage-");
        const file = path.join(dir, "Pulumi.prod.yaml");
        fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace(/      sizeEstimateGb: 8\n      sizeBudgetGb: 9\n/, "      sizeEstimateGb: 8\n      sizeBudgetGb: 9\n      keepHashBuilds: 2\n"));
        const r = await runCli(["check", "--stack", "prod"], { cwd: dir });
        assert.equal(r.code, 1);
        assert.match(r.stderr, /config mlci:families\.nightly\.keepHashBuilds: 2 is fewer than the 4 matrix cells of family "nightly"\. Fix: set it to at least 4/);
    });
});
