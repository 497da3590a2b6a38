import { strict as assert } from "assert";
import { planStack, readStackConfigFile } from "../lib/stackPlan";
import { fakeDigest, isSecretInput, plain, PROJECT_ROOT, REGISTRY, RecordedResource, runProgram, runProgramExpectingError } from "./harness";

const IMAGE = "docker-build:index:Image";
const INDEX = "docker-build:index:Index";
const SMOKE = "command:local:Command";

async function expectedImages(stack: string, env: Record<string, string> = {}) {
    return (await planStack(readStackConfigFile(PROJECT_ROOT, stack), { projectRoot: PROJECT_ROOT, env, useHashCache: false })).images;
}

function imageBuilds(resources: RecordedResource[]): Map<string, RecordedResource> {
    return new Map(resources.filter((r) => r.type === IMAGE).map((r) => [r.name.replace(/-build$/, ""), r]));
}

describe("program: image builds (dev stack)", function () {
    this.timeout(120_000);
    let run: Awaited<ReturnType<typeof runProgram>>;
    let images: Awaited<ReturnType<typeof expectedImages>>;
    before(async () => {
        run = await runProgram({ stack: "dev", env: { MLCI_REBUILD_EPOCH: "2026-11-22" } });
        images = await expectedImages("dev", { MLCI_REBUILD_EPOCH: "2026-11-22" });
    });

    it("declares one build per image node, pushing exactly its content-hash tag", () => {
        const builds = imageBuilds(run.resources);
        assert.deepEqual([...builds.keys()].sort(), images.map((i) => i.name).sort());
        for (const img of images) {
            const b = builds.get(img.name)!;
            assert.deepEqual(b.inputs.tags, [`${REGISTRY}/${img.repositoryName}:${img.tag}`], b.urn);
            assert.equal(b.inputs.push, true);
            assert.equal(b.inputs.buildOnPreview, false);
            assert.equal(b.retainOnDelete, true, `${b.urn} must be retained: deleting a build must never delete registry tags`);
            assert.equal(b.inputs.context.location, `${PROJECT_ROOT}/${img.context}`);
            assert.equal(b.inputs.dockerfile.location, `${PROJECT_ROOT}/${img.dockerfile}`);
            assert.deepEqual(b.inputs.platforms, img.platforms);
        }
    });

    it("children build FROM the parent's digest-pinned ref and depend on the parent", () => {
        const builds = imageBuilds(run.resources);
        for (const img of images.filter((i) => i.parent)) {
            const b = builds.get(img.name)!;
            const parentRef = run.outputs.images[img.parent!].ref;
            assert.match(parentRef, /:[\w.-]+-h[0-9a-f]{12}@sha256:[0-9a-f]{64}$/);
            assert.equal(b.inputs.buildArgs.BASE_IMAGE, parentRef, b.urn);
            assert.equal(b.inputs.buildArgs.BASE_REGISTRY, undefined);
            const parentBuild = builds.get(img.parent!)!;
            assert.ok(b.dependencies.includes(parentBuild.urn), `${b.urn} must depend on ${parentBuild.urn}`);
        }
    });

    it("roots pull public bases through the Docker Hub pull-through cache", () => {
        const builds = imageBuilds(run.resources);
        for (const img of images.filter((i) => !i.parent)) {
            assert.equal(builds.get(img.name)!.inputs.buildArgs.BASE_REGISTRY, `${REGISTRY}/docker-hub-dev`);
        }
    });

    it("passes the cell's build args and the family's own", () => {
        const b = imageBuilds(run.resources).get("stable-cuda13.2-py3.12")!;
        assert.equal(b.inputs.buildArgs.CUDA_VERSION, "13.2.1");
        assert.equal(b.inputs.buildArgs.CUDNN_VARIANT, "cudnn");
        assert.equal(b.inputs.buildArgs.PYTHON_VERSION, "3.12");
        assert.equal(b.inputs.buildArgs.TORCH_VERSION, "2.15.0");
        const cpu = imageBuilds(run.resources).get("cpu-py3.13")!;
        assert.deepEqual(cpu.inputs.platforms, ["linux/amd64", "linux/arm64"]);
        assert.equal(cpu.inputs.buildArgs.CUDA_VERSION, undefined);
    });

    it("uses a registry layer cache in the same repository, in the form ECR accepts", () => {
        const b = imageBuilds(run.resources).get("nightly-cuda13.2-py3.13")!;
        const ref = `${REGISTRY}/ml-ci-dev/nightly:cache-cuda13.2-py3.13`;
        assert.deepEqual(b.inputs.cacheFrom, [{ registry: { ref } }]);
        assert.deepEqual(b.inputs.cacheTo, [{ registry: { ref, imageManifest: true, ociMediaTypes: true, mode: "max" } }]);
    });

    it("authenticates with an ECR token that never reaches anything that triggers a rebuild", () => {
        for (const b of imageBuilds(run.resources).values()) {
            const { registries: secretRegistries, ...rest } = b.inputs;
            assert.ok(isSecretInput(secretRegistries), "registry credentials are a secret input");
            const registries = plain(secretRegistries);
            assert.equal(registries.length, 1);
            assert.equal(registries[0].address, REGISTRY);
            assert.equal(registries[0].username, "AWS");
            assert.ok(!JSON.stringify(rest).includes("ecr-token-abc123"), `token leaked into ${b.urn}`);
        }
        for (const c of run.byType(SMOKE)) assert.ok(!JSON.stringify(c.inputs).includes("ecr-token-abc123"));
    });

    it("smoke-tests each pushed digest, and moves -latest only after the test", () => {
        for (const img of images) {
            const ref = run.outputs.images[img.name].ref;
            const smoke = run.one(SMOKE, `${img.name}-smoke-test`);
            assert.deepEqual(smoke.inputs.triggers, [ref]);
            assert.match(smoke.inputs.create, new RegExp(`^bash ${PROJECT_ROOT}/docker/test_image\\.sh ${ref.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} --size-budget-gb 10`));
            const latest = run.one(INDEX, `${img.name}-latest`);
            assert.equal(latest.inputs.tag, `${REGISTRY}/${img.repositoryName}:${img.latestTag}`);
            assert.deepEqual(latest.inputs.sources, [ref]);
            assert.ok(latest.dependencies.includes(smoke.urn), `${latest.urn} must wait for ${smoke.urn}`);
            assert.equal(latest.retainOnDelete, true);
        }
    });

    it("publishes the dated tag of date-rebuilt families after the smoke test", () => {
        const dated = run.one(INDEX, "nightly-cuda13.2-py3.13-dated");
        assert.equal(dated.inputs.tag, `${REGISTRY}/ml-ci-dev/nightly:cuda13.2-py3.13-20261122`);
        assert.ok(dated.dependencies.includes(run.one(SMOKE, "nightly-cuda13.2-py3.13-smoke-test").urn));
        assert.equal(run.byType(INDEX).filter((r) => r.name.startsWith("base-") && r.name.endsWith("-dated")).length, 0);
    });

    it("exports the images contract: uri, digest-pinned ref, tag, repository, family, cuda, python", () => {
        assert.deepEqual(Object.keys(run.outputs.images).sort(), images.map((i) => i.name).sort());
        for (const img of images) {
            const o = run.outputs.images[img.name];
            assert.equal(o.uri, `${REGISTRY}/${img.repositoryName}:${img.tag}`);
            assert.equal(o.ref, `${o.uri}@${o.digest}`);
            assert.match(o.digest, /^sha256:[0-9a-f]{64}$/);
            assert.equal(o.tag, img.tag);
            assert.equal(o.repository, `${REGISTRY}/${img.repositoryName}`);
            assert.equal(o.family, img.family);
            assert.equal(o.cuda, img.cell.cuda ?? null);
            assert.equal(o.python, img.cell.python);
        }
        assert.deepEqual(run.outputs.builtImages.sort(), images.map((i) => i.name).sort());
    });
});

describe("program: what changes rebuild", function () {
    this.timeout(120_000);
    it("a base change re-tags exactly its descendants", async () => {
        const before = imageBuilds((await runProgram({ stack: "dev" })).resources);
        const after = imageBuilds((await runProgram({ stack: "dev", overrides: { families: { base: { buildArgs: { UBUNTU_VERSION: "26.04" } } } } })).resources);
        const changed = [...after.keys()].filter((n) => JSON.stringify(after.get(n)!.inputs.tags) !== JSON.stringify(before.get(n)!.inputs.tags)).sort();
        assert.deepEqual(changed, [...after.keys()].filter((n) => !n.startsWith("cpu-")).sort());
    });

    it("a new rebuild epoch re-tags date-rebuilt families and their descendants only", async () => {
        const a = imageBuilds((await runProgram({ stack: "dev", env: { MLCI_REBUILD_EPOCH: "2026-11-22" } })).resources);
        const b = imageBuilds((await runProgram({ stack: "dev", env: { MLCI_REBUILD_EPOCH: "2026-11-29" } })).resources);
        const changed = [...b.keys()].filter((n) => JSON.stringify(a.get(n)!.inputs.tags) !== JSON.stringify(b.get(n)!.inputs.tags)).sort();
        assert.deepEqual(changed, ["habitat-cuda13.2-py3.12", "nightly-cuda13.2-py3.12", "nightly-cuda13.2-py3.13"]);
    });

    it("preview builds nothing but already shows the new tags", async () => {
        const r = await runProgram({ stack: "dev", preview: true });
        const images = await expectedImages("dev");
        for (const [name, b] of imageBuilds(r.resources)) {
            assert.equal(b.inputs.buildOnPreview, false);
            assert.deepEqual(b.inputs.tags, [`${REGISTRY}/${images.find((i) => i.name === name)!.repositoryName}:${images.find((i) => i.name === name)!.tag}`]);
        }
    });
});

describe("program: adopting what the registry already has", function () {
    this.timeout(120_000);
    it("tag present: no build, the output uses the registry's digest, aliases still follow", async () => {
        const images = await expectedImages("dev");
        const registryImages = Object.fromEntries(images.map((i) => [`${i.repositoryName}:${i.tag}`, fakeDigest(`registry:${i.name}`)]));
        const r = await runProgram({ stack: "dev", registryImages });
        assert.equal(r.byType(IMAGE).length, 0, "nothing is built");
        for (const img of images) {
            const o = r.outputs.images[img.name];
            assert.equal(o.digest, fakeDigest(`registry:${img.name}`));
            assert.equal(o.ref, `${REGISTRY}/${img.repositoryName}:${img.tag}@${fakeDigest(`registry:${img.name}`)}`);
            assert.deepEqual(r.one(INDEX, `${img.name}-latest`).inputs.sources, [o.ref]);
        }
        const child = images.find((i) => i.parent)!;
        assert.deepEqual(r.outputs.builtImages, []);
        assert.match(r.one(SMOKE, `${child.name}-smoke-test`).inputs.create, /@sha256:/);
    });

    it("tag absent: build; only the missing images are built", async () => {
        const images = await expectedImages("dev");
        const present = images.filter((i) => i.family === "cpu");
        const registryImages = Object.fromEntries(present.map((i) => [`${i.repositoryName}:${i.tag}`, fakeDigest(i.name)]));
        const r = await runProgram({ stack: "dev", registryImages, existingRepositories: images.map((i) => i.repositoryName) });
        assert.deepEqual([...imageBuilds(r.resources).keys()].sort(), images.filter((i) => i.family !== "cpu").map((i) => i.name).sort());
    });

    it("first up with no repository yet: builds everything, no error", async () => {
        const r = await runProgram({ stack: "dev", existingRepositories: [] });
        assert.equal(r.byType(IMAGE).length, (await expectedImages("dev")).length);
        assert.ok(r.calls.some((c) => c.token === "aws:ecr/getImage:getImage"), "the registry was asked");
    });

    it("build.adoptExisting false: builds even when the tag is present", async () => {
        const images = await expectedImages("dev");
        const registryImages = Object.fromEntries(images.map((i) => [`${i.repositoryName}:${i.tag}`, fakeDigest(i.name)]));
        const r = await runProgram({ stack: "dev", registryImages, overrides: { build: { adoptExisting: false } } });
        assert.equal(r.byType(IMAGE).length, images.length);
    });

    it("force rebuild of one image rebuilds it and its descendants with a nonce, never changing the content-hash tag", async () => {
        const images = await expectedImages("dev");
        const registryImages = Object.fromEntries(images.map((i) => [`${i.repositoryName}:${i.tag}`, fakeDigest(i.name)]));
        // The first nightly image that has a child built on it, read from the stack's own matrix.
        const forced = images.find((i) => i.family === "nightly" && images.some((c) => c.parent === i.name))!;
        const children = images.filter((c) => c.parent === forced.name).map((c) => c.name);
        const r = await runProgram({ stack: "dev", registryImages, env: { MLCI_FORCE_REBUILD: forced.name, MLCI_REBUILD_NONCE: "20261123090000" } });
        const builds = imageBuilds(r.resources);
        assert.deepEqual([...builds.keys()].sort(), [...children, forced.name].sort());
        for (const [name, b] of builds) {
            const img = images.find((i) => i.name === name)!;
            // The forced tag of the grammar: same cell and hash as the content tag, a letter apart, then the nonce.
            assert.deepEqual(b.inputs.tags, [`${REGISTRY}/${img.repositoryName}:${img.cell.label}-f${img.contentHash.slice(0, 12)}-r20261123090000`]);
            assert.equal(b.inputs.buildArgs.MLCI_REBUILD_NONCE, "20261123090000");
            assert.equal(b.inputs.noCache, true);
            assert.equal(r.outputs.images[name].contentTag, img.tag);
        }
    });

    it("force rebuild of all builds every image", async () => {
        const r = await runProgram({ stack: "dev", overrides: { build: { forceRebuild: true } }, env: { MLCI_REBUILD_NONCE: "20261123090000" } });
        assert.equal(r.byType(IMAGE).length, (await expectedImages("dev")).length);
    });
});

describe("program: the local stack needs no cloud account", function () {
    this.timeout(120_000);
    let run: Awaited<ReturnType<typeof runProgram>>;
    before(async () => {
        run = await runProgram({ stack: "local" });
    });

    it("registers no AWS or GitHub resource and calls no AWS function", () => {
        const cloud = run.resources.filter((r) => r.type.startsWith("aws:") || r.type.startsWith("github:"));
        assert.deepEqual(cloud.map((r) => r.urn), []);
        assert.deepEqual(run.calls.filter((c) => c.token.startsWith("aws:")), []);
    });

    it("runs a registry:2 container on localhost:5000", () => {
        const image = run.one("docker:index/remoteImage:RemoteImage", "local-registry-image");
        assert.equal(image.inputs.name, "registry:2");
        const container = run.one("docker:index/container:Container", "local-registry-container");
        assert.deepEqual(container.inputs.ports, [{ internal: 5000, external: 5000, ip: "127.0.0.1" }]);
    });

    it("builds and pushes the same graph to localhost:<port>, without credentials", async () => {
        const images = await expectedImages("local");
        const builds = imageBuilds(run.resources);
        assert.deepEqual([...builds.keys()].sort(), images.map((i) => i.name).sort());
        for (const img of images) {
            const b = builds.get(img.name)!;
            assert.deepEqual(b.inputs.tags, [`localhost:5000/${img.repositoryName}:${img.tag}`]);
            assert.equal(b.inputs.registries, undefined);
            if (!img.parent) assert.equal(b.inputs.buildArgs.BASE_REGISTRY, "docker.io");
        }
        assert.equal(run.outputs.registryServer, "localhost:5000");
    });
});

describe("program: bad config fails before any resource is registered", function () {
    this.timeout(60_000);
    for (const [title, overrides, message] of [
        ["unknown parent", { families: { habitat: { parent: "nightli" } } }, /config mlci:families\.habitat\.parent: "nightli" is not a family \(did you mean "nightly"\?\)/],
        ["zero retention", { registry: { retention: { keepHashBuilds: 0 } } }, /config mlci:registry\.retention\.keepHashBuilds: must be at least 1/],
        ["malformed CUDA", { matrix: { cuda: ["12.4"] } }, /config mlci:matrix\.cuda\[0\]: must be a full CUDA version/],
    ] as const) {
        it(`${title}`, async () => {
            const { error, resources } = await runProgramExpectingError({ stack: "dev", overrides: overrides as any });
            assert.match(error.message, message);
            assert.deepEqual(resources.map((r) => r.urn), []);
        });
    }
});

