import { strict as assert } from "assert";
import { listEcrRepository, listLocalRepository } from "../components/registry/registryBackend";
import { localRegistryHooks } from "../components/registry/localRegistryClient";
import { FakeRegistry, ociManifest } from "./fakeRegistry";
import { networkError } from "./faultyFetch";
import { listImagesAccessDenied, providerError } from "./ecrModel";

describe("registry listings: one call per repository, not-found builds, other errors fail", () => {
    const saved = { ...localRegistryHooks };
    beforeEach(() => Object.assign(localRegistryHooks, { sleep: async () => undefined, random: () => 0.5, onRetry: () => undefined }));
    afterEach(() => Object.assign(localRegistryHooks, saved));

    /** Every fetch is refused (ECONNREFUSED); counts the calls and collects the retry warnings. */
    function refuseConnections(): { calls: number; lines: string[] } {
        const refused = { calls: 0, lines: [] as string[] };
        localRegistryHooks.onRetry = (l) => void refused.lines.push(l);
        localRegistryHooks.fetch = async () => {
            refused.calls++;
            throw networkError("ECONNREFUSED");
        };
        return refused;
    }

    it("local: one tags list per repository; digests left for the adopted tag only", async () => {
        const reg = new FakeRegistry();
        reg.push("ml-ci/base", ociManifest("a"), ["py3.12-h0123456789ab", "py3.12-ok0123456789ab"]);
        localRegistryHooks.fetch = reg.fetch;
        const listing = await listLocalRepository("localhost:5000", "ml-ci/base");
        assert.deepEqual(
            listing.flatMap((l) => l.tags.map((t) => [t, l.digest])).sort(),
            [
                ["py3.12-h0123456789ab", ""],
                ["py3.12-ok0123456789ab", ""],
            ],
        );
        assert.deepEqual(reg.requests, ["GET /v2/ml-ci/base/tags/list"]);
    });

    it("local: an unknown repository lists nothing; so does a refused connection when this run creates the registry, at once", async () => {
        localRegistryHooks.fetch = new FakeRegistry().fetch;
        assert.deepEqual(await listLocalRepository("localhost:5000", "ml-ci/none"), []);
        const refused = refuseConnections();
        assert.deepEqual(await listLocalRepository("localhost:5000", "ml-ci/base", async () => true), []);
        assert.equal(refused.calls, 1, "a refusal is not retried when nothing can listen yet");
        assert.deepEqual(refused.lines, [], "no retry warnings on a first up");
    });

    it("local: a refused connection when the registry container exists is an outage: retried, then the run fails with the fix", async () => {
        const refused = refuseConnections();
        await assert.rejects(
            listLocalRepository("localhost:5000", "ml-ci/base", async () => false, "ml-ci-registry"),
            /^Error: registry lookup of localhost:5000\/ml-ci\/base failed: GET localhost:5000\/v2\/ml-ci\/base\/tags\/list: connection refused \(ECONNREFUSED\) after 5 attempts in [\d.]+s\. ml-ci-registry exists but nothing answers on localhost:5000\. Fix: start it \(docker start ml-ci-registry\) and run again \(nothing was built or pushed\)$/,
        );
        assert.equal(refused.calls, 5);
        assert.equal(refused.lines.length, 4);
    });

    it("local: any other registry answer fails, naming the repository", async () => {
        localRegistryHooks.fetch = async () => ({
            status: 500,
            ok: false,
            headers: { get: () => null },
            text: async () => JSON.stringify({ errors: [{ code: "UNKNOWN", message: "unknown error" }] }),
            arrayBuffer: async () => new ArrayBuffer(0),
        });
        await assert.rejects(listLocalRepository("localhost:5000", "ml-ci/base"), /registry lookup of localhost:5000\/ml-ci\/base failed: GET http:\/\/localhost:5000\/v2\/ml-ci\/base\/tags\/list: HTTP 500 UNKNOWN: unknown error/);
    });

    it("ECR: `couldn't find resource` (no repository yet) lists nothing", async () => {
        const listing = await listEcrRepository("ml-ci/base", async () => {
            throw providerError("reading ECR Images: couldn't find resource");
        });
        assert.deepEqual(listing, []);
    });

    it("ECR: AccessDenied fails the run naming the repository and ecr:ListImages", async () => {
        await assert.rejects(
            listEcrRepository("ml-ci/base", async () => {
                throw providerError(listImagesAccessDenied("ml-ci/base"));
            }),
            (e: Error) => {
                assert.match(e.message, /^registry lookup of ECR repository ml-ci\/base failed: reading ECR Images: .*AccessDeniedException/);
                assert.match(e.message, /Fix: grant ecr:ListImages on that repository/);
                return true;
            },
        );
    });

    it("ECR: throttling after the SDK's retries also fails (never a silent build onto immutable tags)", async () => {
        await assert.rejects(
            listEcrRepository("ml-ci/base", async () => {
                throw providerError("reading ECR Images: operation error ECR: ListImages, exceeded maximum number of attempts, 3, https response error StatusCode: 400, RequestID: x, ThrottlingException: Rate exceeded");
            }),
            /registry lookup of ECR repository ml-ci\/base failed: .*ThrottlingException: Rate exceeded\. The run needs ecr:ListImages on that repository; retry/,
        );
    });
});
