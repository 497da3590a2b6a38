/**
 * Retention against the real tag shapes (#14 item 13): 90 days of weekly runs with the manifests the program really
 * pushes now that aliases are same-digest retags (docs/adr 0001): one build manifest per build carrying its content
 * (or forced `-rN`) tag, its smoke-test marker, `-latest` and (nightly) the dated tag; a moving `cache-<cell>` ref;
 * a multi-platform family as an index with untagged per-platform children. Every tag and pattern comes from the tag
 * grammar (lib/images/tags.ts); the policy is the one the program declares (lifecyclePolicy).
 */
import * as assert from "assert";
import { cacheTag, contentTag, datedTag, forcedTag, latestTag, markerTag, TAG_PATTERNS, tagPatternMatches } from "../lib/images/tags";
import { lifecyclePolicy, RetentionSettings } from "../lib/registry/lifecyclePolicy";
import { RegistryImage, simulateLifecycle } from "../lib/registry/lifecycleSimulator";
import { fakeDigest } from "./harness";

const DAY = 24 * 3600 * 1000;
const START = new Date("2026-08-23T02:17:00Z"); // a Sunday run

/** A repository as ECR holds it, with the program's pushes and retags applied. */
class Repo {
    images: RegistryImage[] = [];
    private n = 0;
    push(tags: string[], at: Date, children: number = 0): RegistryImage {
        // A moving tag (or any tag) pushed again leaves the previous manifest without it.
        for (const image of this.images) image.tags = image.tags.filter((t) => !tags.includes(t));
        const childImages = Array.from({ length: children }, (_, i) => ({ digest: fakeDigest(`child-${this.n}-${i}`), tags: [], pushedAt: at }));
        const image = { digest: fakeDigest(`manifest-${this.n++}`), tags, pushedAt: at, childDigests: childImages.map((c) => c.digest) };
        this.images.push(...childImages, image);
        return image;
    }
    /** Same-digest retag (`ci-images retag`): the tags move onto `image`, no new manifest. */
    retag(image: RegistryImage, tags: string[]): void {
        for (const other of this.images) other.tags = other.tags.filter((t) => !tags.includes(t));
        image.tags.push(...tags);
    }
    byTag(tag: string): RegistryImage | undefined {
        return this.images.find((i) => i.tags.includes(tag));
    }
}

/** One weekly build as the program does it: push under the build tag, smoke test, then retag marker, -latest and (if absent) the dated tag. */
function weeklyBuild(repo: Repo, at: Date, build: { cell: string; hash: string; rebuild?: number; epoch?: string; passes?: boolean; children?: number }): RegistryImage {
    const rebuild = build.rebuild ?? 0;
    const tag = rebuild === 0 ? contentTag(build.cell, build.hash) : forcedTag(build.cell, build.hash, rebuild);
    repo.push([cacheTag(build.cell)], at);
    const image = repo.push([tag], at, build.children);
    if (build.passes ?? true) {
        const aliases = [markerTag(build.cell, build.hash, rebuild), latestTag(build.cell)];
        if (build.epoch !== undefined && repo.byTag(datedTag(build.cell, build.epoch)) === undefined) aliases.push(datedTag(build.cell, build.epoch));
        repo.retag(image, aliases);
    }
    return image;
}

/** 90 days: a weekly run every Sunday, one lifecycle evaluation a day (expired manifests deleted). */
function simulate(retention: RetentionSettings, opts: { datedTags: boolean; children: number; week: (w: number) => Parameters<typeof weeklyBuild>[2] | undefined; dropRule?: string }) {
    const generated = lifecyclePolicy(retention, { datedTags: opts.datedTags });
    const policy = { rules: generated.rules.filter((r) => !(r.selection.tagPatternList ?? []).includes(opts.dropRule ?? "\u0000")) };
    const repo = new Repo();
    const contentBuilds: RegistryImage[] = [];
    const violations: string[] = [];
    for (let day = 0; day <= 90; day++) {
        const now = new Date(START.getTime() + day * DAY);
        if (day % 7 === 0) {
            const build = opts.week(day / 7);
            if (build !== undefined) {
                const image = weeklyBuild(repo, now, { ...build, children: opts.children });
                if ((build.rebuild ?? 0) === 0) contentBuilds.push(image);
            }
        }
        const evaluation = new Date(now.getTime() + 12 * 3600 * 1000);
        const current = repo.images.find((i) => i.tags.some((t) => tagPatternMatches(TAG_PATTERNS.latest, t)));
        const protectedDigests = new Set(current === undefined ? [] : [current.digest, ...(current.childDigests ?? [])]);
        const { expired } = simulateLifecycle(policy, repo.images, evaluation);
        for (const e of expired) if (protectedDigests.has(e.image.digest)) violations.push(`day ${day}: rule ${e.rulePriority} expired the current image or a child of it (${e.image.tags.join(",") || "untagged child"})`);
        const gone = new Set(expired.map((e) => e.image.digest));
        repo.images = repo.images.filter((i) => !gone.has(i.digest));
    }
    return { repo, contentBuilds, violations };
}

const RETENTION: RetentionSettings = { datedTagDays: 7, keepHashBuilds: 3, untaggedDays: 1, protectedTagPatterns: ["release-*", "v*"] };
const hash = (w: number) => fakeDigest(`content-${w}`).slice(7, 19);

describe("retention over 90 days of weekly runs with the manifests the program pushes", () => {
    it("nightly (date-rebuilt, new content each week, a forced rebuild and a failed smoke test): the current image is never expired", () => {
        const cell = "cuda13.2-py3.12";
        const epoch = (w: number) => new Date(START.getTime() + w * 7 * DAY).toISOString().slice(0, 10);
        const { repo, violations } = simulate(RETENTION, {
            datedTags: true,
            children: 0,
            week: (w) => (w === 5 ? { cell, hash: hash(4), rebuild: 1, epoch: epoch(4) } : w === 8 ? { cell, hash: hash(8), epoch: epoch(8), passes: false } : { cell, hash: hash(w), epoch: epoch(w) }),
        });
        assert.deepStrictEqual(violations, []);
        // What 90 days leave: the current build (week 12), the forced rebuild of week 5 (kept by the forced-rebuild
        // count, never dated: its dated tag stayed on week 4's digest), the one cache ref, and the failed week-8 build.
        // KNOWN LEAK: a nightly build that failed its smoke test carries only its content tag (no marker, no dated
        // tag), and dated builds leave after 7 days, so fewer than keepHashBuilds content builds ever coexist and
        // the failed one is never expired.
        assert.deepStrictEqual(repo.images.map((i) => [...i.tags].sort()), [
            [forcedTag(cell, hash(4), 1), markerTag(cell, hash(4), 1)].sort(),
            [contentTag(cell, hash(8))],
            [cacheTag(cell)],
            [contentTag(cell, hash(12)), datedTag(cell, epoch(12)), latestTag(cell), markerTag(cell, hash(12))].sort(),
        ]);
    });

    it("cpu (multi-platform index + 2 children, content changing every 3 weeks): keepHashBuilds counts content builds only, and the current index's children survive", () => {
        const cell = "py3.12";
        const { repo, contentBuilds, violations } = simulate(RETENTION, { datedTags: false, children: 2, week: (w) => (w % 3 === 0 ? { cell, hash: hash(w / 3) } : undefined) });
        assert.deepStrictEqual(violations, []);
        assert.strictEqual(contentBuilds.length, 5);
        const keptBuilds = contentBuilds.filter((b) => repo.images.some((i) => i.digest === b.digest));
        // Exactly the newest keepHashBuilds content builds: cache refs, markers and per-platform children do not count.
        assert.deepStrictEqual(keptBuilds.map((b) => b.digest), contentBuilds.slice(-RETENTION.keepHashBuilds).map((b) => b.digest));
        for (const b of keptBuilds) for (const child of b.childDigests ?? []) assert.ok(repo.images.some((i) => i.digest === child), "a kept index lost a child");
        const expiredChildren = contentBuilds.slice(0, -RETENTION.keepHashBuilds).flatMap((b) => b.childDigests ?? []);
        assert.ok(expiredChildren.every((c) => !repo.images.some((i) => i.digest === c)), "children of expired indexes go too (a day after their index)");
        assert.strictEqual(repo.images.length, RETENTION.keepHashBuilds * 3 + 1, "3 kept indexes with 2 children each, and the cache ref");
    });

    it("the prod retention (keep 30, dated 7 days) keeps the current nightly and never lets -latest expire", () => {
        const cell = "cuda13.2-py3.12";
        const { violations, repo } = simulate({ ...RETENTION, keepHashBuilds: 30 }, { datedTags: true, children: 0, week: (w) => ({ cell, hash: hash(w), epoch: `2026-09-${String(1 + w).padStart(2, "0")}` }) });
        assert.deepStrictEqual(violations, []);
        assert.ok(repo.byTag(latestTag(cell)));
    });

    it("-latest is what shields the current nightly when dated tags expire sooner than a week (and without its rule the current image goes)", () => {
        const cell = "cuda13.2-py3.12";
        const week = (w: number) => ({ cell, hash: hash(w), epoch: `2026-09-${String(1 + w).padStart(2, "0")}` });
        assert.deepStrictEqual(simulate({ ...RETENTION, datedTagDays: 3 }, { datedTags: true, children: 0, week }).violations, []);
        const unshielded = simulate({ ...RETENTION, datedTagDays: 3 }, { datedTags: true, children: 0, week, dropRule: TAG_PATTERNS.latest }).violations;
        assert.ok(unshielded.length > 0 && unshielded.every((v) => /expired the current image/.test(v)), unshielded.join("\n"));
    });
});
