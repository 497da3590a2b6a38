/**
 * The preflight against a fixture wheel index and registry served over real HTTP on an
 * ephemeral 127.0.0.1 port, with Node's own fetch: the same code path `ci-images check
 * --online` takes with MLCI_PYTORCH_INDEX_URL / MLCI_BASE_REGISTRY_URL pointed at it.
 * Needs no Docker engine.
 */
import * as assert from "assert";
import { preflight } from "../../lib/images/preflight";
import { catalog, completeFixture, DOCKERFILES, Fixture, serveFixture, torchWheels } from "../preflightFixture";

describe("preflight over HTTP (fixture index and registry on 127.0.0.1)", function () {
    this.timeout(20000);
    let origin: string;
    let fixture: Fixture;

    let served: { origin: string; close: () => Promise<void> };
    before(async () => {
        served = await serveFixture(() => fixture);
        origin = served.origin;
    });
    after(() => served.close());
    beforeEach(() => {
        fixture = completeFixture();
    });

    const check = () =>
        preflight({
            images: catalog(["13.0.2", "13.2.1"], ["3.12", "3.13"]),
            dockerfiles: DOCKERFILES,
            fetch: (url, init) => fetch(url, { ...init, signal: AbortSignal.timeout(5000) }),
            indexUrl: `${origin}/whl`,
            registryUrl: origin,
        });

    it("a complete index and registry give no problem, through the 401 → token → retry flow", async () => {
        assert.deepStrictEqual(await check(), []);
        const auth = fixture.log.filter((r) => r.method === "HEAD" && r.headers.authorization?.startsWith("Bearer "));
        assert.strictEqual(auth.length, 4, "each base tag retried once with a token");
    });

    it("a missing nightly channel, one Python tag and arm64 are each named per cell", async () => {
        delete fixture.index["nightly/cu130"];
        fixture.index.cu132 = torchWheels("2.15.0+cu132", ["cp312"]);
        fixture.index.cpu = [...torchWheels("2.15.0+cpu", ["cp312", "cp313"], ["x86_64"]), ...torchWheels("2.15.0", ["cp312"], ["aarch64"])];
        const problems = await check();
        assert.deepStrictEqual(problems.map((p) => p.image).sort(), [
            "cpu-py3.13",
            "habitat-cuda13.0-py3.12",
            "habitat-cuda13.0-py3.13",
            "nightly-cuda13.0-py3.12",
            "nightly-cuda13.0-py3.13",
            "stable-cuda13.2-py3.13",
        ]);
        assert.match(problems.find((p) => p.image === "cpu-py3.13")!.message, /no torch 2\.15\.0 wheel for cp313 on linux\/arm64 \(aarch64\)$/);
        assert.match(problems.find((p) => p.image === "stable-cuda13.2-py3.13")!.message, /no torch 2\.15\.0 wheel for cp313 \(Python 3\.13\)$/);
    });

    it("a missing base image tag is a 404 after the token flow", async () => {
        fixture.tags = fixture.tags.filter((t) => t !== "library/python:3.13-slim-bookworm");
        const problems = await check();
        assert.deepStrictEqual(problems.map((p) => p.image), ["cpu-py3.13"]);
        assert.match(problems[0].message, /^base image library\/python:3\.13-slim-bookworm does not exist \(HEAD http:\/\/127\.0\.0\.1:\d+\/v2\/library\/python\/manifests\/3\.13-slim-bookworm → 404\)$/);
    });
});
