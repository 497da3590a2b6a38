/**
 * `ci-images publish` decisions against the registry model (test/fakeRegistry.ts) with a fake
 * builder that pushes a manifest per build: what is built, skipped, tagged, and in which order.
 * The real docker path is tested in test/integration/publish.test.ts.
 */
import { strict as assert } from "assert";
import { PassThrough } from "stream";
import { publishImages, PublishOptions, PublishRegistry, selectImages } from "../cli/commands/publish";
import type { ImageBuilder } from "../cli/dockerPublish";
import { UsageError, CliError } from "../cli/context";
import { markerTag, parseTag } from "../lib/images/tags";
import { RegistryHttpClient } from "../lib/registry/registryHttp";
import { planStack, StackPlan } from "../lib/stackPlan";
import { FakeRegistry, ociManifest } from "./fakeRegistry";
import { catalogConfig, catalogFiles, writeTree } from "./fixtures";

const HOST = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

interface BuildCall {
    name: string;
    tag: string;
    base: string | undefined;
}

/** Pushes one manifest per build into the fake registry, as `docker push` would. */
function fakeBuilder(reg: FakeRegistry, opts: { failSmoke?: string } = {}): ImageBuilder & { builds: BuildCall[]; smoked: { ref: string; args: string[] }[] } {
    const builds: BuildCall[] = [];
    const smoked: { ref: string; args: string[] }[] = [];
    return {
        name: "fake",
        builds,
        smoked,
        async buildAndPush(image, tag, base) {
            builds.push({ name: image.name, tag, base });
            return reg.push(image.repositoryName, ociManifest(`${image.name}-${tag}-${builds.length}`), [tag]);
        },
        async smokeTest(ref, args) {
            smoked.push({ ref, args });
            if (opts.failSmoke && ref.includes(`/${opts.failSmoke}:`)) throw new Error("FAIL torch imports");
        },
    };
}

let plan: StackPlan;
const err = new PassThrough().resume();
const ALL: PublishOptions = { names: [], dryRun: false, smokeTest: true };

function registry(reg: FakeRegistry): PublishRegistry {
    return { host: HOST, client: new RegistryHttpClient({ baseUrl: `https://${HOST}`, fetch: reg.fetch }) };
}

describe("ci-images publish (registry model, fake builder)", () => {
    before(async () => {
        plan = await planStack(catalogConfig(), { projectRoot: writeTree(catalogFiles()), env: {}, useHashCache: false });
    });

    it("builds every missing image parents first, each child FROM its parent's digest-pinned ref, and marks only tested builds", async () => {
        const reg = new FakeRegistry();
        const builder = fakeBuilder(reg);
        const done = await publishImages({ err }, plan, registry(reg), builder, ALL);
        assert.deepEqual(builder.builds.map((b) => b.name), plan.images.map((i) => i.name), "plan order: parents first");
        for (const image of plan.images) {
            const build = builder.builds.find((b) => b.name === image.name)!;
            assert.equal(build.tag, image.tag, "the first build pushes the content tag");
            const digest = reg.tagDigest(image.repositoryName, image.tag)!;
            assert.equal(reg.tagDigest(image.repositoryName, markerTag(image.cell.label, image.contentHash)), digest, `${image.name}: marker on the built digest`);
            assert.equal(reg.tagDigest(image.repositoryName, image.latestTag), undefined, "-latest is pulumi up's to move");
            if (image.datedTag) assert.equal(reg.tagDigest(image.repositoryName, image.datedTag), undefined, "so is the dated tag");
            const parent = plan.images.find((p) => p.name === image.parent);
            assert.equal(build.base, parent ? `${HOST}/${parent.repositoryName}:${parent.tag}@${reg.tagDigest(parent.repositoryName, parent.tag)}` : undefined);
            assert.deepEqual(done.find((d) => d.name === image.name), { name: image.name, action: "built", tag: image.tag, ref: `${HOST}/${image.repositoryName}:${image.tag}@${digest}`, smokeTested: true });
        }
        assert.deepEqual(builder.smoked.map((s) => s.ref), done.map((d) => d.ref), "every build is smoke-tested by digest");
        const nightly = builder.smoked.find((s) => s.ref.includes("/nightly:"))!;
        assert.deepEqual(nightly.args, ["--python", "3.10", "--cuda", "12.4", "--size-budget-gb", "10", "--rebuild-epoch", "2026-11-22"], "the program's smoke-test flags (lib/images/smokeTest.ts)");
    });

    it("a second run builds nothing and answers the same refs", async () => {
        const reg = new FakeRegistry();
        const first = await publishImages({ err }, plan, registry(reg), fakeBuilder(reg), ALL);
        const builder = fakeBuilder(reg);
        const second = await publishImages({ err }, plan, registry(reg), builder, ALL);
        assert.deepEqual(builder.builds, []);
        assert.deepEqual(builder.smoked, []);
        assert.deepEqual(second.map((d) => [d.name, d.action, d.ref]), first.map((d) => [d.name, "skipped", d.ref]));
    });

    it("rebuilds an untested build under the next forced tag (the content tag is immutable) and marks that one", async () => {
        const reg = new FakeRegistry({ immutable: true, exclusionFilters: ["*-latest", "cache-*"] });
        const base = plan.images[0];
        const untested = reg.push(base.repositoryName, ociManifest("failed-smoke"), [base.tag]);
        const builder = fakeBuilder(reg);
        await publishImages({ err }, plan, registry(reg), builder, { ...ALL, names: [base.name] });
        assert.equal(builder.builds.length, 1);
        const tag = builder.builds[0].tag;
        assert.equal(parseTag(tag)?.shape, "forced");
        assert.equal(parseTag(tag)?.rebuild, 1);
        assert.equal(reg.tagDigest(base.repositoryName, base.tag), untested, "the content tag was not moved");
        assert.equal(reg.tagDigest(base.repositoryName, markerTag(base.cell.label, base.contentHash, 1)), reg.tagDigest(base.repositoryName, tag));
    });

    it("named images bring their ancestors; an unknown name is a usage error with the nearest name", () => {
        const habitat = plan.images.find((i) => i.family === "habitat")!;
        assert.deepEqual(
            selectImages(plan.images, [habitat.name]).map((i) => i.family),
            ["base", "nightly", "habitat"],
        );
        assert.throws(() => selectImages(plan.images, ["nightly-cuda12.4-py3.1"]), (e: Error) => e instanceof UsageError && /unknown image "nightly-cuda12\.4-py3\.1"\. Did you mean nightly-cuda12\.4-py3\.10\?/.test(e.message));
    });

    it("a failed smoke test stops publish naming the image; the parent stays published and marked, the child unmarked", async () => {
        const reg = new FakeRegistry();
        const nightly = plan.images.find((i) => i.family === "nightly")!;
        const base = plan.images.find((i) => i.name === nightly.parent)!;
        const builder = fakeBuilder(reg, { failSmoke: "nightly" });
        await assert.rejects(publishImages({ err }, plan, registry(reg), builder, { ...ALL, names: [nightly.name] }), (e: Error) => {
            assert.ok(e instanceof CliError);
            assert.match(e.message, new RegExp(`^smoke test of ${nightly.name.replace(/\./g, "\\.")} \\(.*\\) failed: FAIL torch imports\\. The build stays pushed as ${nightly.tag} without its marker`));
            return true;
        });
        assert.ok(reg.tagDigest(base.repositoryName, markerTag(base.cell.label, base.contentHash)));
        assert.ok(reg.tagDigest(nightly.repositoryName, nightly.tag), "pushed");
        assert.equal(reg.tagDigest(nightly.repositoryName, markerTag(nightly.cell.label, nightly.contentHash)), undefined, "not marked");
    });

    it("--no-smoke-test pushes without the marker; --dry-run changes nothing", async () => {
        const reg = new FakeRegistry();
        const base = plan.images[0];
        const builder = fakeBuilder(reg);
        const done = await publishImages({ err }, plan, registry(reg), builder, { names: [base.name], dryRun: false, smokeTest: false });
        assert.deepEqual(builder.smoked, []);
        assert.equal(done[0].smokeTested, false);
        assert.equal(reg.tagDigest(base.repositoryName, markerTag(base.cell.label, base.contentHash)), undefined);

        const empty = new FakeRegistry();
        const dry = fakeBuilder(empty);
        const planned = await publishImages({ err }, plan, registry(empty), dry, { names: [], dryRun: true, smokeTest: true });
        assert.deepEqual(dry.builds, []);
        assert.deepEqual(new Set(planned.map((d) => d.action)), new Set(["would-build"]));
        assert.equal(empty.tagDigest(base.repositoryName, base.tag), undefined);
    });
});

describe("ci-images publish: registry failures", () => {
    before(async () => {
        plan = await planStack(catalogConfig(), { projectRoot: writeTree(catalogFiles()), env: {}, useHashCache: false });
    });

    it("says whether the registry refused the listing or did not answer, and builds nothing", async () => {
        const refused = new FakeRegistry({ denyTagsList: true });
        const builder = fakeBuilder(refused);
        await assert.rejects(publishImages({ err }, plan, registry(refused), builder, ALL), /listing 123456789012\.dkr\.ecr\.us-east-1\.amazonaws\.com\/ml-ci\/\w+ failed: .*HTTP 403 DENIED.*Fix: the caller needs ecr:ListImages/);
        const down: PublishRegistry = { host: "localhost:5000", client: new RegistryHttpClient({ baseUrl: "http://localhost:5000", fetch: async () => Promise.reject(new TypeError("fetch failed")) }) };
        await assert.rejects(publishImages({ err }, plan, down, builder, ALL), /listing localhost:5000\/ml-ci\/\w+ failed: GET http:\/\/localhost:5000\/v2\/ml-ci\/\w+\/tags\/list: network error \(fetch failed\)\. Fix: the registry did not answer.*npm run up:local/);
        assert.deepEqual(builder.builds, []);
    });
});
