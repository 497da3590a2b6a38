import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runStorage } from "../cli/commands/storage";
import { cacheOnlyGb, largestImageGb, RepositoryMeasurement } from "../lib/registry/layerStorage";
import { lifecyclePolicy } from "../lib/registry/lifecyclePolicy";
import { forecastStorage, ForecastFamily } from "../lib/registry/storageForecast";
import { planStackFile } from "../lib/stackPlan";
import { PassThrough } from "stream";
import { runCli } from "./cliContext";
import { projectCopy } from "./fixtures";

const ROOT = path.resolve(__dirname, "..");


describe("storage: cache-<cell> refs are layer groups of their own", () => {
    const family = (over: Partial<ForecastFamily>): ForecastFamily => ({
        name: "base",
        repository: "ml-ci/base",
        cells: ["cuda13.2-py3.12", "cuda13.2-py3.13"],
        platforms: ["linux/amd64"],
        sizeGb: 3,
        sharedGb: 2,
        sizeSource: "measured",
        dateRebuilt: false,
        policy: lifecyclePolicy({ datedTagDays: 7, keepHashBuilds: 2, untaggedDays: 1, protectedTagPatterns: [] }, { datedTags: false }),
        ...over,
    });
    it("each cell's cache manifest is stored and its build-stage layers (mode=max) add to the repository; its image layers are the build's, stored once", () => {
        const opts = { start: "2026-11-22", weeks: 12, changeEveryWeeks: 1 };
        const none = forecastStorage([family({})], opts).repositories[0];
        const cached = forecastStorage([family({ cache: { cacheStagesGb: 0 } })], opts).repositories[0];
        const stages = forecastStorage([family({ cache: { cacheStagesGb: 1.5 } })], opts).repositories[0];
        assert.equal(cached.steadyStateGb, none.steadyStateGb, "the cache's image layers are the build's own blobs");
        assert.equal(cached.manifests, none.manifests + 2, "one cache-<cell> manifest per cell");
        // 2 cells × 1.5 GB of stages, plus the superseded cache of the day of a push (untagged, 1 day)
        assert.ok(stages.steadyStateGb >= none.steadyStateGb + 3, `${stages.steadyStateGb} vs ${none.steadyStateGb}`);
    });
    it("the measurement tells the cache-only blobs apart, and a cache manifest is not the largest image", () => {
        const m: RepositoryMeasurement = {
            repository: "ml-ci/nightly",
            manifests: [
                { digest: "sha256:i", tags: ["cuda13.2-py3.12-0123456789ab"], platform: "linux/amd64", blobs: new Map([["l1", 2e9], ["l2", 1e9]]) },
                { digest: "sha256:c", tags: ["cache-cuda13.2-py3.12"], platform: "linux/amd64", blobs: new Map([["l1", 2e9], ["l2", 1e9], ["builder", 0.5e9]]) },
            ],
            blobs: new Map([["l1", 2e9], ["l2", 1e9], ["builder", 0.5e9]]),
            storedBytes: 3.5e9,
            manifestBytes: 6.5e9,
        };
        assert.equal(cacheOnlyGb(m), 0.5);
        assert.equal(largestImageGb(m), 3);
    });
});

describe("check reads the recorded measurements (storage-measurements/<stack>.json)", () => {
    it("without a measurement, check --stack prod forecasts from the estimates and passes", async () => {
        const r = await runCli(["check", "--stack", "prod"], { cwd: projectCopy("mlci-measured-") });
        assert.equal(r.code, 0, r.stderr);
    });
    it("measured sizes above the estimates make check fail the budget, so the estimates cannot hide a real image", async () => {
        const dir = projectCopy("mlci-measured-");
        fs.mkdirSync(path.join(dir, "storage-measurements"));
        const families = { base: { sizeGb: 3 }, nightly: { sizeGb: 12, cacheStagesGb: 0.2 }, stable: { sizeGb: 12 }, habitat: { sizeGb: 13, cacheStagesGb: 3 }, cpu: { sizeGb: 2 } };
        fs.writeFileSync(path.join(dir, "storage-measurements", "prod.json"), JSON.stringify({ stack: "prod", measuredAt: "2026-12-06T05:00:00Z", families }));
        const r = await runCli(["check", "--stack", "prod"], { cwd: dir });
        assert.equal(r.code, 1, r.stdout);
        assert.match(r.stderr, /config mlci:registry\.storageBudgetGb: the storage forecast is \d+(\.\d+)? GB .*over the budget of 100 GB/);
    });
    it("a malformed measurement is one line naming the file and the fix", async () => {
        const dir = projectCopy("mlci-measured-");
        fs.mkdirSync(path.join(dir, "storage-measurements"));
        fs.writeFileSync(path.join(dir, "storage-measurements", "prod.json"), JSON.stringify({ stack: "prod", families: { base: { sizeGb: -1 } } }));
        const r = await runCli(["check", "--stack", "prod"], { cwd: dir });
        assert.notEqual(r.code, 0);
        assert.match(r.stderr, /storage-measurements\/prod\.json: families\.base\.sizeGb must be a positive number\. Fix: regenerate it with npx ci-images storage --measure --stack prod --write-measurements storage-measurements\/prod\.json/);
        assert.ok(!/\n\s+at /.test(r.stderr), "no stack trace");
    });
    it("storage --measure --write-measurements records what check then reads", async () => {
        const { config } = await planStackFile(ROOT, "dev", { useHashCache: false });
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "mlci-m-")), "dev.json");
        const measured: RepositoryMeasurement[] = [
            {
                repository: "ml-ci-dev/nightly",
                manifests: [
                    { digest: "sha256:i", tags: ["cuda13.2-py3.12-0123456789ab"], platform: "linux/amd64", blobs: new Map([["l1", 6e9]]) },
                    { digest: "sha256:c", tags: ["cache-cuda13.2-py3.12"], platform: "linux/amd64", blobs: new Map([["l1", 6e9], ["b", 1e9]]) },
                ],
                blobs: new Map([["l1", 6e9], ["b", 1e9]]),
                storedBytes: 7e9,
                manifestBytes: 13e9,
            },
        ];
        runStorage(config, "dev", { measured, writeMeasurements: file }, new PassThrough(), new Date("2026-12-07T00:00:00Z"));
        assert.deepEqual(JSON.parse(fs.readFileSync(file, "utf8")), { stack: "dev", measuredAt: "2026-12-07T00:00:00.000Z", families: { nightly: { sizeGb: 6, cacheStagesGb: 1 } } });
    });
});
