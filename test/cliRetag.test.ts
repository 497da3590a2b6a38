import { strict as assert } from "assert";
import { Writable } from "stream";
import { parseDigestRef, registryBaseUrl, runRetag, RetagUsageError } from "../cli/commands/retag";
import { FakeRegistry, ociManifest } from "./fakeRegistry";

/** A writable that keeps what was written. */
function sink(): Writable & { text: () => string } {
    const chunks: string[] = [];
    const w = new Writable({ write: (c, _e, cb) => (chunks.push(String(c)), cb()) }) as Writable & { text: () => string };
    w.text = () => chunks.join("");
    return w;
}

const HOST = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const REPO = "ml-ci/nightly";

describe("ci-images retag: same-digest tags through the registry API", () => {
    it("puts every tag on the digest without changing it, and leaves a tag already there alone", async () => {
        const reg = new FakeRegistry();
        const digest = reg.push(REPO, ociManifest("build-1"), ["cuda13.2-py3.12-h0123456789ab"]);
        const out = sink();
        const code = await runRetag([`${HOST}/${REPO}@${digest}`, "cuda13.2-py3.12-ok0123456789ab", "cuda13.2-py3.12-latest"], { fetch: reg.fetch, out, err: sink() });
        assert.equal(code, 0);
        assert.equal(reg.tagDigest(REPO, "cuda13.2-py3.12-ok0123456789ab"), digest);
        assert.equal(reg.tagDigest(REPO, "cuda13.2-py3.12-latest"), digest);
        assert.match(out.text(), /^tagged .*:cuda13\.2-py3\.12-latest -> sha256:/m);
        const again = sink();
        assert.equal(await runRetag([`${HOST}/${REPO}@${digest}`, "cuda13.2-py3.12-latest"], { fetch: reg.fetch, out: again, err: sink() }), 0);
        assert.match(again.text(), /^unchanged /m);
    });

    it("sends MLCI_REGISTRY_AUTH as Basic auth (ECR: AWS:<token>)", async () => {
        const reg = new FakeRegistry();
        const digest = reg.push(REPO, ociManifest("build-2"), ["x-h0123456789ab"]);
        const seen: string[] = [];
        const fetch: typeof reg.fetch = async (url, init) => {
            seen.push(String((init?.headers as Record<string, string> | undefined)?.Authorization ?? ""));
            return reg.fetch(url, init);
        };
        await runRetag([`${HOST}/${REPO}@${digest}`, "x-latest"], { fetch, auth: "AWS:tok3n", out: sink(), err: sink() });
        assert.ok(seen.length > 0);
        for (const h of seen) assert.equal(h, `Basic ${Buffer.from("AWS:tok3n").toString("base64")}`);
    });

    it("surfaces ECR's immutable-tag refusal verbatim and exits 1", async () => {
        const reg = new FakeRegistry({ immutable: true, exclusionFilters: ["*-latest"] });
        const old = reg.push(REPO, ociManifest("old"), ["x-20261122"]);
        const digest = reg.push(REPO, ociManifest("new"), ["x-h0123456789ab"]);
        assert.notEqual(old, digest);
        const err = sink();
        const code = await runRetag([`${HOST}/${REPO}@${digest}`, "x-latest", "x-20261122"], { fetch: reg.fetch, out: sink(), err });
        assert.equal(code, 1);
        assert.equal(reg.tagDigest(REPO, "x-latest"), digest, "the mutable -latest moved before the refusal");
        assert.equal(reg.tagDigest(REPO, "x-20261122"), old, "the immutable dated tag kept its digest");
        assert.match(err.text(), /already exists in the 'ml-ci\/nightly' repository and cannot be overwritten because the repository is immutable/);
    });

    it("a digest the registry lacks is a registry error naming it, not a crash", async () => {
        const reg = new FakeRegistry();
        reg.push(REPO, ociManifest("other"), ["x-h0123456789ab"]);
        const err = sink();
        const missing = `sha256:${"0".repeat(64)}`;
        assert.equal(await runRetag([`${HOST}/${REPO}@${missing}`, "x-latest"], { fetch: reg.fetch, out: sink(), err }), 1);
        assert.match(err.text(), new RegExp(`retag ${HOST}/ml-ci/nightly@${missing}: .*no such manifest`));
    });

    it("rejects a tag reference, a missing tag list, a bad tag and a malformed auth value as usage errors", async () => {
        const reg = new FakeRegistry();
        const digest = `sha256:${"a".repeat(64)}`;
        const ctx = { fetch: reg.fetch, out: sink(), err: sink() };
        await assert.rejects(runRetag([`${HOST}/${REPO}:x-latest`, "y"], ctx), RetagUsageError);
        await assert.rejects(runRetag([`${HOST}/${REPO}@${digest}`], ctx), /at least one tag/);
        await assert.rejects(runRetag([`${HOST}/${REPO}@${digest}`, "-bad"], ctx), /not a valid tag/);
        await assert.rejects(runRetag([`${HOST}/${REPO}@${digest}`, "x"], { ...ctx, auth: "no-colon" }), /user:password/);
    });

    it("parses references (a tag before the digest is allowed) and uses plain HTTP only on this machine", () => {
        assert.deepEqual(parseDigestRef(`localhost:5000/ml-ci/base:cuda13.2-py3.12-h0123456789ab@sha256:${"b".repeat(64)}`), { host: "localhost:5000", repository: "ml-ci/base", digest: `sha256:${"b".repeat(64)}` });
        assert.equal(registryBaseUrl("localhost:5000"), "http://localhost:5000");
        assert.equal(registryBaseUrl("127.0.0.1:41234"), "http://127.0.0.1:41234");
        assert.equal(registryBaseUrl(HOST), `https://${HOST}`);
        assert.equal(registryBaseUrl("localhost.evil.example"), "https://localhost.evil.example");
    });
});
