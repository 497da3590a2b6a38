import * as assert from "assert";
import fc from "fast-check";
import { familyCells } from "../lib/images/matrix";
import { EcrLifecyclePolicy, lifecyclePolicy, RetentionSettings } from "../lib/registry/lifecyclePolicy";
import { RegistryImage, simulateLifecycle } from "../lib/registry/lifecycleSimulator";

const NOW = new Date("2026-11-22T12:00:00Z");
const DAY = 24 * 60 * 60 * 1000;
const daysAgo = (d: number) => new Date(NOW.getTime() - d * DAY);
const img = (digest: string, tags: string[], ageDays: number): RegistryImage => ({ digest, tags, pushedAt: daysAgo(ageDays) });
const expired = (policy: EcrLifecyclePolicy, images: RegistryImage[], now = NOW) => simulateLifecycle(policy, images, now).expired.map((e) => e.image.digest).sort();

function rule(rulePriority: number, selection: Record<string, unknown>) {
    return { rulePriority, description: `Rule ${rulePriority}`, selection, action: { type: "expire" } } as unknown as EcrLifecyclePolicy["rules"][number];
}
const count = (n: number) => ({ countType: "imageCountMoreThan", countNumber: n });
const olderThan = (days: number) => ({ countType: "sinceImagePushed", countUnit: "days", countNumber: days });

// Every case below is an example of the ECR User Guide ("Examples of lifecycle policies") with the result it documents.
describe("simulateLifecycle reproduces AWS's documented lifecycle examples", () => {
    it("filtering on image age: untagged images older than 14 days expire", () => {
        const policy = { rules: [rule(1, { tagStatus: "untagged", ...olderThan(14) })] };
        assert.deepStrictEqual(expired(policy, [img("old", [], 15), img("young", [], 13), img("tagged-old", ["v1"], 30)]), ["old"]);
    });

    it("filtering on image count: only the newest untagged image is kept", () => {
        const policy = { rules: [rule(1, { tagStatus: "untagged", ...count(1) })] };
        assert.deepStrictEqual(expired(policy, [img("u1", [], 3), img("u2", [], 2), img("u3", [], 1), img("t", ["x"], 9)]), ["u1", "u2"]);
    });

    const abc = () => [img("A", ["beta-1", "prod-1"], 10), img("B", ["beta-2", "prod-2"], 9), img("C", ["beta-3"], 8)];

    it("multiple rules, example A: prod then beta expires only image A", () => {
        const policy = { rules: [rule(1, { tagStatus: "tagged", tagPrefixList: ["prod"], ...count(1) }), rule(2, { tagStatus: "tagged", tagPrefixList: ["beta"], ...count(1) })] };
        assert.deepStrictEqual(expired(policy, abc()), ["A"]);
    });

    it("multiple rules, example B: beta then prod expires images A and B", () => {
        const policy = { rules: [rule(1, { tagStatus: "tagged", tagPrefixList: ["beta"], ...count(1) }), rule(2, { tagStatus: "tagged", tagPrefixList: ["prod"], ...count(1) })] };
        assert.deepStrictEqual(expired(policy, abc()), ["A", "B"]);
    });

    it("multiple tags in a single rule, example A: only images with both prefixes, older than 5 days (image C)", () => {
        const policy = { rules: [rule(1, { tagStatus: "tagged", tagPrefixList: ["alpha", "beta"], ...olderThan(5) })] };
        const images = [img("A", ["alpha-1"], 12), img("B", ["beta-1"], 11), img("C", ["alpha-2", "beta-2"], 10), img("D", ["alpha-3"], 4), img("E", ["beta-3"], 3), img("F", ["alpha-4", "beta-4"], 2)];
        assert.deepStrictEqual(expired(policy, images), ["C"]);
    });

    it("multiple tags in a single rule, example B: tags are not exclusive (images A and B)", () => {
        const policy = { rules: [rule(1, { tagStatus: "tagged", tagPrefixList: ["alpha", "beta"], ...count(1) })] };
        const images = [img("A", ["alpha-1", "beta-1", "gamma-1"], 10), img("B", ["alpha-2", "beta-2"], 9), img("C", ["alpha-3", "beta-3", "gamma-2"], 8)];
        assert.deepStrictEqual(expired(policy, images), ["A", "B"]);
    });

    it("all images, example A: an any rule keeps only the newest image (A, B, C expire)", () => {
        const policy = { rules: [rule(1, { tagStatus: "any", ...count(1) })] };
        const images = [img("A", ["alpha-1"], 4), img("B", ["beta-1"], 3), img("C", [], 2), img("D", ["alpha-2"], 1)];
        assert.deepStrictEqual(expired(policy, images), ["A", "B", "C"]);
    });

    it("all images, example B: higher rules shield what they identify from the any rule (A, B, D expire)", () => {
        const policy = {
            rules: [rule(1, { tagStatus: "tagged", tagPrefixList: ["alpha"], ...count(1) }), rule(2, { tagStatus: "untagged", ...olderThan(1) }), rule(3, { tagStatus: "any", ...count(1) })],
        };
        // The guide lists D and E as "1 day ago" and E after D; its result (D expires, E is the one kept by rule 3) means E is the newer one.
        const images = [img("A", ["alpha-1", "beta-1"], 4), img("B", [], 3), img("C", ["alpha-2"], 2), img("D", ["git hash"], 1.05), img("E", [], 0.95)];
        const outcome = simulateLifecycle(policy, images, NOW);
        assert.deepStrictEqual(outcome.expired.map((e) => [e.image.digest, e.rulePriority]), [["A", 1], ["B", 2], ["D", 3]]);
        assert.deepStrictEqual(outcome.kept.map((k) => [k.image.digest, k.claimedBy]), [["C", 1], ["E", 2]]);
    });
});

describe("simulateLifecycle: multi-tag images, keep rules and manifest lists", () => {
    const retention: RetentionSettings = { datedTagDays: 7, keepHashBuilds: 2, untaggedDays: 1, protectedTagPatterns: ["release-*", "v*"] };
    const nightly = lifecyclePolicy(retention, { datedTags: true });

    it("an image carrying hash, dated and -latest tags survives although its dated tag is 30 days old", () => {
        const current = img("current", ["cuda12.4-py3.11-h3f9a1c0b7d2e", "cuda12.4-py3.11-20261025", "cuda12.4-py3.11-latest"], 30);
        const older = img("older", ["cuda12.4-py3.11-haa11bb22cc33", "cuda12.4-py3.11-20261018"], 37);
        const outcome = simulateLifecycle(nightly, [older, current], NOW);
        assert.deepStrictEqual(outcome.expired.map((e) => e.image.digest), ["older"]);
        assert.deepStrictEqual(outcome.kept.map((k) => [k.image.digest, k.claimedBy]), [["current", 1]]);
    });

    it("claimed images still count toward a lower count rule: -latest is one of the newest N builds", () => {
        const policy = lifecyclePolicy(retention);
        const images = [img("h1", ["py3.11-h000000000001"], 5), img("h2", ["py3.11-h000000000002"], 4), img("h3", ["py3.11-h000000000003", "py3.11-latest"], 3)];
        assert.deepStrictEqual(expired(policy, images), ["h1"]);
    });

    it("release tags are never expired, whatever their age and however many builds follow", () => {
        const images = [img("rel", ["cuda12.4-py3.11-h0123456789ab", "release-2.5"], 400), img("v", ["cuda12.4-py3.11-h0123456789ac", "v0.9.1"], 300)];
        for (let i = 0; i < 10; i++) images.push(img(`b${i}`, [`cuda12.4-py3.11-h${String(i).padStart(12, "0")}`], 10 - i));
        const gone = expired(nightly, images);
        assert.ok(!gone.includes("rel") && !gone.includes("v"), gone.join(","));
        assert.strictEqual(gone.length, 8, "the 10 unprotected builds beyond the newest 2 expire");
    });

    it("a child manifest of an existing image index is not expired; once the index is gone, it is", () => {
        const index: RegistryImage = { ...img("index", ["py3.11-h0123456789ab"], 10), childDigests: ["amd64", "arm64"] };
        const children = [img("amd64", [], 10), img("arm64", [], 10)];
        const newer = [3, 2, 1].map((d) => img(`n${d}`, [`py3.11-h00000000000${d}`], d));
        const policy = lifecyclePolicy(retention);
        const first = simulateLifecycle(policy, [index, ...children, ...newer], NOW);
        assert.deepStrictEqual(first.expired.map((e) => e.image.digest).sort(), ["index", "n3"]);
        assert.deepStrictEqual(first.kept.filter((k) => k.referencedBy).map((k) => [k.image.digest, k.referencedBy]), [["amd64", "index"], ["arm64", "index"]]);
        const next = simulateLifecycle(policy, [...children, ...newer.slice(1)], new Date(NOW.getTime() + DAY));
        assert.deepStrictEqual(next.expired.map((e) => e.image.digest).sort(), ["amd64", "arm64"]);
    });

    it("rejects a repository listing one digest twice", () => {
        assert.throws(() => simulateLifecycle(nightly, [img("x", [], 1), img("x", ["a"], 2)], NOW), /listed twice/);
    });
});

// ---------------------------------------------------------------------------------------------
// A repository history: weekly nightly rebuilds (Sunday 02:00 UTC), daily content-hash pushes,
// multi-arch indexes with untagged children, moving cache refs, a release tag, and ECR's daily
// lifecycle run. Tags are formed as lib/imageGraph forms them.

interface Build {
    cell: string;
    digest: string;
    pushedAt: Date;
}

class Repository {
    images = new Map<string, RegistryImage>();
    /** The newest build of each cell: what the stack outputs reference. */
    current = new Map<string, Build>();
    releases = new Set<string>();
    builds: Build[] = [];
    private seq = 0;
    unreferencedOldUntagged = new Set<string>();

    constructor(readonly cells: string[], readonly datedTags: boolean) {}

    private digest(): string {
        this.seq += 1;
        return `sha256:${this.seq.toString(16).padStart(64, "0")}`;
    }

    private take(tag: string, immutable: boolean): void {
        for (const image of this.images.values()) {
            if (!image.tags.includes(tag)) continue;
            if (immutable) throw new Error(`tag ${tag} already exists: IMMUTABLE_WITH_EXCLUSION would reject this push`);
            image.tags = image.tags.filter((t) => t !== tag);
        }
    }

    /** Pushes one build of a cell: index (hash, -latest, dated tags) + 2 platform manifests + the cache ref. */
    push(cell: string, hash: string, at: Date): Build {
        const tags = [`${cell}-h${hash}`, `${cell}-latest`];
        if (this.datedTags) tags.push(`${cell}-${at.toISOString().slice(0, 10).replace(/-/g, "")}`);
        for (const t of tags) this.take(t, !t.endsWith("-latest"));
        const children = [this.digest(), this.digest()];
        for (const c of children) this.images.set(c, { digest: c, tags: [], pushedAt: at });
        const digest = this.digest();
        this.images.set(digest, { digest, tags, pushedAt: at, childDigests: children });
        this.take(`cache-${cell}`, false);
        const cache = this.digest();
        this.images.set(cache, { digest: cache, tags: [`cache-${cell}`], pushedAt: at });
        const build = { cell, digest, pushedAt: at };
        this.current.set(cell, build);
        this.builds.push(build);
        return build;
    }

    /** `docker buildx imagetools create --tag release-…`: a release tag added to an existing build. */
    tagRelease(digest: string, tag: string): void {
        this.take(tag, true);
        this.images.get(digest)!.tags.push(tag);
        this.releases.add(digest);
    }

    /** One lifecycle run; checks the invariants the issue asks for and returns what expired. */
    lifecycle(policy: EcrLifecyclePolicy, now: Date): string[] {
        const before = [...this.images.values()];
        const { expired } = simulateLifecycle(policy, before, now);
        for (const e of expired) this.images.delete(e.image.digest);

        for (const [cell, build] of this.current) assert.ok(this.images.has(build.digest), `${now.toISOString()}: the current build of ${cell} (a stack output) expired`);
        for (const e of expired) assert.ok(!e.image.tags.some((t) => t.endsWith("-latest")), `${now.toISOString()}: ${e.image.tags} expired with a -latest tag`);
        for (const d of this.releases) assert.ok(this.images.has(d), `${now.toISOString()}: release image ${d} expired`);
        const referenced = new Set([...this.images.values()].flatMap((i) => i.childDigests ?? []));
        for (const c of referenced) assert.ok(this.images.has(c), `${now.toISOString()}: an index lost its platform manifest ${c}`);
        // Garbage goes within one more run: no old unreferenced untagged image survives two runs.
        for (const d of this.unreferencedOldUntagged) assert.ok(!this.images.has(d), `${now.toISOString()}: untagged ${d} outlived two lifecycle runs`);
        this.unreferencedOldUntagged = new Set(
            [...this.images.values()].filter((i) => i.tags.length === 0 && !referenced.has(i.digest) && now.getTime() - i.pushedAt.getTime() > DAY).map((i) => i.digest),
        );
        return expired.map((e) => e.image.digest);
    }

    /** Images with an image tag (not a cache ref): the builds still stored. */
    storedBuilds(): RegistryImage[] {
        return [...this.images.values()].filter((i) => i.tags.some((t) => !t.startsWith("cache-")));
    }
}

/** Deterministic 12-hex content hashes (some start with "20", like a date). */
function hashes(seed: number): () => string {
    let x = seed >>> 0 || 1;
    return () => {
        let out = "";
        while (out.length < 12) {
            x ^= x << 13;
            x ^= x >>> 17;
            x ^= x << 5;
            out += ((x >>> 0) % 16).toString(16);
        }
        return out;
    };
}

const CUDA_CELLS = familyCells({ cpuOnly: false, matrix: undefined }, { cuda: ["12.4.1", "12.6.3"], python: ["3.10", "3.11"] }).map((c) => c.label);
const CPU_CELLS = familyCells({ cpuOnly: true, matrix: undefined }, { cuda: [], python: ["3.10", "3.11"] }).map((c) => c.label);
const START = new Date("2026-08-30T00:00:00Z"); // a Sunday

describe("90 days of weekly nightly and daily content-hash pushes under the generated policy", () => {
    for (const [stack, keepHashBuilds] of [["dev", 10], ["prod", 30]] as const) {
        it(`${stack} (keepHashBuilds ${keepHashBuilds}): outputs, -latest and releases survive; storage stays bounded; the newest ${keepHashBuilds} builds are kept`, () => {
            const retention: RetentionSettings = { datedTagDays: 7, keepHashBuilds, untaggedDays: 1, protectedTagPatterns: ["release-*", "v*"] };
            const nightly = new Repository(CUDA_CELLS, true);
            const base = new Repository(CUDA_CELLS, false);
            const cpu = new Repository(CPU_CELLS, false);
            const repos: [Repository, EcrLifecyclePolicy][] = [
                [nightly, lifecyclePolicy(retention, { datedTags: true })],
                [base, lifecyclePolicy(retention)],
                [cpu, lifecyclePolicy(retention)],
            ];
            const nextHash = hashes(keepHashBuilds);
            let maxNightlyBuilds = 0;
            let maxBaseBuilds = 0;
            let maxTotal = 0;
            for (let day = 0; day < 90; day++) {
                const at = (h: number) => new Date(START.getTime() + day * DAY + h * 60 * 60 * 1000);
                if (day % 7 === 0) for (const cell of CUDA_CELLS) nightly.push(cell, nextHash(), at(2));
                base.push(CUDA_CELLS[day % CUDA_CELLS.length], nextHash(), at(14));
                if (day % 2 === 0) cpu.push(CPU_CELLS[(day / 2) % CPU_CELLS.length], nextHash(), at(15));
                if (day === 20) base.tagRelease(base.current.get(CUDA_CELLS[0])!.digest, "release-2.5");
                if (day === 40) cpu.tagRelease(cpu.current.get(CPU_CELLS[1])!.digest, "v0.9.0");
                for (const [repo, policy] of repos) repo.lifecycle(policy, at(20));

                const newest = [...base.builds].sort((a, b) => b.pushedAt.getTime() - a.pushedAt.getTime()).slice(0, keepHashBuilds);
                for (const b of newest) assert.ok(base.images.has(b.digest), `day ${day}: build ${b.digest} is among the newest ${keepHashBuilds} but expired`);
                maxNightlyBuilds = Math.max(maxNightlyBuilds, nightly.storedBuilds().length);
                maxBaseBuilds = Math.max(maxBaseBuilds, base.storedBuilds().length);
                maxTotal = Math.max(maxTotal, ...repos.map(([r]) => r.images.size));
            }
            // Nightly: one weekly build per cell, dated builds gone after 7 days, so at most two generations.
            assert.ok(maxNightlyBuilds <= 2 * CUDA_CELLS.length, `nightly kept ${maxNightlyBuilds} builds`);
            // Base: the newest N, the -latest of every cell (possibly older than the newest N) and one release.
            assert.ok(maxBaseBuilds <= keepHashBuilds + CUDA_CELLS.length + 1, `base kept ${maxBaseBuilds} builds`);
            assert.ok(base.builds.length > keepHashBuilds + CUDA_CELLS.length + 1, "the history is long enough for expiry to matter");
            // Every kept build is an index with 2 platform manifests, plus one cache ref per cell and a day's worth of superseded ones.
            assert.ok(maxTotal <= 3 * (keepHashBuilds + CUDA_CELLS.length + 1) + 2 * CUDA_CELLS.length + 2, `a repository held ${maxTotal} manifests`);
        });
    }

    it("for random push histories, nothing referenced, -latest or released is ever expired", () => {
        fc.assert(
            fc.property(
                fc.integer({ min: 1, max: 2 ** 31 - 1 }),
                fc.array(fc.record({ cell: fc.constantFrom(...CUDA_CELLS, ...CPU_CELLS), hour: fc.integer({ min: 0, max: 23 }), release: fc.boolean() }), { minLength: 1, maxLength: 60 }),
                fc.integer({ min: 1, max: 12 }),
                fc.boolean(),
                (seed, pushes, keepHashBuilds, datedTags) => {
                    const retention: RetentionSettings = { datedTagDays: 7, keepHashBuilds, untaggedDays: 1, protectedTagPatterns: ["release-*", "v*"] };
                    const policy = lifecyclePolicy(retention, { datedTags });
                    const repo = new Repository([...CUDA_CELLS, ...CPU_CELLS], datedTags);
                    const nextHash = hashes(seed);
                    pushes.forEach((p, day) => {
                        const at = new Date(START.getTime() + day * DAY + p.hour * 60 * 60 * 1000);
                        // One build per cell per day: a second same-day build would need to move its dated tag.
                        repo.push(p.cell, nextHash(), at);
                        if (p.release && day % 5 === 0) repo.tagRelease(repo.current.get(p.cell)!.digest, `release-${day}`);
                        repo.lifecycle(policy, new Date(at.getTime() + 30 * 60 * 1000));
                    });
                },
            ),
            { numRuns: 60 },
        );
    });
});
