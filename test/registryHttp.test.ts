import { strict as assert } from "assert";
import { MEDIA_TYPES, RegistryHttpClient, RegistryHttpError, basicAuthorization, nextLink } from "../lib/registry/registryHttp";
import { FakeRegistry, digestOf, ociManifest } from "./fakeRegistry";

const BASE = "http://registry.test";

function client(reg: FakeRegistry, authorization?: string) {
    return new RegistryHttpClient({ baseUrl: BASE, fetch: reg.fetch, authorization });
}

describe("registryHttp: registry v2 client on an in-memory distribution 2.8 registry", () => {
    it("lists every tag in one request although 2.8 ignores n/last and does not sort", async () => {
        const reg = new FakeRegistry();
        reg.push("ml/base", ociManifest("a"), ["b2", "a1", "c3"]);
        const tags = await client(reg).listTags("ml/base");
        assert.deepEqual([...tags].sort(), ["a1", "b2", "c3"]);
        assert.deepEqual(reg.requests, ["GET /v2/ml/base/tags/list"]);
    });

    it("follows Link pagination when a registry sends it", async () => {
        const reg = new FakeRegistry({ pageSize: 2 });
        reg.push("ml/base", ociManifest("a"), ["t1", "t2", "t3", "t4", "t5"]);
        const tags = await client(reg).listTags("ml/base");
        assert.deepEqual([...tags].sort(), ["t1", "t2", "t3", "t4", "t5"]);
        assert.equal((reg.requests).length, 3);
    });

    it("an unknown repository (NAME_UNKNOWN) and an emptied one (tags: null) list no tags", async () => {
        const reg = new FakeRegistry();
        assert.deepEqual(await client(reg).listTags("ml/nope"), []);
        const d = reg.push("ml/base", ociManifest("a"), ["a1"]);
        reg.deleteDigest("ml/base", d);
        assert.deepEqual(await client(reg).listTags("ml/base"), []);
    });

    it("other errors are thrown with the registry's code", async () => {
        const denied = async () => ({
            status: 401,
            ok: false,
            headers: { get: () => null },
            text: async () => JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }),
            arrayBuffer: async () => new ArrayBuffer(0),
        });
        const c = new RegistryHttpClient({ baseUrl: BASE, fetch: denied });
        const err = await c.listTags("ml/base").then(() => undefined, (e) => e);
        assert.ok(err instanceof RegistryHttpError);
        assert.equal(err.code, "UNAUTHORIZED");
        assert.ok(String(err.message).includes("HTTP 401 UNAUTHORIZED: authentication required"));
    });

    it("resolves digests with the OCI Accept header (2.8 hides OCI manifests without it)", async () => {
        const reg = new FakeRegistry();
        const d = reg.push("ml/base", ociManifest("a"), ["a1"]);
        assert.equal(await client(reg).manifestDigest("ml/base", "a1"), d);
        assert.equal(await client(reg).manifestDigest("ml/base", "zz"), undefined);
        // The fake really hides it without Accept.
        const bare = await reg.fetch(`${BASE}/v2/ml/base/manifests/a1`, { method: "GET" });
        assert.equal(bare.status, 404);
        assert.ok(String(await bare.text()).includes("accept header does not support OCI manifests"));
    });

    it("sends the caller's Authorization header", async () => {
        const reg = new FakeRegistry();
        const seen: (string | undefined)[] = [];
        const spy = new RegistryHttpClient({
            baseUrl: BASE,
            authorization: basicAuthorization("AWS", "tok"),
            fetch: (url, init) => {
                seen.push(init?.headers?.Authorization);
                return reg.fetch(url, init);
            },
        });
        await spy.listTags("ml/base");
        assert.deepEqual(seen, [`Basic ${Buffer.from("AWS:tok").toString("base64")}`]);
    });

    it("retag puts the exact manifest bytes under new tags: the digest is unchanged", async () => {
        const reg = new FakeRegistry();
        const m = ociManifest("a", [10, 20], 5);
        const d = reg.push("ml/base", m, ["py3.12-h0123456789ab"]);
        const results = await client(reg).retag("ml/base", d, ["py3.12-latest", "py3.12-ok0123456789ab"]);
        assert.deepEqual(results, [
            { tag: "py3.12-latest", outcome: "pushed" },
            { tag: "py3.12-ok0123456789ab", outcome: "pushed" },
        ]);
        assert.equal(reg.tagDigest("ml/base", "py3.12-latest"), d);
        assert.equal(reg.tagDigest("ml/base", "py3.12-ok0123456789ab"), d);
        assert.equal(reg.repositories.get("ml/base")!.manifests.size, 1);
        assert.equal(reg.repositories.get("ml/base")!.manifests.get(d)!.mediaType, MEDIA_TYPES.ociManifest);
    });

    it("retag leaves a tag already on the digest alone, so an immutable tag survives a re-run", async () => {
        const reg = new FakeRegistry({ immutable: true });
        const d = reg.push("ml/base", ociManifest("a"), ["py3.12-h0123456789ab", "py3.12-20261122"]);
        const results = await client(reg).retag("ml/base", d, ["py3.12-20261122"]);
        assert.deepEqual(results, [{ tag: "py3.12-20261122", outcome: "unchanged" }]);
        assert.deepEqual(reg.requests.filter((r) => r.startsWith("PUT")), []);
    });

    it("moving an immutable tag to another digest fails with ECR's text; excluded tags move", async () => {
        const reg = new FakeRegistry({ immutable: true, exclusionFilters: ["*-latest"] });
        reg.push("ml/base", ociManifest("old"), ["py3.12-20261122", "py3.12-latest"]);
        const d = reg.push("ml/base", ociManifest("new"), ["py3.12-h0123456789ab"]);
        assert.deepEqual(await client(reg).retag("ml/base", d, ["py3.12-latest"]), [{ tag: "py3.12-latest", outcome: "pushed" }]);
        const err = await client(reg)
            .retag("ml/base", d, ["py3.12-20261122"])
            .then(() => undefined, (e) => e);
        assert.ok(err instanceof RegistryHttpError);
        assert.equal(err.code, "TAG_INVALID");
        assert.ok(String(err.message).includes(
            "The image tag 'py3.12-20261122' already exists in the 'ml/base' repository and cannot be overwritten because the repository is immutable.",
        ));
    });

    it("retag of a digest the repository lacks fails before any PUT", async () => {
        const reg = new FakeRegistry();
        reg.push("ml/base", ociManifest("a"), ["a1"]);
        const missing = digestOf(new TextEncoder().encode("nothing"));
        const err = await client(reg)
            .retag("ml/base", missing, ["x"])
            .then(() => undefined, (e) => e);
        assert.equal(err.message, `retag ml/base@${missing}: no such manifest in the registry`);
        assert.deepEqual(reg.requests.filter((r) => r.startsWith("PUT")), []);
    });

    it("compressed size is config + layers, per platform for an index (attestations excluded)", async () => {
        const reg = new FakeRegistry();
        const amd = ociManifest("amd", [100, 200], 10);
        const arm = ociManifest("arm", [300], 20);
        const att = ociManifest("att", [7], 1);
        const dAmd = reg.push("ml/base", amd, []);
        const dArm = reg.push("ml/base", arm, []);
        const dAtt = reg.push("ml/base", att, []);
        const index = {
            schemaVersion: 2,
            mediaType: MEDIA_TYPES.ociIndex,
            manifests: [
                { mediaType: MEDIA_TYPES.ociManifest, digest: dAmd, size: amd.bytes.length, platform: { os: "linux", architecture: "amd64" } },
                { mediaType: MEDIA_TYPES.ociManifest, digest: dArm, size: arm.bytes.length, platform: { os: "linux", architecture: "arm64", variant: "v8" } },
                {
                    mediaType: MEDIA_TYPES.ociManifest,
                    digest: dAtt,
                    size: att.bytes.length,
                    platform: { os: "unknown", architecture: "unknown" },
                    annotations: { "vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": dAmd },
                },
            ],
        };
        reg.push("ml/base", { mediaType: MEDIA_TYPES.ociIndex, bytes: new TextEncoder().encode(JSON.stringify(index)) }, ["multi"]);
        reg.push("ml/base", amd, ["single"]);
        assert.deepEqual(await client(reg).manifestSize("ml/base", "multi"), { totalBytes: 630, platforms: { "linux/amd64": 310, "linux/arm64/v8": 320 } });
        assert.deepEqual(await client(reg).manifestSize("ml/base", "single"), { totalBytes: 310, platforms: { unknown: 310 } });
        assert.equal(await client(reg).manifestSize("ml/base", "absent"), undefined);
    });

    it("nextLink resolves relative Link targets", () => {
        assert.equal(nextLink('</v2/a/tags/list?last=x&n=2>; rel="next"', `${BASE}/v2/a/tags/list`), `${BASE}/v2/a/tags/list?last=x&n=2`);
        assert.equal(nextLink(null, BASE), undefined);
    });
});
