import * as assert from "assert";
import fc from "fast-check";
import { peakPerBuilderOf } from "./scaleCatalog";
import { BuilderSpec, BuildTask, builderEnsureCommand, buildPlanProblems, planBuilds, PlanImage, platformSuffix } from "../lib/images/buildPlan";

const amd = (name: string, maxParallel = 1): BuilderSpec => ({ name, driver: "remote", endpoint: `tcp://${name}.internal:1234`, platforms: ["linux/amd64"], maxParallel });
const arm = (name: string, maxParallel = 1): BuilderSpec => ({ name, driver: "remote", endpoint: `tcp://${name}.internal:1234`, platforms: ["linux/arm64"], maxParallel });

function chain(families: { name: string; cells: number; platforms?: string[]; parent?: string }[]): PlanImage[] {
    return families.flatMap((f) =>
        Array.from({ length: f.cells }, (_, c) => ({ name: `${f.name}-c${c}`, family: f.name, platforms: f.platforms ?? ["linux/amd64"], parent: f.parent !== undefined ? `${f.parent}-c${c}` : undefined })),
    );
}

/**
 * Runs the plan as the Pulumi engine would run the dependsOn edges the program derives from it
 * (task → its `after`, task → every task of its parent image), every build taking one time unit
 * and starting as soon as its dependencies finished. Returns the peak number of builds running at
 * once on each builder.
 */
function peakConcurrency(tasks: BuildTask[], images: PlanImage[]): Map<string, number> {
    const byImage = new Map<string, BuildTask[]>();
    for (const t of tasks) byImage.set(t.image, [...(byImage.get(t.image) ?? []), t]);
    const parentOf = new Map(images.map((i) => [i.name, i.parent]));
    const byId = new Map(tasks.map((t) => [t.id, t]));
    const start = new Map<string, number>();
    const startOf = (t: BuildTask): number => {
        if (start.has(t.id)) return start.get(t.id)!;
        const deps = [...(t.after !== undefined ? [byId.get(t.after)!] : []), ...(byImage.get(parentOf.get(t.image) ?? "") ?? [])];
        const s = deps.reduce((m, d) => Math.max(m, startOf(d) + 1), 0);
        start.set(t.id, s);
        return s;
    };
    return peakPerBuilderOf(tasks.map((t) => ({ builder: String(t.builder), start: startOf(t) })));
}

describe("build plan: every platform on a builder that serves it natively", () => {
    it("a multi-platform family builds each platform on its own builder; a single-platform image is one task", () => {
        const images = chain([{ name: "cpu", cells: 2, platforms: ["linux/amd64", "linux/arm64"] }, { name: "base", cells: 1 }]);
        const plan = planBuilds(images, [amd("fleet-amd64", 2), arm("fleet-arm64", 2)]);
        const cpu0 = plan.images.find((p) => p.image === "cpu-c0")!;
        assert.strictEqual(cpu0.perPlatform, true);
        assert.deepStrictEqual(
            cpu0.tasks.map((t) => [t.id, t.platform, t.builder]),
            [
                ["cpu-c0/amd64", "linux/amd64", "fleet-amd64"],
                ["cpu-c0/arm64", "linux/arm64", "fleet-arm64"],
            ],
        );
        const base = plan.images.find((p) => p.image === "base-c0")!;
        assert.strictEqual(base.perPlatform, false);
        assert.deepStrictEqual(base.tasks.map((t) => [t.id, t.platforms, t.builder]), [["base-c0", ["linux/amd64"], "fleet-amd64"]]);
    });

    it("builders serving the same platform share the work in proportion to maxParallel", () => {
        const images = chain([{ name: "stable", cells: 9 }]);
        const plan = planBuilds(images, [amd("big", 2), amd("small", 1)]);
        assert.deepStrictEqual(plan.tasksPerBuilder, { big: 6, small: 3 });
    });

    it("planBuilds refuses a platform no builder serves (validation reports it first)", () => {
        assert.throws(() => planBuilds(chain([{ name: "cpu", cells: 1, platforms: ["linux/arm64"] }]), [amd("fleet-amd64")]), /no builder serves linux\/arm64 \(image cpu-c0\)/);
    });

    it("without builders each image is one build of all its platforms on the default (or shorthand) builder", () => {
        const images = chain([{ name: "cpu", cells: 2, platforms: ["linux/amd64", "linux/arm64"] }]);
        const plan = planBuilds(images, [], { defaultBuilderName: "mlci-local" });
        assert.deepStrictEqual(
            plan.tasks.map((t) => [t.id, t.platforms, t.builder, t.platform, t.after]),
            [
                ["cpu-c0", ["linux/amd64", "linux/arm64"], "mlci-local", undefined, undefined],
                ["cpu-c1", ["linux/amd64", "linux/arm64"], "mlci-local", undefined, undefined],
            ],
        );
        assert.strictEqual(plan.images.every((p) => !p.perPlatform), true);
    });

    it("platform suffixes name resources and cache refs", () => {
        assert.deepStrictEqual(["linux/amd64", "linux/arm64", "linux/arm/v7"].map(platformSuffix), ["amd64", "arm64", "armv7"]);
    });
});

describe("build plan: order and parallelism", () => {
    it("a child's builds come in a later wave than every build of its parent", () => {
        const images = chain([
            { name: "base", cells: 3, platforms: ["linux/amd64", "linux/arm64"] },
            { name: "nightly", cells: 3, platforms: ["linux/amd64", "linux/arm64"], parent: "base" },
        ]);
        const plan = planBuilds(images, [amd("a", 4), arm("r", 1)]);
        for (const child of plan.tasks.filter((t) => t.family === "nightly")) {
            const parentWaves = plan.tasks.filter((t) => t.image === child.image.replace("nightly", "base")).map((t) => t.wave);
            assert.ok(child.wave > Math.max(...parentWaves), `${child.id} wave ${child.wave} vs parent waves ${parentWaves}`);
        }
    });

    it("no builder runs more than maxParallel builds at once when the engine follows the plan's edges", () => {
        const images = chain([{ name: "base", cells: 10 }, { name: "nightly", cells: 10, parent: "base" }, { name: "cpu", cells: 7, platforms: ["linux/amd64", "linux/arm64"] }]);
        const builders = [amd("a", 3), amd("b", 2), arm("r", 1)];
        const plan = planBuilds(images, builders);
        const peak = peakConcurrency(plan.tasks, images);
        assert.deepStrictEqual(Object.fromEntries(peak), { a: 3, b: 2, r: 1 });
    });

    it("adopted images get no build; a child of an adopted parent starts in the first wave", () => {
        const images = chain([{ name: "base", cells: 2 }, { name: "nightly", cells: 2, parent: "base" }]);
        const plan = planBuilds(images, [amd("a", 4)], { isBuilt: (n) => n.startsWith("nightly") });
        assert.deepStrictEqual(plan.tasks.map((t) => [t.id, t.wave]), [["nightly-c0", 0], ["nightly-c1", 0]]);
    });

    it("holds for random graphs and fleets: every platform served, parents first, peak ≤ maxParallel", () => {
        const platforms = ["linux/amd64", "linux/arm64"];
        fc.assert(
            fc.property(
                fc.array(fc.record({ cells: fc.integer({ min: 1, max: 4 }), multi: fc.boolean(), parentOffset: fc.integer({ min: 0, max: 3 }) }), { minLength: 1, maxLength: 12 }),
                fc.array(fc.record({ platform: fc.constantFrom(...platforms), maxParallel: fc.integer({ min: 1, max: 4 }) }), { minLength: 1, maxLength: 5 }),
                (families, fleet) => {
                    const builders: BuilderSpec[] = [...fleet.map((f, i) => ({ ...amd(`b${i}`, f.maxParallel), platforms: [f.platform] })), amd("fallback-amd", 1), arm("fallback-arm", 1)];
                    const images: PlanImage[] = [];
                    families.forEach((f, i) => {
                        const parentIndex = i - 1 - f.parentOffset;
                        for (let c = 0; c < f.cells; c++) {
                            const parent = parentIndex >= 0 && c < families[parentIndex].cells ? `f${parentIndex}-c${c}` : undefined;
                            images.push({ name: `f${i}-c${c}`, family: `f${i}`, platforms: f.multi ? platforms : ["linux/amd64"], parent });
                        }
                    });
                    const plan = planBuilds(images, builders);
                    const byName = new Map(builders.map((b) => [b.name, b]));
                    assert.strictEqual(plan.tasks.length, images.reduce((n, i) => n + i.platforms.length, 0));
                    for (const t of plan.tasks) assert.ok(byName.get(t.builder!)!.platforms.includes(t.platform!), `${t.id} on ${t.builder}`);
                    const waveOf = new Map<string, number>();
                    for (const t of plan.tasks) waveOf.set(t.image, Math.max(waveOf.get(t.image) ?? 0, t.wave));
                    for (const t of plan.tasks) {
                        const parent = images.find((i) => i.name === t.image)!.parent;
                        if (parent !== undefined) assert.ok(t.wave > waveOf.get(parent)!, `${t.id} not after ${parent}`);
                    }
                    for (const [b, n] of peakConcurrency(plan.tasks, images)) assert.ok(n <= byName.get(b)!.maxParallel, `${b}: ${n} at once`);
                },
            ),
            { numRuns: 150 },
        );
    });
});

describe("build plan: config problems name the key and the fix", () => {
    it("a platform no builder serves is a problem of the family's platforms, naming the builders", () => {
        const problems = buildPlanProblems([amd("fleet-amd64")], [{ family: "cpu", platforms: ["linux/amd64", "linux/arm64"] }, { family: "cpu", platforms: ["linux/amd64", "linux/arm64"] }]);
        assert.strictEqual(problems.length, 1, JSON.stringify(problems));
        assert.strictEqual(problems[0].path, "families.cpu.platforms");
        assert.match(problems[0].message, /no builder in build\.builders serves linux\/arm64 \(builders: fleet-amd64 \[linux\/amd64\]\)/);
        assert.match(problems[0].fix!, /add a builder that builds linux\/arm64 natively/);
    });

    it("duplicate and reserved names, bad endpoints, relative TLS paths, wrong cloud names", () => {
        const problems = buildPlanProblems(
            [
                amd("default"),
                amd("a"),
                { ...amd("a"), endpoint: "buildkitd:1234" },
                { ...arm("r"), tls: { cacert: "certs/ca.pem", cert: "/etc/bk/cert.pem", key: "/etc/bk/key.pem" } },
                { name: "acme-ml", driver: "cloud", endpoint: "acme/ml", platforms: ["linux/arm64"], maxParallel: 4 },
                { name: "local", driver: "docker-container", endpoint: "tcp://x:1", platforms: ["linux/amd64"], maxParallel: 1 },
            ],
            [{ family: "base", platforms: ["linux/amd64"] }],
        );
        const byPath = Object.fromEntries(problems.map((p) => [p.path, `${p.message} | ${p.fix}`]));
        assert.deepStrictEqual(Object.keys(byPath).sort(), [
            "build.builders[0].name",
            "build.builders[2].endpoint",
            "build.builders[2].name",
            "build.builders[3].tls.cacert",
            "build.builders[4].name",
            "build.builders[5].endpoint",
        ]);
        assert.match(byPath["build.builders[0].name"], /reserved by buildx/);
        assert.match(byPath["build.builders[2].name"], /also the name of build\.builders\[1\]/);
        assert.match(byPath["build.builders[2].endpoint"], /tcp:\/\/<host>:<port>, got "buildkitd:1234"/);
        assert.match(byPath["build.builders[3].tls.cacert"], /"certs\/ca\.pem" is not an absolute path/);
        assert.match(byPath["build.builders[4].name"], /names the cloud builder acme\/ml "cloud-acme-ml", not "acme-ml" \| set name: cloud-acme-ml/);
    });

    it("no builders, no problems (the default builder serves whatever the engine can build)", () => {
        assert.deepStrictEqual(buildPlanProblems([], [{ family: "cpu", platforms: ["linux/arm64"] }]), []);
    });
});

describe("builders are created or reused idempotently", () => {
    it("remote with mTLS: inspect first, create with the driver opts and the endpoint", () => {
        const cmd = builderEnsureCommand({ ...amd("fleet-amd64", 4), tls: { cacert: "/etc/bk/ca.pem", cert: "/etc/bk/cert.pem", key: "/etc/bk/key.pem" } });
        assert.strictEqual(
            cmd,
            "docker buildx inspect fleet-amd64 >/dev/null 2>&1 || docker buildx create --name fleet-amd64 --driver remote --platform linux/amd64 --driver-opt cacert=/etc/bk/ca.pem,cert=/etc/bk/cert.pem,key=/etc/bk/key.pem tcp://fleet-amd64.internal:1234",
        );
    });

    it("docker-container on the host network, and a Docker Build Cloud builder", () => {
        assert.strictEqual(
            builderEnsureCommand({ name: "mlci-local", driver: "docker-container", platforms: ["linux/amd64"], maxParallel: 1, hostNetwork: true }),
            "docker buildx inspect mlci-local >/dev/null 2>&1 || docker buildx create --name mlci-local --driver docker-container --platform linux/amd64 --driver-opt network=host --bootstrap",
        );
        assert.strictEqual(
            builderEnsureCommand({ name: "cloud-acme-ml", driver: "cloud", endpoint: "acme/ml", platforms: ["linux/amd64", "linux/arm64"], maxParallel: 8 }),
            "docker buildx inspect cloud-acme-ml >/dev/null 2>&1 || docker buildx create --driver cloud acme/ml",
        );
    });
});
