import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PassThrough } from "stream";
import { planStack } from "../lib/stackPlan";
import { measuredGbFromOutputs, runStorage, storageCheckProblems, storageForecastFor } from "../cli/commands/storage";
import { catalogConfig, catalogFiles, clone, writeTree } from "./fixtures";

const NOW = new Date("2026-11-25T09:00:00Z"); // a Wednesday: the replay starts on Sunday 2026-11-22

async function config(mutate: (raw: any) => void = () => {}) {
    const raw = clone(catalogConfig()) as any;
    raw.families.base.sizeEstimateGb = 2;
    raw.families.nightly.sizeEstimateGb = 3;
    raw.families.habitat.sizeEstimateGb = 4;
    raw.families.cpu.sizeEstimateGb = 1;
    raw.registry.retention = { keepHashBuilds: 8 };
    mutate(raw);
    return (await planStack(raw, { projectRoot: writeTree(catalogFiles()), env: {}, useHashCache: false, now: NOW })).config;
}

function capture() {
    const out = new PassThrough();
    let text = "";
    out.on("data", (d) => (text += d));
    return { out, text: () => text };
}

describe("ci-images storage", () => {
    it("prints the forecast per repository, the total, the monthly cost and the budget verdict", async () => {
        const cfg = await config((r) => (r.registry.storageBudgetGb = 1000));
        const io = capture();
        assert.strictEqual(runStorage(cfg, "dev", { weeks: "40" }, io.out, NOW), 0);
        const text = io.text();
        // nightly: 4 cells, one dated build each after every epoch's evaluation, 3 GB; plus each cell's
        // cache-<cell> manifest (mode=max), whose blobs are the build's own: stored once, no extra GB.
        assert.match(text, /^ml-ci\/nightly\s+3 GB \(estimate\)\s+12\.0\s+12\.0\s+8\s+\$1\.20$/m);
        // habitat (1 cell) is rebuilt weekly below nightly; ECR stores a layer once per repository:
        // 8 builds × (1 GB habitat layers + 1 GB nightly layers, both new weekly) + the base layers
        // (2 GB), shared by the builds of a 4-week base epoch: 2 epochs at the peak, 3 for a day.
        assert.match(text, /^ml-ci\/habitat\s+4 GB \(estimate\)\s+20\.0\s+21\.5\s+9\s+\$2\.15$/m);
        assert.match(text, /replayed 40 weeks of the lifecycle policy/);
        assert.match(text, /budget 1000 GB: within/);
    });

    it("exits 1 over mlci:registry.storageBudgetGb, and `check` gets the same problem", async () => {
        const cfg = await config((r) => (r.registry.storageBudgetGb = 50));
        const io = capture();
        assert.strictEqual(runStorage(cfg, "dev", { json: true }, io.out, NOW), 1);
        const json = JSON.parse(io.text());
        assert.strictEqual(json.budgetGb, 50);
        assert.ok(json.totalGb > 50, String(json.totalGb));
        const problems = storageCheckProblems(cfg, { now: NOW });
        assert.deepStrictEqual(problems.map((p) => p.path), ["registry.storageBudgetGb"]);
        assert.match(problems[0].message, new RegExp(`^the storage forecast is ${json.totalGb} GB \\(`));
    });

    it("no budget set: no check problem", async () => {
        assert.deepStrictEqual(storageCheckProblems(await config(), { now: NOW }), []);
    });

    it("measured sizes come from the stack outputs' images[].sizeBytes, per platform, largest image of a family", async () => {
        const cfg = await config();
        const outputs = {
            images: {
                "cpu-py3.10": { family: "cpu", sizeBytes: 3_000_000_000 },
                "cpu-py3.11": { family: "cpu", sizeBytes: 2_000_000_000 },
                "base-cuda12.4-py3.10": { family: "base", sizeBytes: null },
            },
        };
        assert.deepStrictEqual(measuredGbFromOutputs(JSON.stringify(outputs), cfg), { cpu: 1.5 });
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "mlci-outputs-")), "outputs.json");
        fs.writeFileSync(file, JSON.stringify(outputs));
        const io = capture();
        runStorage(cfg, "dev", { weeks: "20", from: file }, io.out, NOW);
        assert.match(io.text(), /^ml-ci\/cpu\s+1\.5 GB \(measured\)/m);
        assert.strictEqual(storageForecastFor(cfg, { weeks: 20, now: NOW, measuredGb: { cpu: 1.5 } }).repositories.find((r) => r.family === "cpu")!.sizeSource, "measured");
    });

    it("rejects --weeks below 5", async () => {
        assert.throws(() => runStorage({} as any, "dev", { weeks: "3" }, capture().out, NOW), /--weeks must be a whole number of at least 5/);
    });
});
