/**
 * `ci-images status` and `ci-images wait` against the registry model (test/fakeRegistry.ts), run
 * in-process through cli/main.ts with a fake ECR login, clock and sleep: which registry and login
 * they use, what they report, how many requests they make, and how they fail.
 */
import { strict as assert } from "assert";
import type { CliServices } from "../cli/context";
import { basicAuthorization } from "../lib/registry/registryHttp";
import { forcedTag, markerTag } from "../lib/images/tags";
import { planStackFile, StackPlan } from "../lib/stackPlan";
import { cliFixtureProject, runCli } from "./cliContext";
import { FakeRegistry, ociImage } from "./fakeRegistry";

const HOST = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const TOKEN = "ecr-token-42";
const NOW = new Date("2026-11-24T12:00:00Z");

let root: string;
let plan: StackPlan;

/** Services of an ECR caller in us-east-1 whose registry is `reg`; the clock moves only when the command sleeps. */
function services(reg: FakeRegistry, onSleep?: (n: number) => void): Partial<CliServices> & { regions: string[]; slept: number[] } {
    let clock = NOW.getTime();
    const regions: string[] = [];
    const slept: number[] = [];
    return {
        regions,
        slept,
        fetch: reg.fetch,
        ecrAuthorization: async (region) => {
            regions.push(region);
            return { proxyEndpoint: `https://${HOST}`, user: "AWS", password: TOKEN };
        },
        now: () => new Date(clock),
        sleep: async (ms) => {
            slept.push(ms);
            clock += ms;
            onSleep?.(slept.length);
        },
    };
}

function ecrRegistry(opts: { denyTagsList?: boolean } = {}): FakeRegistry {
    return new FakeRegistry({ authorization: basicAuthorization("AWS", TOKEN), ...opts });
}

const image = (family: string) => plan.images.find((i) => i.family === family)!;

/** Pushes a build of `family` under its content tag (or `-r<rebuild>`), with its marker when tested. */
function pushBuild(reg: FakeRegistry, family: string, opts: { tested: boolean; rebuild?: number; created?: string; latest?: boolean }): string {
    const img = image(family);
    const rebuild = opts.rebuild ?? 0;
    const tag = rebuild === 0 ? img.tag : forcedTag(img.cell.label, img.contentHash, rebuild);
    const tags = [tag, ...(opts.tested ? [markerTag(img.cell.label, img.contentHash, rebuild)] : []), ...(opts.latest ? [img.latestTag] : [])];
    return reg.push(img.repositoryName, ociImage(reg, img.repositoryName, `${family}-${rebuild}-${opts.created}`, opts.created ?? "2026-11-23T10:00:00Z"), tags);
}

describe("ci-images status (registry model)", () => {
    before(async () => {
        root = cliFixtureProject();
        plan = await planStackFile(root, "ci", { env: {}, useHashCache: false });
    });

    it("logs in to the caller's ECR registry with a token and lists each repository once", async () => {
        const reg = ecrRegistry();
        const svc = services(reg);
        const r = await runCli(["status", "--stack", "ci", "--root", root, "--json"], { services: svc });
        assert.equal(r.code, 0, r.stderr);
        const json = JSON.parse(r.stdout);
        assert.equal(json.registry, HOST, "the GetAuthorizationToken proxy endpoint");
        assert.deepEqual(svc.regions, ["us-east-1"], "the stack's aws:region, one login");
        assert.deepEqual(new Set(json.images.map((i: { state: string }) => i.state)), new Set(["missing"]));
        const lists = reg.requests.filter((q) => q.endsWith("/tags/list"));
        assert.deepEqual(lists.sort(), [...new Set(plan.images.map((i) => `GET /v2/${i.repositoryName}/tags/list`))].sort(), "one tags list per repository");
    });

    it("reports tested, untested and forced builds with digest, age and -latest", async () => {
        const reg = ecrRegistry();
        const base = pushBuild(reg, "base", { tested: true, latest: true, created: "2026-11-21T12:00:00Z" });
        const nightly = pushBuild(reg, "nightly", { tested: false, created: "2026-11-24T11:00:00Z" });
        pushBuild(reg, "cpu", { tested: false });
        const forced = pushBuild(reg, "cpu", { tested: true, rebuild: 1, created: "2026-11-24T11:58:00Z" });
        const r = await runCli(["status", "--stack", "ci", "--root", root, "--json"], { services: services(reg) });
        assert.equal(r.code, 0, r.stderr);
        const byName = new Map(JSON.parse(r.stdout).images.map((i: { name: string }) => [i.name, i]));
        assert.deepEqual(byName.get(image("base").name), {
            name: image("base").name,
            repository: `${HOST}/${image("base").repositoryName}`,
            tag: image("base").tag,
            state: "tested",
            build: { tag: image("base").tag, digest: base, createdAt: "2026-11-21T12:00:00Z", ageSeconds: 3 * 86400 },
            latest: true,
        });
        const n = byName.get(image("nightly").name) as { state: string; build: { digest: string; ageSeconds: number }; latest: boolean };
        assert.deepEqual([n.state, n.build.digest, n.build.ageSeconds, n.latest], ["untested", nightly, 3600, false]);
        const c = byName.get(image("cpu").name) as { state: string; build: { tag: string; digest: string } };
        assert.deepEqual([c.state, c.build.tag, c.build.digest], ["tested", forcedTag(image("cpu").cell.label, image("cpu").contentHash, 1), forced], "the newest build counts");

        const table = await runCli(["status", "--stack", "ci", "--root", root], { services: services(reg) });
        assert.match(table.stdout, new RegExp(`^${image("base").name.replace(/\./g, "\\.")} +tested +${image("base").tag} +sha256:\\S+ +3d 0h +yes$`, "m"));
        assert.match(table.stdout, /stack ci in 123456789012\.dkr\.ecr\.us-east-1\.amazonaws\.com: 2 tested, 1 untested, \d+ missing$/m);
    });

    it("a refused registry fails with exit 1, naming the registry and the permission", async () => {
        const reg = new FakeRegistry({ authorization: basicAuthorization("AWS", "another-token") });
        const r = await runCli(["status", "--stack", "ci", "--root", root], { services: services(reg) });
        assert.equal(r.code, 1);
        assert.match(r.stderr, /^ci-images status: registry 123456789012\.dkr\.ecr\.us-east-1\.amazonaws\.com failed: GET .* HTTP 401 UNAUTHORIZED.*Fix: the caller needs ecr:ListImages/m);
    });

    it("--registry and MLCI_REGISTRY_AUTH replace the stack's registry and the ECR login", async () => {
        const reg = new FakeRegistry({ authorization: basicAuthorization("robot", "pw") });
        const svc = services(reg);
        const { isolatedEnv } = await import("./cliContext");
        const r = await runCli(["status", "--stack", "ci", "--root", root, "--registry", "registry.example.com", "--json"], { services: svc, env: isolatedEnv({ MLCI_REGISTRY_AUTH: "robot:pw" }) });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(JSON.parse(r.stdout).registry, "registry.example.com");
        assert.deepEqual(svc.regions, [], "no ECR login for another registry");
    });
});

describe("ci-images wait (registry model)", () => {
    before(async () => {
        root = cliFixtureProject();
        plan = await planStackFile(root, "ci", { env: {}, useHashCache: false });
    });

    it("prints only the digest-pinned ref of the tested build, with manifest requests only (a pull-only role)", async () => {
        const reg = ecrRegistry({ denyTagsList: true });
        const digest = pushBuild(reg, "nightly", { tested: true });
        const r = await runCli(["wait", image("nightly").name, "--stack", "ci", "--root", root], { services: services(reg) });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, `${HOST}/${image("nightly").repositoryName}:${image("nightly").tag}@${digest}\n`);
        assert.deepEqual(reg.requests.filter((q) => !q.startsWith("HEAD /v2/")), [], "no tags list, no GET");
    });

    it("polls until another job's build is tested, then answers; an untested push does not count", async () => {
        const reg = ecrRegistry({ denyTagsList: true });
        let digest = "";
        const svc = services(reg, (n) => {
            if (n === 1) pushBuild(reg, "habitat", { tested: false }); // pushed, smoke test still running
            if (n === 3) {
                // Its smoke test passed: the marker lands on the pushed digest.
                const repo = image("habitat").repositoryName;
                digest = reg.tagDigest(repo, image("habitat").tag)!;
                reg.push(repo, reg.repositories.get(repo)!.manifests.get(digest)!, [markerTag(image("habitat").cell.label, image("habitat").contentHash)]);
            }
        });
        const r = await runCli(["wait", image("habitat").name, "--stack", "ci", "--root", root, "--interval", "20s", "--json"], { services: svc });
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(JSON.parse(r.stdout), { name: image("habitat").name, ref: `${HOST}/${image("habitat").repositoryName}:${image("habitat").tag}@${digest}` });
        assert.deepEqual(svc.slept, [20_000, 20_000, 20_000], "three waits of --interval");
        assert.equal(r.stderr.match(/no tested build of .* yet/g)?.length, 3);
        assert.match(r.stderr, /tested build found after 4 checks/);
    });

    it("prefers the newest tested build (a forced -r1) over an older one", async () => {
        const reg = ecrRegistry();
        pushBuild(reg, "cpu", { tested: true });
        const forced = pushBuild(reg, "cpu", { tested: true, rebuild: 1 });
        const r = await runCli(["wait", image("cpu").name, "--stack", "ci", "--root", root], { services: services(reg) });
        assert.equal(r.stdout, `${HOST}/${image("cpu").repositoryName}:${forcedTag(image("cpu").cell.label, image("cpu").contentHash, 1)}@${forced}\n`);
    });

    it("times out with exit 1 naming the image, its tag and the registry", async () => {
        const reg = ecrRegistry();
        const svc = services(reg);
        const r = await runCli(["wait", image("base").name, "--stack", "ci", "--root", root, "--timeout", "2m", "--interval", "45s"], { services: svc });
        assert.equal(r.code, 1);
        assert.equal(r.stdout, "", "nothing a $(…) could mistake for a ref");
        assert.deepEqual(svc.slept, [45_000, 45_000, 30_000], "never sleeps past the deadline");
        assert.match(r.stderr, new RegExp(`ci-images wait: timed out after 2m waiting for ${image("base").name.replace(/\./g, "\\.")}: no tested build of ${HOST.replace(/\./g, "\\.")}/${image("base").repositoryName}:${image("base").tag}`));
    });

    it("fails fast for an unknown image, a refused login and a bad duration", async () => {
        const unknown = await runCli(["wait", "nightly-cuda12.4-py3.1", "--stack", "ci", "--root", root], { services: services(ecrRegistry()) });
        assert.equal(unknown.code, 1);
        assert.match(unknown.stderr, /unknown image "nightly-cuda12\.4-py3\.1" in stack ci\. Did you mean nightly-cuda12\.4-py3\.10\?/);
        const svc = services(new FakeRegistry({ authorization: "Basic bm9wZQ==" }));
        const refused = await runCli(["wait", image("base").name, "--stack", "ci", "--root", root], { services: svc });
        assert.equal(refused.code, 1);
        assert.deepEqual(svc.slept, [], "no retry on a refusal");
        assert.match(refused.stderr, /registry 123456789012\.dkr\.ecr\.us-east-1\.amazonaws\.com refused .*401.*Fix: the job needs a registry login that can pull/);
        const bad = await runCli(["wait", image("base").name, "--stack", "ci", "--root", root, "--timeout", "soon"], { services: services(ecrRegistry()) });
        assert.equal(bad.code, 2);
        assert.match(bad.stderr, /--timeout: "soon" is not a duration/);
    });
});

describe("ci-images wait --fallback latest (registry model)", () => {
    before(async () => {
        root = cliFixtureProject();
        plan = await planStackFile(root, "ci", { env: {}, useHashCache: false });
    });

    /** A promoted build of an older content of `family`: its own tags plus `<cell>-latest`, not this checkout's tag. */
    function promoteOlderBuild(reg: FakeRegistry, family: string): string {
        const img = image(family);
        return reg.push(img.repositoryName, ociImage(reg, img.repositoryName, `${family}-older`, "2026-11-22T02:17:00Z"), [`${img.cell.label}-h000000000000`, img.latestTag]);
    }

    it("prints the promoted -latest pinned to its digest and warns on stderr when this checkout's content tag is not built; exit 0 after one check", async () => {
        const reg = ecrRegistry({ denyTagsList: true });
        const latest = promoteOlderBuild(reg, "nightly");
        const svc = services(reg);
        const r = await runCli(["wait", image("nightly").name, "--stack", "ci", "--root", root, "--fallback", "latest"], { services: svc });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, `${HOST}/${image("nightly").repositoryName}:${image("nightly").latestTag}@${latest}\n`, "only the ref, for $(…)");
        assert.match(r.stderr, new RegExp(`ci-images: warning: ${image("nightly").name.replace(/\./g, "\\.")}: this checkout's build ${image("nightly").tag} is not built and tested yet; using the promoted ${image("nightly").latestTag.replace(/\./g, "\\.")}`));
        assert.deepEqual(svc.slept, [], "no 90-minute wait");
        assert.deepEqual(reg.requests.filter((q) => !q.startsWith("HEAD /v2/")), [], "manifest HEADs only (the runner pull role)");
    });

    it("without --fallback the same registry makes wait fail with exit 1 and print nothing on stdout", async () => {
        const reg = ecrRegistry({ denyTagsList: true });
        promoteOlderBuild(reg, "nightly");
        const r = await runCli(["wait", image("nightly").name, "--stack", "ci", "--root", root, "--timeout", "1m", "--interval", "30s"], { services: services(reg) });
        assert.equal(r.code, 1);
        assert.equal(r.stdout, "");
        assert.match(r.stderr, /timed out after 1m/);
    });

    it("prefers this checkout's tested build over -latest (no warning)", async () => {
        const reg = ecrRegistry();
        promoteOlderBuild(reg, "cpu");
        const digest = pushBuild(reg, "cpu", { tested: true });
        const r = await runCli(["wait", image("cpu").name, "--stack", "ci", "--root", root, "--fallback", "latest", "--json"], { services: services(reg) });
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(JSON.parse(r.stdout), { name: image("cpu").name, ref: `${HOST}/${image("cpu").repositoryName}:${image("cpu").tag}@${digest}` });
        assert.doesNotMatch(r.stderr, /warning/);
    });

    it("an explicit --timeout waits that long before falling back; the JSON says it fell back", async () => {
        const reg = ecrRegistry();
        const latest = promoteOlderBuild(reg, "base");
        const svc = services(reg);
        const r = await runCli(["wait", image("base").name, "--stack", "ci", "--root", root, "--fallback", "latest", "--timeout", "1m", "--interval", "30s", "--json"], { services: svc });
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(svc.slept, [30_000, 30_000]);
        assert.deepEqual(JSON.parse(r.stdout), { name: image("base").name, ref: `${HOST}/${image("base").repositoryName}:${image("base").latestTag}@${latest}`, fallback: "latest" });
    });

    it("fails with exit 1 when nothing was promoted either, and exit 2 for an unknown fallback", async () => {
        const none = await runCli(["wait", image("nightly").name, "--stack", "ci", "--root", root, "--fallback", "latest"], { services: services(ecrRegistry()) });
        assert.equal(none.code, 1);
        assert.equal(none.stdout, "");
        assert.match(none.stderr, new RegExp(`no promoted ${image("nightly").latestTag.replace(/\./g, "\\.")} to fall back to .*Fix: run the weekly-rebuild workflow`));
        const bad = await runCli(["wait", image("nightly").name, "--stack", "ci", "--root", root, "--fallback", "newest"], { services: services(ecrRegistry()) });
        assert.equal(bad.code, 2);
        assert.match(bad.stderr, /--fallback: "newest" is not a fallback \(only: latest\)/);
    });
});

describe("ci-images status --max-age (registry model)", () => {
    before(async () => {
        root = cliFixtureProject();
        plan = await planStackFile(root, "ci", { env: {}, useHashCache: false });
    });

    const weekly = () => plan.images.filter((i) => i.dateRebuilt);

    /** Promotes every weekly-rebuilt image with a build created at `created` (its -latest only). */
    function promoteWeekly(reg: FakeRegistry, created: (name: string) => string): void {
        for (const img of weekly()) reg.push(img.repositoryName, ociImage(reg, img.repositoryName, `${img.name}-promoted`, created(img.name)), [img.latestTag]);
    }

    it("the fixture has weekly-rebuilt and other images", () => {
        assert.ok(weekly().length >= 1 && weekly().length < plan.images.length);
    });

    it("exits 1 naming the image when a promoted -latest is older than --max-age; other families' age does not count", async () => {
        const reg = ecrRegistry();
        const old = weekly()[0].name;
        promoteWeekly(reg, (name) => (name === old ? "2026-11-15T02:17:00Z" : "2026-11-22T02:17:00Z")); // 9d 9h 43m and 2d 9h 43m before NOW
        pushBuild(reg, "base", { tested: true, latest: true, created: "2026-01-01T00:00:00Z" }); // months old, not weekly
        const r = await runCli(["status", "--stack", "ci", "--root", root, "--max-age", "8d"], { services: services(reg) });
        assert.equal(r.code, 1, r.stderr);
        const lines = r.stderr.trim().split("\n");
        assert.equal(lines.length, 1, r.stderr);
        assert.match(lines[0], new RegExp(`^ci-images status: ${old.replace(/\./g, "\\.")}: the promoted \\S+-latest was built 9d 9h ago, over --max-age 8d\\. Fix: check that the weekly-rebuild workflow runs`));
        assert.match(r.stdout, new RegExp(`promotions within --max-age 8d: ${weekly().length - 1} of ${weekly().length} weekly-rebuilt images`));
    });

    it("exits 0 when every weekly promotion is recent, and without --max-age whatever the ages", async () => {
        const reg = ecrRegistry();
        promoteWeekly(reg, () => "2026-11-22T02:17:00Z");
        const fresh = await runCli(["status", "--stack", "ci", "--root", root, "--max-age", "8d", "--json"], { services: services(reg) });
        assert.equal(fresh.code, 0, fresh.stderr);
        const json = JSON.parse(fresh.stdout);
        assert.equal(json.maxAgeSeconds, 8 * 86400);
        assert.deepEqual(json.promotions.map((p: { name: string; stale: boolean; ageSeconds: number }) => [p.name, p.stale, p.ageSeconds]), weekly().map((i) => [i.name, false, 2 * 86400 + 9 * 3600 + 43 * 60]));

        const old = ecrRegistry();
        promoteWeekly(old, () => "2026-10-01T00:00:00Z");
        assert.equal((await runCli(["status", "--stack", "ci", "--root", root], { services: services(old) })).code, 0);
        assert.equal((await runCli(["status", "--stack", "ci", "--root", root, "--max-age", "8d"], { services: services(old) })).code, 1);
    });

    it("a weekly image that was never promoted is stale; a bad duration is a usage error", async () => {
        const r = await runCli(["status", "--stack", "ci", "--root", root, "--max-age", "8d"], { services: services(ecrRegistry()) });
        assert.equal(r.code, 1);
        assert.match(r.stderr, /the promoted \S+-latest was never promoted, over --max-age 8d/);
        const bad = await runCli(["status", "--stack", "ci", "--root", root, "--max-age", "a week"], { services: services(ecrRegistry()) });
        assert.equal(bad.code, 2);
        assert.match(bad.stderr, /--max-age: "a week" is not a duration like 30m, 15s, 1h or 8d/);
    });
});

describe("ci-images status --max-age without a readable config blob (registry model)", () => {
    before(async () => {
        root = cliFixtureProject();
        plan = await planStackFile(root, "ci", { env: {}, useHashCache: false });
    });

    it("dates a promotion by the newest dated tag on -latest's digest; none within the window is stale", async () => {
        const { ociManifest } = await import("./fakeRegistry");
        const weekly = plan.images.filter((i) => i.dateRebuilt);
        const reg = ecrRegistry();
        // Manifests whose config blob the registry does not hold (imageCreated finds nothing).
        weekly.forEach((img, i) => reg.push(img.repositoryName, ociManifest(`noblob-${img.name}`), [img.latestTag, `${img.cell.label}-${i === 0 ? "20261115" : "20261122"}`]));
        const r = await runCli(["status", "--stack", "ci", "--root", root, "--max-age", "8d", "--json"], { services: services(reg) });
        assert.equal(r.code, 1, r.stderr);
        const ages = JSON.parse(r.stdout).promotions.map((p: { name: string; ageSeconds: number | null; stale: boolean }) => [p.name, p.ageSeconds, p.stale]);
        // NOW is 2026-11-24T12:00Z: 2026-11-22 00:00Z is 2d 12h ago, 2026-11-15 9d 12h ago.
        assert.deepEqual(ages, weekly.map((img, i) => [img.name, i === 0 ? 9 * 86400 + 12 * 3600 : 2 * 86400 + 12 * 3600, i === 0]));
        assert.match(r.stderr, /was built 9d 12h ago, over --max-age 8d/);
    });

    it("a -latest with neither a readable config nor a dated tag in the window has no date, and counts as stale", async () => {
        const { ociManifest } = await import("./fakeRegistry");
        const reg = ecrRegistry();
        for (const img of plan.images.filter((i) => i.dateRebuilt)) reg.push(img.repositoryName, ociManifest(`old-${img.name}`), [img.latestTag, `${img.cell.label}-20261001`]);
        const r = await runCli(["status", "--stack", "ci", "--root", root, "--max-age", "8d"], { services: services(reg) });
        assert.equal(r.code, 1);
        assert.match(r.stderr, /has no readable build date, over --max-age 8d/);
    });
});
