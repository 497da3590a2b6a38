/**
 * The program under mocks when a build fails in the middle of `pulumi up`, after its parent was
 * built, smoke-tested and promoted (a child FROMs its parent's promoted ref, so the parent's
 * promotion always comes first): what the registry then holds, and that the next `up` adopts the
 * parent and builds only the child. And the local listing under registry faults.
 */
import { strict as assert } from "assert";
import { markerTag } from "../lib/images/tags";
import { planStack, readStackConfigFile } from "../lib/stackPlan";
import { EcrModel } from "./ecrModel";
import { FakeRegistry, ociManifest } from "./fakeRegistry";
import { faultyFetch } from "./faultyFetch";
import { fakeDigest, PROJECT_ROOT, REGISTRY, RecordedResource, runProgram, runProgramExpectingError } from "./harness";

const IMAGE = "docker-build:index:Image";

/** Every `<repository>:<tag>` → digest of the ECR world. */
function tagsOf(ecr: EcrModel): Map<string, string> {
    const out = new Map<string, string>();
    for (const [repo, r] of ecr.repositories) for (const img of r.images) for (const t of img.tags) out.set(`${repo}:${t}`, img.digest);
    return out;
}

function imageBuilds(resources: RecordedResource[]): Map<string, RecordedResource> {
    return new Map(resources.filter((r) => r.type === IMAGE).map((r) => [r.name.replace(/-build$/, ""), r]));
}

describe("program: a build fails mid-up after its parent was promoted", function () {
    this.timeout(120_000);

    it("the parent stays built, tested and promoted, the child leaves no tag; the next up adopts the parent and builds only the child", async () => {
        const images = (await planStack(readStackConfigFile(PROJECT_ROOT, "dev"), { projectRoot: PROJECT_ROOT, env: {}, useHashCache: false })).images;
        const child = images.find((c) => c.parent !== undefined && images.find((p) => p.name === c.parent)!.parent !== undefined && !images.some((g) => g.parent === c.name))!;
        const parent = images.find((p) => p.name === child.parent)!;
        const missing = new Set([parent.name, child.name]);

        // Every other image is a tested build; the parent and the child have an older, tested build under -latest.
        const world: Record<string, string> = {};
        for (const i of images) {
            if (missing.has(i.name)) {
                const old = fakeDigest(`old:${i.name}`);
                world[`${i.repositoryName}:${i.latestTag}`] = old;
                world[`${i.repositoryName}:${i.cell.label}-h${"0".repeat(12)}`] = old;
                world[`${i.repositoryName}:${markerTag(i.cell.label, "0".repeat(64))}`] = old;
                continue;
            }
            const d = fakeDigest(`registry:${i.name}`);
            world[`${i.repositoryName}:${i.tag}`] = d;
            world[`${i.repositoryName}:${markerTag(i.cell.label, i.contentHash)}`] = d;
        }
        const ecr = EcrModel.fromTagMap(world, [...new Set(images.map((i) => i.repositoryName))]);
        const before = tagsOf(ecr);

        const failure = `docker build of ${child.name} failed: process "/bin/sh -c pip install -r requirements.lock" did not complete successfully: exit code: 1`;
        const { error } = await runProgramExpectingError({ stack: "dev", ecr, failResource: (type, name) => (type === IMAGE && name === `${child.name}-build` ? failure : undefined) });
        assert.match(error.message, /exit code: 1/);

        const after = tagsOf(ecr);
        const parentDigest = after.get(`${parent.repositoryName}:${parent.tag}`);
        assert.ok(parentDigest, "the parent was pushed under its content tag");
        assert.equal(after.get(`${parent.repositoryName}:${markerTag(parent.cell.label, parent.contentHash)}`), parentDigest, "the parent's smoke test passed: marked");
        assert.equal(after.get(`${parent.repositoryName}:${parent.latestTag}`), parentDigest, "the parent was promoted");
        assert.equal(after.get(`${child.repositoryName}:${child.tag}`), undefined, "the failed child pushed nothing");
        assert.equal(after.get(`${child.repositoryName}:${markerTag(child.cell.label, child.contentHash)}`), undefined, "and is not marked");
        assert.equal(after.get(`${child.repositoryName}:${child.latestTag}`), fakeDigest(`old:${child.name}`), "the child's -latest still names its last tested build");
        for (const [ref, digest] of before) {
            if (ref === `${parent.repositoryName}:${parent.latestTag}`) continue; // moved by the promotion, onto a marked digest
            assert.equal(after.get(ref), digest, `${ref} kept`);
        }
        for (const [ref, digest] of after) {
            if (!ref.endsWith("-latest")) continue;
            const repo = ref.slice(0, ref.lastIndexOf(":"));
            assert.ok([...after].some(([r, d]) => d === digest && r.startsWith(`${repo}:`) && /-ok[0-9a-f]{12}(-r\d+)?$/.test(r)), `${ref} points at an unmarked digest`);
        }

        // The next up, nothing failing: the parent is adopted (not rebuilt), only the child is built, FROM the parent's digest.
        const next = await runProgram({ stack: "dev", ecr });
        const builds = imageBuilds(next.resources);
        assert.deepEqual([...builds.keys()], [child.name], "only the child is built");
        assert.equal(next.outputs.images[parent.name].digest, parentDigest, "the parent's build is adopted");
        const base = builds.get(child.name)!.inputs.buildArgs.BASE_IMAGE as string;
        assert.equal(base, `${REGISTRY}/${parent.repositoryName}:${parent.tag}@${parentDigest}`, "the child builds FROM the adopted parent's digest");
        // Why the parent is always promoted before a child can fail: the child's build depends on the promotion.
        const promotion = next.resources.find((r) => r.type === "command:local:Command" && r.name.startsWith(`${parent.name}-promote-`))!;
        assert.ok(builds.get(child.name)!.dependencies.includes(promotion.urn), `${child.name}'s build does not wait for ${promotion.urn}`);
        const childDigest = next.outputs.images[child.name].digest as string;
        assert.equal(ecr.digestOf(child.repositoryName, child.tag), childDigest);
        assert.equal(ecr.digestOf(child.repositoryName, markerTag(child.cell.label, child.contentHash)), childDigest);
        assert.equal(ecr.digestOf(child.repositoryName, child.latestTag), childDigest);
        assert.deepEqual(next.outputs.builtImages, [child.name]);
    });
});

describe("program: the local listing through registry faults (retried, never mistaken for an empty registry)", function () {
    this.timeout(120_000);

    async function localWorld() {
        const images = (await planStack(readStackConfigFile(PROJECT_ROOT, "local"), { projectRoot: PROJECT_ROOT, env: {}, useHashCache: false })).images;
        const reg = new FakeRegistry();
        const digests = new Map(images.map((i) => [i.name, reg.push(i.repositoryName, ociManifest(i.name), [i.tag, markerTag(i.cell.label, i.contentHash)])]));
        return { images, reg, digests };
    }

    it("503, 429 and a reset on the tags lists are retried: every tested build is adopted, one line per retry", async () => {
        const { images, reg, digests } = await localWorld();
        const fetch = faultyFetch(reg.fetch, [
            { path: /tags\/list$/, times: 1, fault: { status: 503 } },
            { path: /tags\/list$/, times: 1, fault: { status: 429, headers: { "Retry-After": "1" } } },
            { path: /tags\/list$/, times: 1, fault: { network: "ECONNRESET" } },
        ]);
        const r = await runProgram({ stack: "local", localRegistry: { fetch } as unknown as FakeRegistry });
        assert.equal(r.byType(IMAGE).length, 0, "nothing rebuilt");
        for (const i of images) assert.equal(r.outputs.images[i.name].digest, digests.get(i.name));
        assert.equal(r.registryRetries.length, 3, r.registryRetries.join("\n"));
        for (const l of r.registryRetries) assert.match(l, /^retrying GET localhost:5000\/v2\/\S+\/tags\/list in [\d.]+s \((503|429, Retry-After|connection reset)\)$/);
    });

    it("a registry that keeps resetting fails the run naming it, instead of listing nothing and rebuilding what is there", async () => {
        const { reg } = await localWorld();
        const fetch = faultyFetch(reg.fetch, [{ path: /tags\/list$/, fault: { network: "ECONNRESET" } }]);
        const { error, resources } = await runProgramExpectingError({ stack: "local", localRegistry: { fetch } as unknown as FakeRegistry });
        assert.match(error.message, /registry lookup of localhost:5000\/ml-ci\/\w+ failed: GET localhost:5000\/v2\/ml-ci\/\w+\/tags\/list: connection reset \(ECONNRESET\) after 5 attempts/);
        assert.equal(resources.filter((x) => x.urn.includes(IMAGE)).length, 0, "nothing was built");
    });
});
