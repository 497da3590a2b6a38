import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { preflight, PreflightImage, PreflightProblem } from "../lib/images/preflight";
import { planStackFile } from "../lib/stackPlan";
import { Fixture, FIXTURE_BASE_DIGEST, fixtureFetch, projectCopyPinnedToFixture, torchWheels } from "./preflightFixture";

const ORIGIN = "http://registry.fixture";
const ROOT = path.resolve(__dirname, "..");
const TAG = "nvidia/cuda:13.2.1-devel-ubuntu24.04";
const DOCKERFILE = "ARG BASE_REGISTRY=docker.io\nARG UPSTREAM_IMAGE\nFROM ${BASE_REGISTRY}/${UPSTREAM_IMAGE}\nRUN true\n";

const base = (digest: string): PreflightImage => ({
    name: "base-cuda13.2-py3.12",
    family: "base",
    cell: { cuda: "13.2.1", python: "3.12" },
    buildArgs: { CUDA_VERSION: "13.2.1", CUDNN_VARIANT: "cudnn", PYTHON_VERSION: "3.12", UPSTREAM_IMAGE: `${TAG}@${digest}` },
    platforms: ["linux/amd64"],
    dateRebuilt: false,
    dockerfile: "docker/base/Dockerfile",
});
const fixture = (over: Partial<Fixture> = {}): Fixture => ({ index: { "nightly/cu132": torchWheels("2.17.0.dev20261201+cu132", ["cp312"]) }, tags: [TAG], log: [], ...over });

async function check(digest: string, f: Fixture): Promise<{ problems: PreflightProblem[]; notes: PreflightProblem[] }> {
    const notes: PreflightProblem[] = [];
    const problems = await preflight({ images: [base(digest)], dockerfiles: { "docker/base/Dockerfile": DOCKERFILE }, fetch: fixtureFetch(f, ORIGIN), indexUrl: `${ORIGIN}/whl`, registryUrl: ORIGIN, onNote: (n) => notes.push(n) });
    return { problems, notes };
}

describe("base images pinned by digest (check --online)", () => {
    const B = `sha256:${"b".repeat(64)}`;
    it("a pin equal to the tag's digest passes quietly", async () => {
        assert.deepEqual(await check(FIXTURE_BASE_DIGEST, fixture()), { problems: [], notes: [] });
    });
    it("tag drift (the tag was re-pushed; the pinned digest still exists) is reported with the bump, without failing", async () => {
        const r = await check(FIXTURE_BASE_DIGEST, fixture({ digests: { [TAG]: B }, oldDigests: [FIXTURE_BASE_DIGEST] }));
        assert.deepEqual(r.problems, []);
        assert.equal(r.notes.length, 1);
        assert.equal(r.notes[0].message, `base tag drift: ${TAG} now points at ${B}, the stack pins ${FIXTURE_BASE_DIGEST} (a re-push, e.g. a security update: NVIDIA/nvidia-container-toolkit#152)`);
        assert.match(r.notes[0].fix, /digest-bump workflow .*mlci:families\.base\.baseImages/);
    });
    it("a pinned digest the registry no longer has fails (the build would fail at FROM)", async () => {
        const r = await check(FIXTURE_BASE_DIGEST, fixture({ digests: { [TAG]: B } }));
        assert.equal(r.problems.length, 1);
        assert.match(r.problems[0].message, /the pinned base image nvidia\/cuda:13\.2\.1-devel-ubuntu24\.04@sha256:a{64} is not in the registry \(GET .*\/manifests\/sha256:a{64} → 404\)/);
    });
    it("the shipped all-zero placeholder fails, naming the tag's current digest", async () => {
        const r = await check(`sha256:${"0".repeat(64)}`, fixture());
        assert.equal(r.problems.length, 1);
        assert.match(r.problems[0].message, /is a placeholder \(all-zero digest\); the tag now points at sha256:a{64}/);
    });
});

describe("base images pinned by digest (stack config and content hash)", () => {
    it("the root families take UPSTREAM_IMAGE from mlci:families.<f>.baseImages, per cell, without -cudnn-", async () => {
        const { images } = await planStackFile(ROOT, "prod", { useHashCache: false });
        for (const image of images.filter((i) => i.parent === undefined)) {
            const ref = image.buildArgs.UPSTREAM_IMAGE;
            assert.match(ref, /@sha256:[0-9a-f]{64}$/, image.name);
            if (image.cell.cuda) assert.ok(ref.startsWith(`nvidia/cuda:${image.cell.cuda}-devel-ubuntu24.04@`), `${image.name}: ${ref}`);
            else assert.ok(ref.startsWith(`library/python:${image.cell.python}-slim-bookworm@`), `${image.name}: ${ref}`);
        }
    });
    it("a digest bump re-tags the root and every image built on it, and nothing else", async () => {
        const dir = projectCopyPinnedToFixture(ROOT);
        const before = await planStackFile(dir, "prod", { useHashCache: false });
        const file = path.join(dir, "Pulumi.prod.yaml");
        fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace(`"13.2.1": nvidia/cuda:13.2.1-devel-ubuntu24.04@${FIXTURE_BASE_DIGEST}`, `"13.2.1": nvidia/cuda:13.2.1-devel-ubuntu24.04@sha256:${"c".repeat(64)}`));
        const after = await planStackFile(dir, "prod", { useHashCache: false });
        const changed = after.images.filter((a) => before.images.find((b) => b.name === a.name)!.tag !== a.tag).map((i) => i.name).sort();
        assert.deepEqual(changed, ["base-cuda13.2-py3.12", "base-cuda13.2-py3.13", "habitat-cuda13.2-py3.12", "nightly-cuda13.2-py3.12", "nightly-cuda13.2-py3.13", "stable-cuda13.2-py3.12", "stable-cuda13.2-py3.13"]);
    });
    it("a family that misses a cell's pin fails validation with the path and the fix", async () => {
        const dir = projectCopyPinnedToFixture(ROOT);
        const file = path.join(dir, "Pulumi.prod.yaml");
        fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace(/ +"13\.0\.2": nvidia\/cuda:[^\n]+\n/, ""));
        await assert.rejects(planStackFile(dir, "prod", { useHashCache: false }), /config mlci:families\.base\.baseImages\["13\.0\.2"\]: is missing: the family builds CUDA 13\.0\.2\. Fix: add the upstream image for 13\.0\.2 pinned by digest/);
    });
});
