import { strict as assert } from "assert";
import { indexCoverage, preflight, PreflightImage } from "../lib/images/preflight";
import { Fixture, FIXTURE_BASE_DIGEST, fixtureFetch } from "./preflightFixture";

const ORIGIN = "http://registry.fixture";
const TAG = "library/python:3.12-slim-bookworm";
const DOCKERFILE = "ARG BASE_REGISTRY=docker.io\nARG UPSTREAM_IMAGE\nFROM ${BASE_REGISTRY}/${UPSTREAM_IMAGE}\nRUN true\n";
const cpu = (platforms: string[]): PreflightImage => ({
    name: "cpu-py3.12",
    family: "cpu",
    cell: { python: "3.12" },
    buildArgs: { PYTHON_VERSION: "3.12", UPSTREAM_IMAGE: `${TAG}@${FIXTURE_BASE_DIGEST}` },
    platforms,
    dateRebuilt: false,
    dockerfile: "docker/cpu/Dockerfile",
});
const check = (platforms: string[], manifests: Fixture["manifests"]) =>
    preflight({ images: [cpu(platforms)], dockerfiles: { "docker/cpu/Dockerfile": DOCKERFILE }, fetch: fixtureFetch({ index: {}, tags: [TAG], log: [], manifests }, ORIGIN), indexUrl: `${ORIGIN}/whl`, registryUrl: ORIGIN });

describe("check --online: a pinned base digest covers every platform of its family", () => {
    it("an index listing linux/amd64 and linux/arm64 passes the two-platform cpu family", async () => {
        assert.deepEqual(await check(["linux/amd64", "linux/arm64"], { [FIXTURE_BASE_DIGEST]: { index: true, platforms: ["linux/amd64", "linux/arm64"] } }), []);
    });
    it("a single-platform manifest digest (one platform's, not the index's) fails a multi-platform family, naming the fix", async () => {
        const problems = await check(["linux/amd64", "linux/arm64"], { [FIXTURE_BASE_DIGEST]: { index: false } });
        assert.equal(problems.length, 1);
        assert.equal(problems[0].message, `the pinned base image ${TAG}@${FIXTURE_BASE_DIGEST} is a single-platform manifest (application/vnd.oci.image.manifest.v1+json), not an index of 2 platforms; mlci:families.cpu builds linux/amd64, linux/arm64`);
        assert.match(problems[0].fix, /multi-platform index digest .*mlci:families\.cpu\.baseImages/);
    });
    it("an index without one of the family's platforms fails, naming the missing one", async () => {
        const problems = await check(["linux/amd64", "linux/arm64"], { [FIXTURE_BASE_DIGEST]: { index: true, platforms: ["linux/amd64"] } });
        assert.equal(problems.length, 1);
        assert.match(problems[0].message, /is an index without linux\/arm64 \(it lists linux\/amd64\)/);
    });
    it("a single-platform family may pin a single-platform manifest", async () => {
        assert.deepEqual(await check(["linux/amd64"], { [FIXTURE_BASE_DIGEST]: { index: false } }), []);
    });
    it("indexCoverage reads Docker manifest lists and variants too", () => {
        const list = JSON.stringify({ manifests: [{ platform: { os: "linux", architecture: "amd64" } }, { platform: { os: "linux", architecture: "arm64", variant: "v8" } }] });
        assert.equal(indexCoverage("application/vnd.docker.distribution.manifest.list.v2+json", list, ["linux/amd64", "linux/arm64"]), undefined);
        assert.match(indexCoverage("text/plain", "", ["linux/amd64"])!, /neither an image index nor a manifest/);
    });
});
