/**
 * Plans at scale: the real program under the mocks for a generated stack of 240 images (50 GPU
 * families × 2 CUDA × 2 Python, 20 multi-platform CPU families × 2 Python) on a fleet of three
 * builders. Every build must name a builder that serves its platform, multi-platform images must be
 * built per platform and joined by an index, and the recorded dependency edges must keep every
 * builder within its maxParallel. (Evaluation time per image is in `npm run bench -- --only plan`.)
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { builderEnsureCommand } from "../lib/images/buildPlan";
import { FLEET, peakPerBuilderOf, scaleStackYaml } from "./scaleCatalog";
import { PROJECT_ROOT, RecordedResource, RunResult, runProgram } from "./harness";

const SCRATCH = path.join(PROJECT_ROOT, ".cache", "test-buildplan-scale");


/**
 * Peak number of builds running at once per builder when the engine runs the recorded graph:
 * every docker-build Image takes one time unit, everything else none, and a resource starts once
 * every resource it depends on (recorded dependencies, and its component parent's) has finished.
 */
function peakPerBuilder(resources: RecordedResource[]): Map<string, number> {
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const children = new Map<string, RecordedResource[]>();
    for (const r of resources) children.set(r.parentUrn, [...(children.get(r.parentUrn) ?? []), r]);
    const finish = new Map<string, number>();
    const start = new Map<string, number>();
    const finishOf = (urn: string, seen: Set<string>): number => {
        if (finish.has(urn)) return finish.get(urn)!;
        if (seen.has(urn)) throw new Error(`dependency cycle through ${urn}`);
        seen.add(urn);
        const r = byUrn.get(urn);
        if (r === undefined) return 0;
        // Depending on a component means depending on everything under it.
        const deps = r.custom ? r.dependencies : [...r.dependencies, ...(children.get(urn) ?? []).map((c) => c.urn)];
        const s = deps.reduce((m, d) => Math.max(m, finishOf(d, seen)), 0);
        start.set(urn, s);
        const f = s + (r.type === "docker-build:index:Image" ? 1 : 0);
        finish.set(urn, f);
        seen.delete(urn);
        return f;
    };
    const builds = resources.filter((x) => x.type === "docker-build:index:Image");
    for (const r of builds) finishOf(r.urn, new Set());
    return peakPerBuilderOf(builds.map((r) => ({ builder: String(r.inputs.builder?.name), start: start.get(r.urn)! })));
}

describe("build plan at scale: 240 images on a fleet of three builders (mocks)", function () {
    this.timeout(300_000);
    let run: RunResult;

    before(async () => {
        fs.rmSync(SCRATCH, { recursive: true, force: true });
        run = await runProgram({ stack: "dev", configYaml: scaleStackYaml(50, 20, SCRATCH) });
    });
    after(() => fs.rmSync(SCRATCH, { recursive: true, force: true }));

    it("declares 240 images", () => {
        assert.strictEqual(Object.keys(run.outputs.images).length, 240);
    });

    it("every build names a builder that serves its one platform", () => {
        const byName = new Map(FLEET.map((b) => [b.name, b]));
        const builds = run.byType("docker-build:index:Image");
        assert.strictEqual(builds.length, 200 + 40 * 2, "one build per GPU image, one per platform of each CPU image");
        for (const b of builds) {
            const builder = byName.get(b.inputs.builder?.name);
            assert.ok(builder, `${b.urn}: builder ${JSON.stringify(b.inputs.builder)}`);
            assert.strictEqual(b.inputs.platforms.length, 1, b.urn);
            assert.ok(builder.platforms.includes(b.inputs.platforms[0]), `${b.urn}: ${b.inputs.platforms[0]} on ${builder.name}`);
        }
        // Both amd64 builders got work, in proportion to their slots.
        const count = (n: string) => builds.filter((b) => b.inputs.builder.name === n).length;
        assert.deepStrictEqual([count("fleet-amd64-a"), count("fleet-amd64-b"), count("fleet-arm64")], [144, 96, 40]);
    });

    it("a multi-platform image is one Image per platform, pushed by digest with its own cache, joined by one Index under the content tag", () => {
        for (const [name, o] of Object.entries(run.outputs.images as Record<string, { family: string; repository: string; tag: string; digest: string }>)) {
            if (!o.family.startsWith("cpu")) continue;
            const cell = name.slice(o.family.length + 1);
            for (const arch of ["amd64", "arm64"]) {
                const img = run.one("docker-build:index:Image", `${name}-build-${arch}`);
                assert.deepStrictEqual(img.inputs.platforms, [`linux/${arch}`]);
                assert.strictEqual(img.inputs.tags, undefined, "no per-platform tag");
                assert.deepStrictEqual(img.inputs.exports, [{ image: { names: [o.repository], push: true, pushByDigest: true, ociMediaTypes: true } }]);
                assert.deepStrictEqual(img.inputs.cacheFrom, [{ registry: { ref: `${o.repository}:cache-${cell}-${arch}` } }]);
            }
            const index = run.one("docker-build:index:Index", `${name}-build-index`);
            assert.strictEqual(index.inputs.tag, `${o.repository}:${o.tag}`);
            assert.strictEqual(index.inputs.sources.length, 2);
            assert.ok(index.inputs.sources.every((s: string) => s.startsWith(`${o.repository}@sha256:`)), JSON.stringify(index.inputs.sources));
            assert.strictEqual(o.digest, run.ecr.digestOf(o.repository.slice(o.repository.indexOf("/") + 1), o.tag), `${name}: the image's digest is the index's`);
        }
    });

    it("every builder is ensured idempotently and every build waits for its builder", () => {
        const commands = run.byType("command:local:Command").filter((c) => c.name.startsWith("builders-"));
        assert.deepStrictEqual(commands.map((c) => c.inputs.create).sort(), FLEET.map(builderEnsureCommand).sort());
        const ensureUrn = new Map(commands.map((c) => [c.name.slice("builders-".length), c.urn]));
        for (const b of run.byType("docker-build:index:Image")) assert.ok(b.dependencies.includes(ensureUrn.get(b.inputs.builder.name)!), `${b.urn} must wait for its builder`);
    });

    it("the recorded dependencies keep each builder within maxParallel, and the fleet runs in parallel", () => {
        const peak = peakPerBuilder(run.resources);
        for (const b of FLEET) {
            assert.ok((peak.get(b.name) ?? 0) <= b.maxParallel, `${b.name}: ${peak.get(b.name)} builds at once > maxParallel ${b.maxParallel}`);
            assert.ok((peak.get(b.name) ?? 0) >= 2, `${b.name}: peak ${peak.get(b.name)} — no parallelism at all`);
        }
    });
});
