import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import {
    baseImageRequirement,
    DEFAULT_BASE_REGISTRY_URL,
    DEFAULT_PYTORCH_INDEX_URL,
    formatPreflightProblems,
    parseBearerChallenge,
    parseWheelName,
    preflight,
    PreflightImage,
    simplePageFiles,
    wheelRequirement,
} from "../lib/images/preflight";
import { catalog, completeFixture, DOCKERFILES, Fixture, fixtureFetch, torchWheels } from "./preflightFixture";

const ORIGIN = "http://fixture.invalid";
const root = path.resolve(__dirname, "..");

function run(fixture: Fixture, images: PreflightImage[] = catalog(["13.0.2", "13.2.1"], ["3.12", "3.13"])) {
    return preflight({ images, dockerfiles: DOCKERFILES, fetch: fixtureFetch(fixture, ORIGIN), indexUrl: `${ORIGIN}/whl`, registryUrl: ORIGIN });
}

describe("preflight: every cell present", () => {
    it("reports nothing when every wheel and base image exists", async () => {
        assert.deepStrictEqual(await run(completeFixture()), []);
    });

    it("reads each index page and each base tag once, however many cells share them", async () => {
        const fixture = completeFixture();
        await run(fixture);
        const gets = fixture.log.filter((r) => r.path.startsWith("/whl/")).map((r) => r.path).sort();
        assert.deepStrictEqual(gets, ["/whl/cpu/torch/", "/whl/cu130/torch/", "/whl/cu132/torch/", "/whl/nightly/cu130/torch/", "/whl/nightly/cu132/torch/"]);
        const tokenRequests = fixture.log.filter((r) => r.path.startsWith("/token"));
        assert.strictEqual(tokenRequests.length, 2, "one token per repository scope (nvidia/cuda, library/python)");
    });

    it("defaults to PyTorch's index and Docker Hub's registry API", () => {
        assert.strictEqual(DEFAULT_PYTORCH_INDEX_URL, "https://download.pytorch.org/whl");
        assert.strictEqual(DEFAULT_BASE_REGISTRY_URL, "https://registry-1.docker.io");
    });
});

describe("preflight: missing and partially missing cells", () => {
    it("a CUDA version PyTorch stopped publishing nightlies for names every nightly-derived cell and the matrix fix", async () => {
        const fixture = completeFixture();
        delete fixture.index["nightly/cu130"];
        const problems = await run(fixture);
        assert.deepStrictEqual(problems.map((p) => p.image).sort(), ["habitat-cuda13.0-py3.12", "habitat-cuda13.0-py3.13", "nightly-cuda13.0-py3.12", "nightly-cuda13.0-py3.13"]);
        const nightly = problems.find((p) => p.image === "nightly-cuda13.0-py3.12")!;
        assert.strictEqual(nightly.message, `the wheel index has no nightly cu130 channel (GET ${ORIGIN}/whl/nightly/cu130/torch/ → 404)`);
        assert.match(nightly.fix, /PyTorch does not publish nightly wheels for CUDA 13\.0\.2: move mlci:matrix\.cuda \(or mlci:families\.nightly\.matrix\.cuda\)/);
        const habitat = problems.find((p) => p.image === "habitat-cuda13.0-py3.12")!;
        assert.match(habitat.fix, /mlci:families\.nightly\.matrix\.cuda/, "the child inherits its parent's torch, so the fix names the parent family");
    });

    it("one Python tag missing fails only that Python's cells", async () => {
        const fixture = completeFixture();
        fixture.index["nightly/cu132"] = torchWheels("2.16.0.dev20261122+cu132", ["cp312", "cp313t"]);
        const problems = await run(fixture);
        assert.deepStrictEqual(problems.map((p) => p.image).sort(), ["habitat-cuda13.2-py3.13", "nightly-cuda13.2-py3.13"]);
        assert.strictEqual(problems[0].message, `${ORIGIN}/whl/nightly/cu132/torch/ has no torch nightly wheel for cp313 (Python 3.13)`);
        assert.match(problems[0].fix, /^drop Python 3\.13 from mlci:matrix\.python, or restrict the family with mlci:families\.(nightly|habitat)\.matrix\.python/);
    });

    it("a free-threaded wheel (cp313t) does not count for cp313", async () => {
        const fixture = completeFixture();
        fixture.index.cu132 = [...torchWheels("2.15.0+cu132", ["cp312"]), "torch-2.15.0+cu132-cp313-cp313t-manylinux_2_28_x86_64.whl"];
        const problems = await run(fixture);
        assert.deepStrictEqual(problems.map((p) => p.image), ["stable-cuda13.2-py3.13"]);
    });

    it("arm64 missing for a multi-platform family names the platform and the platforms fix", async () => {
        const fixture = completeFixture();
        fixture.index.cpu = [...torchWheels("2.15.0+cpu", ["cp312", "cp313"], ["x86_64"]), ...torchWheels("2.15.0", ["cp313"], ["aarch64"])];
        const problems = await run(fixture);
        assert.deepStrictEqual(problems, [
            {
                image: "cpu-py3.12",
                message: `${ORIGIN}/whl/cpu/torch/ has no torch 2.15.0 wheel for cp312 on linux/arm64 (aarch64)`,
                fix: 'remove linux/arm64 from mlci:families.cpu.platforms, or move the cell to one with linux/arm64 wheels; see docs/catalog.md, "Moving the matrix when PyTorch moves"',
            },
        ]);
    });

    it("a pinned stable release missing from a CUDA channel names TORCH_VERSION", async () => {
        const fixture = completeFixture();
        fixture.index.cu130 = torchWheels("2.14.0+cu130", ["cp312", "cp313"]);
        const problems = await run(fixture);
        assert.deepStrictEqual(problems.map((p) => p.image).sort(), ["stable-cuda13.0-py3.12", "stable-cuda13.0-py3.13"]);
        assert.strictEqual(problems[0].message, `${ORIGIN}/whl/cu130/torch/ has no torch 2.15.0 wheel for linux/amd64`);
        assert.match(problems[0].fix, /^set mlci:families\.stable\.buildArgs\.TORCH_VERSION to a release published for CUDA 13\.0\.2/);
    });

    it("a release build is not taken for a nightly, nor a nightly for a release", async () => {
        const fixture = completeFixture();
        fixture.index["nightly/cu132"] = torchWheels("2.15.0+cu132", ["cp312", "cp313"]);
        const problems = await run(fixture);
        assert.deepStrictEqual(problems.map((p) => p.image).sort(), ["habitat-cuda13.2-py3.12", "habitat-cuda13.2-py3.13", "nightly-cuda13.2-py3.12", "nightly-cuda13.2-py3.13"]);
    });

    it("a base image tag that does not exist is named with the registry URL", async () => {
        const fixture = completeFixture();
        fixture.tags = fixture.tags.filter((t) => t !== "nvidia/cuda:13.0.2-cudnn-devel-ubuntu24.04");
        const problems = await run(fixture);
        assert.deepStrictEqual(problems.map((p) => p.image).sort(), ["base-cuda13.0-py3.12", "base-cuda13.0-py3.13"]);
        assert.strictEqual(problems[0].message, `base image nvidia/cuda:13.0.2-cudnn-devel-ubuntu24.04 does not exist (HEAD ${ORIGIN}/v2/nvidia/cuda/manifests/13.0.2-cudnn-devel-ubuntu24.04 → 404)`);
        assert.match(problems[0].fix, /^use a tag that nvidia\/cuda publishes: change the cell \(mlci:matrix\.cuda \/ mlci:matrix\.python\) or mlci:families\.base\.buildArgs/);
    });

    it("an unreachable index or registry is a problem, not a pass", async () => {
        const failing = async () => {
            throw new Error("fetch failed: connect ECONNREFUSED");
        };
        const problems = await preflight({ images: catalog(["13.2.1"], ["3.12"]), dockerfiles: DOCKERFILES, fetch: failing, indexUrl: `${ORIGIN}/whl`, registryUrl: ORIGIN });
        assert.strictEqual(problems.length, 6, "4 wheel pages (nightly, stable, habitat, cpu) and 2 base images (base, cpu)");
        assert.ok(problems.every((p) => /ECONNREFUSED/.test(p.message)), formatPreflightProblems(problems));
    });

    it("formats one line per problem with its fix", async () => {
        const fixture = completeFixture();
        fixture.tags = [];
        const text = formatPreflightProblems(await run(fixture, catalog(["13.2.1"], ["3.12"])));
        assert.strictEqual(
            text.split("\n")[0],
            `base-cuda13.2-py3.12: base image nvidia/cuda:13.2.1-cudnn-devel-ubuntu24.04 does not exist (HEAD ${ORIGIN}/v2/nvidia/cuda/manifests/13.2.1-cudnn-devel-ubuntu24.04 → 404). Fix: use a tag that nvidia/cuda publishes: change the cell (mlci:matrix.cuda / mlci:matrix.python) or mlci:families.base.buildArgs (e.g. UBUNTU_VERSION); see docs/catalog.md, "Moving the matrix when PyTorch moves"`,
        );
    });
});

describe("preflight: registry API v2 Bearer token flow", () => {
    it("answers the 401 challenge with a token from its realm (service and scope from the challenge) and retries with it", async () => {
        const fixture = completeFixture();
        assert.deepStrictEqual(await run(fixture, catalog(["13.2.1"], ["3.12"]).filter((i) => i.family === "base")), []);
        const seq = fixture.log.map((r) => `${r.method} ${r.path}${r.headers.authorization ? " (auth)" : ""}`);
        assert.deepStrictEqual(seq, [
            "HEAD /v2/nvidia/cuda/manifests/13.2.1-cudnn-devel-ubuntu24.04",
            "GET /token?service=registry.fixture&scope=repository%3Anvidia%2Fcuda%3Apull",
            "HEAD /v2/nvidia/cuda/manifests/13.2.1-cudnn-devel-ubuntu24.04 (auth)",
        ]);
        assert.match(fixture.log[0].headers.accept ?? "", /application\/vnd\.oci\.image\.index\.v1\+json/);
    });

    it("a 401 without a Bearer challenge is reported", async () => {
        const fetch = async () => ({ status: 401, headers: { get: (n: string) => (n === "www-authenticate" ? 'Basic realm="x"' : null) }, text: async () => "" });
        const problems = await preflight({ images: catalog(["13.2.1"], ["3.12"]).filter((i) => i.family === "base"), dockerfiles: DOCKERFILES, fetch, registryUrl: ORIGIN });
        assert.strictEqual(problems.length, 1);
        assert.match(problems[0].message, /401 without a Bearer challenge/);
    });

    it("parses Bearer challenges and rejects other schemes", () => {
        assert.deepStrictEqual(parseBearerChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:nvidia/cuda:pull"'), {
            realm: "https://auth.docker.io/token",
            service: "registry.docker.io",
            scope: "repository:nvidia/cuda:pull",
        });
        assert.deepStrictEqual(parseBearerChallenge('bearer realm="https://ghcr.io/token"'), { realm: "https://ghcr.io/token", service: undefined, scope: undefined });
        assert.strictEqual(parseBearerChallenge('Basic realm="registry"'), undefined);
        assert.strictEqual(parseBearerChallenge(null), undefined);
    });
});

describe("preflight: what a cell requires", () => {
    const images = catalog(["13.2.1"], ["3.12"]);
    const byName = new Map(images.map((i) => [i.name, i]));
    const req = (name: string) => wheelRequirement(byName.get(name)!, byName);

    it("stable takes its pinned release, nightly the nightly, a child its parent's, base none", () => {
        assert.deepStrictEqual(req("stable-cuda13.2-py3.12"), { channel: "stable", variant: "cu132", version: "2.15.0", pythonTag: "cp312", platforms: ["linux/amd64"], family: "stable" });
        assert.deepStrictEqual(req("nightly-cuda13.2-py3.12"), { channel: "nightly", variant: "cu132", pythonTag: "cp312", platforms: ["linux/amd64"], family: "nightly" });
        assert.deepStrictEqual(req("habitat-cuda13.2-py3.12"), { channel: "nightly", variant: "cu132", pythonTag: "cp312", platforms: ["linux/amd64"], family: "nightly" });
        assert.deepStrictEqual(req("cpu-py3.12"), { channel: "stable", variant: "cpu", version: "2.15.0", pythonTag: "cp312", platforms: ["linux/amd64", "linux/arm64"], family: "cpu" });
        assert.strictEqual(req("base-cuda13.2-py3.12"), undefined);
    });

    it("the real root Dockerfiles name their upstream base images (BASE_REGISTRY dropped)", () => {
        const base = fs.readFileSync(path.join(root, "docker/base/Dockerfile"), "utf8");
        const D = `sha256:${"d".repeat(64)}`;
        assert.deepStrictEqual(baseImageRequirement(base, { CUDA_VERSION: "13.2.1", CUDNN_VARIANT: "cudnn", PYTHON_VERSION: "3.12", UPSTREAM_IMAGE: `nvidia/cuda:13.2.1-devel-ubuntu24.04@${D}` }), {
            repository: "nvidia/cuda",
            tag: "13.2.1-devel-ubuntu24.04",
            digest: D,
        });
        const cpu = fs.readFileSync(path.join(root, "docker/cpu/Dockerfile"), "utf8");
        assert.deepStrictEqual(baseImageRequirement(cpu, { PYTHON_VERSION: "3.13", TORCH_VERSION: "2.15.0", UPSTREAM_IMAGE: `library/python:3.13-slim-bookworm@${D}` }), { repository: "library/python", tag: "3.13-slim-bookworm", digest: D });
        assert.strictEqual(baseImageRequirement(base, { CUDA_VERSION: "13.2.1" }), undefined, "UPSTREAM_IMAGE has no value");
        assert.deepStrictEqual(baseImageRequirement("FROM python:3.12-slim\n", {}), { repository: "library/python", tag: "3.12-slim" });
        assert.deepStrictEqual(baseImageRequirement("FROM ghcr.io/org/img:1.0 AS x\n", {}), { repository: "org/img", tag: "1.0" });
    });

    it("reads wheel names from simple pages, percent-decoded", () => {
        const html = '<a href="/whl/nightly/cu132/torch-2.16.0.dev20261122%2Bcu132-cp312-cp312-manylinux_2_28_x86_64.whl#sha256=ab">torch</a>\n<a href=\'other.tar.gz\'>x</a>';
        assert.deepStrictEqual(simplePageFiles(html), ["torch-2.16.0.dev20261122+cu132-cp312-cp312-manylinux_2_28_x86_64.whl", "other.tar.gz"]);
        assert.deepStrictEqual(parseWheelName("torch-2.15.0+cpu-cp313-cp313t-manylinux_2_28_aarch64.whl"), {
            name: "torch",
            version: "2.15.0+cpu",
            pythonTags: ["cp313"],
            abiTags: ["cp313t"],
            platformTags: ["manylinux_2_28_aarch64"],
        });
        assert.strictEqual(parseWheelName("torch-2.15.0.tar.gz"), undefined);
    });
});
