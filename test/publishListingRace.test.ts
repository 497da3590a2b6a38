/**
 * publish lists each repository once, then resolves the adoptable build's digest with a manifest
 * HEAD. Between the two the registry may lose the tag (a lifecycle expiry, a manual delete): the
 * marked build must then NOT be adopted, or its children would build FROM `<repo>:<tag>@` with no
 * digest (cli/commands/publish.ts, the `adoptable.digest === ""` line).
 */
import { strict as assert } from "assert";
import { PassThrough } from "stream";
import { publishImages, PublishRegistry } from "../cli/commands/publish";
import type { ImageBuilder } from "../cli/dockerPublish";
import { markerTag } from "../lib/images/tags";
import { FetchLike, RegistryHttpClient } from "../lib/registry/registryHttp";
import { planStack, StackPlan } from "../lib/stackPlan";
import { FakeRegistry, ociManifest } from "./fakeRegistry";
import { catalogConfig, catalogFiles, writeTree } from "./fixtures";

const HOST = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const err = new PassThrough().resume();

describe("publish: a marked build whose tag no longer resolves is not adopted", () => {
    let plan: StackPlan;
    before(async () => {
        plan = await planStack(catalogConfig(), { projectRoot: writeTree(catalogFiles()), env: {}, useHashCache: false });
    });

    it("the listing still names the tag, its HEAD answers 404: the image is rebuilt and its children build FROM a digest-pinned ref", async () => {
        const reg = new FakeRegistry();
        const root = plan.images.find((i) => i.parent === undefined && plan.images.some((c) => c.parent === i.name))!;
        // A tested build of the root image is listed (content tag + marker on one digest) ...
        const digest = reg.push(root.repositoryName, ociManifest("old-root"), [root.tag, markerTag(root.cell.label, root.contentHash)]);
        // ... but its tag is gone by the time publish resolves it (the HEAD after the listing).
        const vanished = `HEAD /v2/${root.repositoryName}/manifests/${root.tag}`;
        const fetch: FetchLike = async (url, init) => {
            const u = new URL(url);
            if (`${init?.method ?? "GET"} ${u.pathname}` === vanished) return reg.fetch(`${u.origin}/v2/${root.repositoryName}/manifests/nosuchtag`, init);
            return reg.fetch(url, init);
        };
        const registry: PublishRegistry = { host: HOST, client: new RegistryHttpClient({ baseUrl: `https://${HOST}`, fetch }) };
        const builds: { name: string; tag: string; base: string | undefined }[] = [];
        const builder: ImageBuilder = {
            name: "fake",
            async buildAndPush(image, tag, base) {
                builds.push({ name: image.name, tag, base });
                return reg.push(image.repositoryName, ociManifest(`${image.name}-${tag}-new`), [tag]);
            },
            async smokeTest() {},
        };
        const names = [plan.images.find((c) => c.parent === root.name)!.name];
        const done = await publishImages({ err }, plan, registry, builder, { names, dryRun: false, smokeTest: true });

        const rootDone = done.find((d) => d.name === root.name)!;
        assert.equal(rootDone.action, "built", "a build whose tag cannot be resolved is not adopted");
        assert.notEqual(reg.tagDigest(root.repositoryName, rootDone.tag), digest);
        for (const b of builds) {
            if (b.base === undefined) continue;
            assert.match(b.base, new RegExp(`^${HOST.replace(/\./g, "\\.")}/[^@]+:[^@:]+@sha256:[0-9a-f]{64}$`), `${b.name} builds FROM a digest-pinned ref, got ${b.base}`);
        }
        assert.ok(builds.some((b) => b.base !== undefined), "the child was built on the rebuilt parent");
        for (const d of done) assert.match(d.ref ?? "", /@sha256:[0-9a-f]{64}$/, `${d.name}: ${d.ref}`);
    });
});
