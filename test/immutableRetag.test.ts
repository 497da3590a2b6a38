/**
 * A retag on an ECR immutable repository whose manifest PUT landed but whose answer was lost:
 * the retried PUT is refused (ECR refuses any PUT of an existing immutable tag, even of the same
 * digest: aws/containers-roadmap#2179), and the client must read the tag before calling it failed.
 */
import { strict as assert } from "assert";
import { Writable } from "stream";
import { runRetag } from "../cli/commands/retag";
import { RegistryHttpClient, RegistryHttpError } from "../lib/registry/registryHttp";
import { FakeRegistry, ociManifest } from "./fakeRegistry";
import { fakeClock, faultyFetch } from "./faultyFetch";

const REPO = "ml-ci/nightly";
const HOST = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

function sink(): Writable & { text: () => string } {
    const chunks: string[] = [];
    const w = new Writable({ write: (c, _e, cb) => (chunks.push(String(c)), cb()) }) as Writable & { text: () => string };
    w.text = () => chunks.join("");
    return w;
}

function retry(lines: string[] = []) {
    const clock = fakeClock();
    return { now: clock.now, sleep: clock.sleep, random: () => 0.5, onRetry: (l: string) => void lines.push(l) };
}

describe("retag on an immutable repository when a PUT landed but its answer was lost", () => {
    it("the fake registry refuses a same-digest re-PUT of an immutable tag, as ECR does", async () => {
        const reg = new FakeRegistry({ immutable: true });
        const m = ociManifest("a");
        reg.push(REPO, m, ["t"]);
        const res = await reg.fetch(`http://localhost:5000/v2/${REPO}/manifests/t`, { method: "PUT", headers: { "Content-Type": m.mediaType }, body: m.bytes });
        assert.equal(res.status, 400);
        assert.match(await res.text(), /"code":"TAG_INVALID".*already exists in the 'ml-ci\/nightly' repository and cannot be overwritten/);
    });

    it("apply, then reset: the retried PUT is refused, the tag is found on the digest, the retag succeeds", async () => {
        const reg = new FakeRegistry({ immutable: true });
        const digest = reg.push(REPO, ociManifest("b"), ["cuda13.2-py3.12-h0123456789ab"]);
        const fetch = faultyFetch(reg.fetch, [{ method: "PUT", times: 1, fault: { appliedThenReset: "ECONNRESET" } }]);
        const lines: string[] = [];
        const out = sink();
        const err = sink();
        const code = await runRetag([`${HOST}/${REPO}@${digest}`, "cuda13.2-py3.12-ok0123456789ab"], { fetch, out, err, retry: retry(lines) });
        assert.equal(code, 0, err.text());
        assert.equal(out.text(), `tagged ${HOST}/${REPO}:cuda13.2-py3.12-ok0123456789ab -> ${digest}\n`);
        assert.equal(reg.tagDigest(REPO, "cuda13.2-py3.12-ok0123456789ab"), digest);
        assert.deepEqual(fetch.log, [`PUT /v2/${REPO}/manifests/cuda13.2-py3.12-ok0123456789ab → 201 applied, then ECONNRESET`]);
        assert.equal(lines.length, 1);
        // The PUT was sent twice (the second refused), then the tag was read.
        assert.deepEqual(reg.requests.filter((r) => r.includes("cuda13.2-py3.12-ok")).map((r) => r.split(" ")[0]), ["HEAD", "PUT", "PUT", "HEAD"]);
    });

    it("a refusal for a tag that points at another digest still fails, with ECR's text", async () => {
        const reg = new FakeRegistry({ immutable: true });
        const old = reg.push(REPO, ociManifest("old"), ["x-latest"]);
        const digest = reg.push(REPO, ociManifest("new"), []);
        const c = new RegistryHttpClient({ baseUrl: "http://localhost:5000", fetch: reg.fetch, retry: retry() });
        await assert.rejects(c.retag(REPO, digest, ["x-latest"]), (e: RegistryHttpError) => e.status === 400 && e.code === "TAG_INVALID" && /cannot be overwritten because the repository is immutable/.test(e.message));
        assert.equal(reg.tagDigest(REPO, "x-latest"), old);
    });
});
