/**
 * The bake file against the program: for every image of the shipped stacks, the target
 * `ci-images bake` writes has exactly the inputs the program gives docker-build (context,
 * Dockerfile, args with the parent wiring, platforms, target, tag, labels, cache refs).
 */
import { strict as assert } from "assert";
import * as path from "path";
import { bakeFile, bakeTargetForBuild, bakeTargetName, dockerBuildArgv } from "../lib/images/bakeFile";
import { baseRegistryFor } from "../lib/registry/documents";
import { planStackFile } from "../lib/stackPlan";
import { PROJECT_ROOT, REGISTRY, runProgram } from "./harness";
import { runCli } from "./cliContext";

const IMAGE = "docker-build:index:Image";
const EPOCH = "2026-11-22";

/** docker-build's cache entry `{ registry: { ref, … } }` as bake's `type=registry,ref=…[,mode=max,…]`. */
function cacheEntry(e: { registry: { ref: string; mode?: string; imageManifest?: boolean; ociMediaTypes?: boolean } }): string {
    const r = e.registry;
    return [`type=registry,ref=${r.ref}`, ...(r.mode ? [`mode=${r.mode}`] : []), ...(r.imageManifest ? ["image-manifest=true"] : []), ...(r.ociMediaTypes ? ["oci-mediatypes=true"] : [])].join(",");
}

describe("bake file = the program's docker-build inputs", function () {
    this.timeout(120_000);
    for (const [stack, host] of [["dev", REGISTRY], ["prod", REGISTRY], ["local", "localhost:5000"]] as const) {
        it(`${stack}: every image's target matches its docker-build Image`, async () => {
            const run = await runProgram({ stack, env: { MLCI_REBUILD_EPOCH: EPOCH } });
            const plan = await planStackFile(PROJECT_ROOT, stack, { env: { MLCI_REBUILD_EPOCH: EPOCH }, useHashCache: false });
            const file = bakeFile(plan.images, { registryHost: host, cache: plan.config.build.cache, push: plan.config.build.push, baseRegistry: baseRegistryFor(plan.config.registry, host) });
            assert.deepEqual(file.group.default.targets, plan.images.map((i) => bakeTargetName(i.name)), "one target per image, parents first");
            const builds = run.byType(IMAGE);
            assert.equal(builds.length, plan.images.length, "an empty registry: the program builds every image");
            for (const image of plan.images) {
                const program = run.one(IMAGE, `${image.name}-build`).inputs;
                const target = file.target[bakeTargetName(image.name)];
                assert.equal(path.posix.join(target.context, target.dockerfile), program.dockerfile.location, `${image.name}: Dockerfile`);
                assert.equal(target.context, program.context.location, `${image.name}: context`);
                assert.deepEqual(target.platforms, program.platforms, `${image.name}: platforms`);
                assert.equal(target.target, program.target, `${image.name}: target`);
                assert.deepEqual(target.tags, program.tags, `${image.name}: tag`);
                assert.deepEqual(target.labels, program.labels, `${image.name}: labels`);
                assert.deepEqual(target["cache-from"], program.cacheFrom?.map(cacheEntry), `${image.name}: cache-from`);
                assert.deepEqual(target["cache-to"], program.cacheTo?.map(cacheEntry), `${image.name}: cache-to`);
                assert.deepEqual(target.output, program.push ? ["type=registry"] : undefined, `${image.name}: push`);
                const { BASE_IMAGE: programBase, ...programArgs } = program.buildArgs;
                const { BASE_IMAGE: bakeBase, ...bakeArgs } = target.args;
                assert.deepEqual(bakeArgs, programArgs, `${image.name}: build args (BASE_REGISTRY for roots)`);
                if (image.parent === undefined) {
                    assert.equal(bakeBase, undefined);
                    assert.equal(target.contexts, undefined);
                } else {
                    // The program pins the parent's digest; the file names the parent's immutable content tag and builds it from the parent target.
                    assert.match(programBase, new RegExp(`^${bakeBase.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}@sha256:[0-9a-f]{64}$`), `${image.name}: BASE_IMAGE`);
                    assert.deepEqual(target.contexts, { [bakeBase]: `target:${bakeTargetName(image.parent)}` });
                    // The target publish builds for that concrete parent is the program's input exactly.
                    const build = bakeTargetForBuild(image, { registryHost: host, cache: plan.config.build.cache, push: plan.config.build.push }, { tag: image.tag, baseImageRef: programBase });
                    assert.equal(build.args.BASE_IMAGE, programBase);
                    assert.equal(build.contexts, undefined);
                }
            }
        });
    }

    it("ci-images bake prints that file for a stack (registry from --registry)", async () => {
        const r = await runCli(["bake", "--stack", "local", "--registry", "localhost:5000", "--root", PROJECT_ROOT], {});
        assert.equal(r.code, 0, r.stderr);
        const plan = await planStackFile(PROJECT_ROOT, "local", { env: {}, useHashCache: false });
        assert.deepEqual(JSON.parse(r.stdout), JSON.parse(JSON.stringify(bakeFile(plan.images, { registryHost: "localhost:5000", cache: plan.config.build.cache, push: plan.config.build.push }))));
    });

    it("maps image names to bake target names and builds docker build argv for engines without buildx", () => {
        assert.equal(bakeTargetName("nightly-cuda13.0-py3.12"), "nightly-cuda13_0-py3_12");
        const t = {
            context: "docker/nightly",
            dockerfile: "Dockerfile",
            args: { PYTHON_VERSION: "3.12", BASE_IMAGE: "localhost:5000/ml-ci/base:py3.12-h0123456789ab@sha256:" + "a".repeat(64) },
            platforms: ["linux/amd64"],
            target: "final",
            tags: ["localhost:5000/ml-ci/nightly:py3.12-h0123456789ab"],
            labels: { "io.mlci.family": "nightly" },
        };
        assert.deepEqual(dockerBuildArgv("nightly-py3.12", t), [
            "build", "--network", "host", "-f", "docker/nightly/Dockerfile", "--platform", "linux/amd64",
            "--build-arg", `BASE_IMAGE=${t.args.BASE_IMAGE}`, "--build-arg", "PYTHON_VERSION=3.12",
            "--target", "final", "--label", "io.mlci.family=nightly", "-t", t.tags[0], "docker/nightly",
        ]);
        assert.throws(() => dockerBuildArgv("cpu-py3.12", { ...t, platforms: ["linux/amd64", "linux/arm64"] }), /cpu-py3\.12 builds for linux\/amd64, linux\/arm64, which needs buildx.*Fix: install the buildx plugin/);
    });
});
