import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import { build, docker, IntegrationEnv, PROJECT_ROOT, push, registryManifest, useIntegrationEnv } from "./env";

const SCRIPT = path.join(PROJECT_ROOT, "docker", "test_image.sh");
const FIXTURE = path.join(PROJECT_ROOT, "test", "fixtures-docker", "integration", "smoke");
const FRESH = "2.12.0.dev20261120+cu130";
const STALE = "2.12.0.dev20261001+cu130";

/** A fixture image pushed to the test registry: its digest ref and the sizes the registry and engine report. */
interface Pushed {
    ref: string;
    repository: string;
    compressedGb: string;
    uncompressedGb: string;
}

describe("integration: docker/test_image.sh against real images in a real registry", function () {
    this.timeout(10 * 60_000);
    const getEnv = useIntegrationEnv();
    const images: Record<string, Pushed> = {};
    let otherPython: string;

    /** Builds the fake-torch fixture, pushes it under `<ns>/nightly:<tag>`, and drops the local copy (the script must pull it). */
    async function pushFixture(env: IntegrationEnv, tag: string, torchVersion: string, extraArgs: Record<string, string> = {}): Promise<Pushed> {
        const repository = `${env.namespace}/nightly`;
        const local = `${env.registry}/${repository}:${tag}`;
        build(env, { context: FIXTURE, buildArgs: { BASE_IMAGE: env.pythonImage, TORCH_VERSION: torchVersion, TORCH_CUDA: "13.0", ...extraArgs }, tag: local });
        const uncompressed = Number(docker(env, ["image", "inspect", "--format", "{{.Size}}", local]).trim());
        const digest = push(env, local);
        docker(env, ["rmi", local]);
        // Independent of the script: the manifest straight from the registry API.
        const manifest = await registryManifest(env, repository, digest);
        const compressed = manifest.config.size + manifest.layers.reduce((n: number, l: { size: number }) => n + l.size, 0);
        return { ref: `${local}@${digest}`, repository, compressedGb: (compressed / 1e9).toFixed(2), uncompressedGb: (uncompressed / 1e9).toFixed(2) };
    }

    function smoke(ref: string, ...flags: string[]) {
        const res = spawnSync("bash", [SCRIPT, ref, ...flags], { encoding: "utf8", env: getEnv().processEnv, timeout: 300_000 });
        return { status: res.status, stdout: res.stdout, lines: res.stdout.split("\n"), stderr: res.stderr };
    }

    before(async function () {
        const env = getEnv();
        const [major, minor] = env.pythonVersion.split(".").map(Number);
        otherPython = `${major}.${minor + 1}`;
        images.fresh = await pushFixture(env, `cuda13.0-py${env.pythonVersion}-0123456789ab`, FRESH);
        images.wrongPython = await pushFixture(env, `cuda13.0-py${otherPython}-0123456789ab`, FRESH);
        images.stale = await pushFixture(env, `cuda13.0-py${env.pythonVersion}-fedcba987654`, STALE);
        images.brokenDeps = await pushFixture(env, `cuda13.0-py${env.pythonVersion}-0a0a0a0a0a0a`, FRESH, { UV_CHECK_OUTPUT: "goodmod 1.0 requires numpy>=2, which is not installed" });
    });

    it("a good image passes every check, pulling it by digest, with its compressed size from the registry", () => {
        const env = getEnv();
        const img = images.fresh;
        const r = smoke(img.ref, "--torch-version", "2.12.0", "--imports", "goodmod", "--rebuild-epoch", "2026-11-22", "--timeout", "120");
        assert.equal(r.status, 0, r.stdout + r.stderr);
        for (const line of [
            `image: ${img.ref} (family nightly, python ${env.pythonVersion}, cuda 13.0)`,
            `PASS size linux/amd64: compressed ${img.compressedGb} GB <= budget 10 GB (uncompressed ${img.uncompressedGb} GB)`,
            `PASS python: ${env.pythonVersion} (expected ${env.pythonVersion})`,
            `PASS torch: ${FRESH} is a nightly (dev) build of 2.12.0`,
            "PASS freshness: torch built 2026-11-20, 2 days before the rebuild epoch 2026-11-22 (at most 8)",
            "PASS cuda: torch.version.cuda=13.0 (expected 13.0)",
            "PASS import goodmod",
            "PASS pip check: uv pip check finds no broken requirement",
            "SUMMARY: 7 passed, 0 failed",
        ]) {
            assert.ok(r.lines.includes(line), `missing "${line}" in:\n${r.stdout}`);
        }
    });

    it("an image whose Python is not the tag's pyX.Y fails with the python line", () => {
        const env = getEnv();
        const r = smoke(images.wrongPython.ref, "--imports", "goodmod");
        assert.equal(r.status, 1, r.stdout);
        assert.ok(r.lines.includes(`FAIL python: ${env.pythonVersion} (expected ${otherPython})`), r.stdout);
        assert.ok(r.lines.includes("SUMMARY: 5 passed, 1 failed"), r.stdout);
    });

    it("a dependency that fails to import fails with its error, the others still pass", () => {
        const r = smoke(images.fresh.ref, "--imports", "goodmod,brokenmod,json");
        assert.equal(r.status, 1, r.stdout);
        assert.ok(r.lines.includes("FAIL import brokenmod: ImportError: libGL.so.1: cannot open shared object file: No such file or directory"), r.stdout);
        assert.ok(r.lines.includes("PASS import goodmod"), r.stdout);
        assert.ok(r.lines.includes("PASS import json"), r.stdout);
    });

    it("an image over a tiny budget fails on the compressed size read from the registry manifest", () => {
        const img = images.fresh;
        const r = smoke(img.ref, "--size-budget-gb", "0.001", "--imports", "");
        assert.equal(r.status, 1, r.stdout);
        assert.ok(r.lines.includes(`FAIL size linux/amd64: compressed ${img.compressedGb} GB > budget 0.001 GB (uncompressed ${img.uncompressedGb} GB)`), r.stdout);
        assert.ok(Number(img.compressedGb) < Number(img.uncompressedGb), "the registry's compressed size is below the engine's uncompressed size");
    });

    it("a stale nightly fails the freshness check against the rebuild epoch", () => {
        const r = smoke(images.stale.ref, "--imports", "", "--rebuild-epoch", "2026-11-22");
        assert.equal(r.status, 1, r.stdout);
        assert.ok(r.lines.includes("FAIL freshness: torch built 2026-10-01, 52 days before the rebuild epoch 2026-11-22 (at most 8): a stale nightly"), r.stdout);
        assert.ok(r.lines.includes(`PASS torch: ${STALE} is a nightly (dev) build`), r.stdout);
    });

    it("a digest the registry does not have fails the pull, and nothing runs", () => {
        const img = images.fresh;
        const missing = img.ref.replace(/@sha256:[0-9a-f]{64}$/, `@sha256:${"0".repeat(64)}`);
        const r = smoke(missing);
        assert.equal(r.status, 1, r.stdout);
        assert.ok(r.lines.some((l) => l.startsWith(`FAIL pull: cannot pull ${missing}: `)), r.stdout);
        assert.ok(!r.stdout.includes("python:"), r.stdout);
    });

    it("--gpu on an engine without GPUs fails the probe with docker's reason", () => {
        const r = smoke(images.fresh.ref, "--gpu", "--imports", "");
        assert.equal(r.status, 1, r.stdout);
        assert.ok(r.lines.some((l) => /^FAIL probe: could not run python in the image \(docker run exit 125\): .*(device driver|gpu|GPU)/.test(l)), r.stdout);
    });

    it("uv pip check in the image: a broken requirement fails with uv's line", () => {
        const r = smoke(images.brokenDeps.ref, "--imports", "");
        assert.equal(r.status, 1, r.stdout);
        assert.ok(r.lines.includes("FAIL pip check: uv pip check (exit 1): goodmod 1.0 requires numpy>=2, which is not installed"), r.stdout);
    });

    it("removes what it pulled, by digest, and nothing the engine already had (#28)", () => {
        const env = getEnv();
        const img = images.fresh;
        const digestRef = `${env.registry}/${img.repository}@${img.ref.split("@")[1]}`;
        const present = (ref: string) => spawnSync("docker", ["image", "inspect", ref], { env: env.processEnv }).status === 0;
        assert.ok(!present(digestRef), "not local before the test");
        let r = smoke(img.ref, "--imports", "");
        assert.equal(r.status, 0, r.stdout);
        assert.ok(r.lines.some((l) => l.startsWith(`cleanup: removed ${digestRef}`)), r.stdout);
        assert.ok(!present(digestRef) && !present(img.ref), "the pulled image is gone from the engine");
        // An image the engine already had is the caller's: kept.
        docker(env, ["pull", img.ref]);
        r = smoke(img.ref, "--imports", "");
        assert.equal(r.status, 0, r.stdout);
        assert.ok(!r.stdout.includes("cleanup:"), r.stdout);
        assert.ok(present(digestRef), "kept");
        docker(env, ["image", "rm", digestRef]);
        // --keep-image keeps what it pulled.
        r = smoke(img.ref, "--imports", "", "--keep-image");
        assert.equal(r.status, 0, r.stdout);
        assert.ok(present(digestRef));
        docker(env, ["image", "rm", digestRef]);
    });
});
