import { strict as assert } from "assert";
import { planStack, readStackConfigFile } from "../lib/stackPlan";
import { DEFAULT_GITHUB_TOKEN, fakeDigest, isSecretInput, plain, PROJECT_ROOT, REGISTRY, RecordedResource, runProgram, runProgramExpectingError } from "./harness";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { markerTag } from "../lib/images/tags";
import { compressedSizeFromSmokeTest, KEEP_STDOUT_UPDATE } from "../components/images/imageBuild";
import { EcrModel } from "./ecrModel";
import { FakeRegistry, ociManifest } from "./fakeRegistry";
import * as YAML from "yaml";

const IMAGE = "docker-build:index:Image";
const INDEX = "docker-build:index:Index";
const SMOKE = "command:local:Command";

/** The one `step` Command of an image (named per build: `<image>-<step>-<build tag without the cell label>`). */
function commandOf(run: { byType(type: string): RecordedResource[] }, image: string, step: "promote" | "smoke-test"): RecordedResource {
    const found = run.byType(SMOKE).filter((c) => c.name.startsWith(`${image}-${step}-`));
    assert.equal(found.length, 1, `one ${step} Command for ${image}, found: ${found.map((c) => c.name).join(", ")}`);
    return found[0];
}
const promotionOf = (run: { byType(type: string): RecordedResource[] }, image: string) => commandOf(run, image, "promote");
const smokeTestOf = (run: { byType(type: string): RecordedResource[] }, image: string) => commandOf(run, image, "smoke-test");
/** Whether a Command is a smoke test (named `<image>-smoke-test-<build>`). */
const isSmokeTest = (c: RecordedResource) => c.name.includes("-smoke-test-");

/** A recorded input with every secret value replaced by "[secret]": what is stored in plain text. */
function withoutSecrets(v: any): any {
    if (isSecretInput(v)) return "[secret]";
    if (Array.isArray(v)) return v.map(withoutSecrets);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, withoutSecrets(x)]));
    return v;
}

type Img = Awaited<ReturnType<typeof expectedImages>>[number];

/** A registry where each image's content tag carries its smoke-test marker on the same digest (a tested build). */
function testedRegistry(images: Img[], digest: (i: Img) => string = (i) => fakeDigest(`registry:${i.name}`)): Record<string, string> {
    return Object.fromEntries(images.flatMap((i) => [[`${i.repositoryName}:${i.tag}`, digest(i)], [`${i.repositoryName}:${markerTag(i.cell.label, i.contentHash)}`, digest(i)]]));
}

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
            // Relative to the project root: no checkout path in state (#14.11).
            assert.equal(b.inputs.context.location, img.context);
            assert.equal(b.inputs.dockerfile.location, img.dockerfile);
            assert.ok(!img.context.startsWith("/") && img.context.startsWith("docker/"), img.context);
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

    it("no ECR token in any input, so none reaches the state the PR preview role reads (the run logs in itself: decision record 0013)", () => {
        for (const b of imageBuilds(run.resources).values()) assert.equal(b.inputs.registries, undefined, `${b.urn}: docker-build uses the host's Docker login`);
        const leaking = run.resources.filter((r) => JSON.stringify(plain(r.inputs)).includes("ecr-token-abc123"));
        assert.deepEqual(leaking.map((r) => r.urn), []);
        assert.deepEqual(run.calls.filter((c) => c.token === "aws:ecr/getAuthorizationToken:getAuthorizationToken").map((c) => c.token), [], "the program asks for no ECR token");
    });

    it("smoke-tests each pushed digest with the run's own registry login: project-relative script, no dir, no token in its environment", () => {
        for (const img of images) {
            const ref = run.outputs.images[img.name].ref;
            const smoke = smokeTestOf(run, img.name);
            assert.deepEqual(smoke.inputs.triggers, [ref, ...smoke.inputs.create.split(`${ref} `)[1].split(" ")], "the pushed ref and every smoke-test flag");
            // Pinned torch (stable, cpu) is checked by version; the date-rebuilt family (nightly) by freshness.
            const pinned = img.buildArgs.TORCH_VERSION ? ` --torch-version ${img.buildArgs.TORCH_VERSION}` : "";
            const fresh = img.family === "nightly" ? ` --rebuild-epoch ${run.outputs.rebuildEpoch}` : "";
            const cell = ` --python ${img.cell.python} --cuda ${img.cell.cuda ? img.cell.cuda.split(".").slice(0, 2).join(".") : "none"}`;
            assert.equal(smoke.inputs.create, `sh scripts/with-registry-auth.sh bash docker/test_image.sh ${ref}${cell} --size-budget-gb 10${img.smokeImports.length ? ` --imports ${img.smokeImports.join(",")}` : ""}${pinned}${fresh}`);
            assert.equal(smoke.inputs.dir, undefined, "the provider's cwd is the project root");
            assert.equal(smoke.inputs.update, KEEP_STDOUT_UPDATE, "an update re-prints the measured stdout");
            // MLCI_REGISTRY_AUTH unset: with-registry-auth.sh keeps the caller's (the run's) Docker login.
            assert.deepEqual(plain(smoke.inputs.environment), { MLCI_REGISTRY_HOST: REGISTRY });
            assert.ok(!JSON.stringify(withoutSecrets(smoke.inputs)).includes("ecr-token-abc123"), "the token is in no plain input");
            assert.ok(!smoke.inputs.create.includes("ecr-token"), "never in the command text (stored in state, echoed in errors)");
            assert.ok(smoke.dependencies.includes(run.one(IMAGE, `${img.name}-build`).urn));
        }
        assert.ok(!JSON.stringify(run.outputs).includes("ecr-token-abc123"), "the token is in no output");
        assert.equal(run.byType(INDEX).length, 0, "no docker-build Index for single-platform aliases (a new index digest, FACTS §3)");
    });

    it("promotes only after the smoke test: marker, -latest and the dated tag as a same-digest retag", () => {
        for (const img of images) {
            const o = run.outputs.images[img.name];
            const promote = promotionOf(run, img.name);
            const tags = [markerTag(img.cell.label, img.contentHash), img.latestTag, ...(img.datedTag ? [img.datedTag] : [])];
            // The scan gate (mlci:promotion, default on for ECR) runs first, on the same digest (docs/scaling.md).
            const gate = `npx --no-install ci-images scan-gate ${o.repository}@${o.digest} --stack dev --max-severity CRITICAL --timeout 30m && `;
            assert.equal(promote.inputs.create, `${gate}npx --no-install ci-images retag ${o.repository}@${o.digest} ${tags.join(" ")}`);
            assert.deepEqual(promote.inputs.triggers, [`${o.repository}@${o.digest}`, ...tags]);
            // MLCI_REGISTRY_AUTH unset: `ci-images` gets its own ECR token with the run's AWS credentials (cli/registryAccess.ts).
            assert.deepEqual(plain(promote.inputs.environment ?? {}), {});
            assert.ok(promote.dependencies.includes(smokeTestOf(run, img.name).urn), `${promote.urn} must wait for the smoke test`);
            // The ECR model applied the retag: every promoted tag points at the tested digest.
            for (const t of tags) assert.equal(run.ecr.digestOf(img.repositoryName, t), o.digest, t);
        }
    });

    it("reports the compressed size the smoke test measured, and their total", () => {
        for (const img of images) assert.equal(run.outputs.images[img.name].sizeBytes, 4_200_000_000);
        assert.equal(run.outputs.totalStorageBytes, 4_200_000_000 * images.length);
    });

    it("looks each repository up once with getImages (ListImages), never getImage", () => {
        const lookups = run.calls.filter((c) => c.token.startsWith("aws:ecr/getImage"));
        assert.deepEqual(lookups.map((c) => c.inputs.repositoryName).sort(), [...new Set(images.map((i) => i.repositoryName))].sort());
        assert.ok(lookups.every((c) => c.token === "aws:ecr/getImages:getImages"));
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
    it("a tested build (content tag + its marker on one digest): no build, no smoke test, the registry's digest", async () => {
        const images = await expectedImages("dev");
        const r = await runProgram({ stack: "dev", registryImages: testedRegistry(images) });
        assert.equal(r.byType(IMAGE).length, 0, "nothing is built");
        assert.equal(r.byType(SMOKE).filter(isSmokeTest).length, 0, "a tested digest is not tested again");
        for (const img of images) {
            const o = r.outputs.images[img.name];
            assert.equal(o.digest, fakeDigest(`registry:${img.name}`));
            assert.equal(o.ref, `${REGISTRY}/${img.repositoryName}:${img.tag}@${fakeDigest(`registry:${img.name}`)}`);
            assert.equal(o.sizeBytes, null, "not measured this run");
        }
        assert.deepEqual(r.outputs.builtImages, []);
        assert.equal(r.outputs.totalStorageBytes, null);
    });

    it("a content tag without its marker (smoke test failed or never ran) is rebuilt, under the next forced tag", async () => {
        const images = await expectedImages("dev");
        const failed = images.find((i) => i.family === "cpu")!;
        const registryImages = testedRegistry(images);
        delete registryImages[`${failed.repositoryName}:${markerTag(failed.cell.label, failed.contentHash)}`];
        const r = await runProgram({ stack: "dev", registryImages });
        const builds = imageBuilds(r.resources);
        assert.deepEqual([...builds.keys()], [failed.name]);
        // The content tag is immutable on ECR: the rebuild pushes <cell>-f<hash>-r1, and the push succeeds.
        assert.deepEqual(builds.get(failed.name)!.inputs.tags, [`${REGISTRY}/${failed.repositoryName}:${failed.cell.label}-f${failed.contentHash.slice(0, 12)}-r1`]);
        assert.equal(r.outputs.images[failed.name].contentTag, failed.tag);
        assert.equal(r.ecr.digestOf(failed.repositoryName, markerTag(failed.cell.label, failed.contentHash, 1)), r.outputs.images[failed.name].digest);
    });

    it("tag absent: only the missing images are built", async () => {
        const images = await expectedImages("dev");
        const present = images.filter((i) => i.family === "cpu");
        const r = await runProgram({ stack: "dev", registryImages: testedRegistry(present), existingRepositories: images.map((i) => i.repositoryName) });
        assert.deepEqual([...imageBuilds(r.resources).keys()].sort(), images.filter((i) => i.family !== "cpu").map((i) => i.name).sort());
    });

    it("first up with no repository yet (`couldn't find resource`): builds everything, no error", async () => {
        const r = await runProgram({ stack: "dev", existingRepositories: [] });
        assert.equal(r.byType(IMAGE).length, (await expectedImages("dev")).length);
        assert.ok(r.calls.some((c) => c.token === "aws:ecr/getImages:getImages"), "the registry was asked");
    });

    it("a denied listing fails the run, naming the repository and ecr:ListImages (never a silent build)", async () => {
        const images = await expectedImages("dev");
        const ecr = EcrModel.fromTagMap(testedRegistry(images));
        ecr.deniedListImages.add("ml-ci-dev/nightly");
        const { error } = await runProgramExpectingError({ stack: "dev", ecr });
        assert.match(error.message, /registry lookup of ECR repository ml-ci-dev\/nightly failed: .*AccessDeniedException: .* is not authorized to perform: ecr:ListImages/);
        assert.match(error.message, /Fix: grant ecr:ListImages on that repository/);
    });

    it("build.adoptExisting false: builds every image under a new forced tag, never onto the existing immutable tag", async () => {
        const images = await expectedImages("dev");
        const r = await runProgram({ stack: "dev", registryImages: testedRegistry(images), overrides: { build: { adoptExisting: false } } });
        const builds = imageBuilds(r.resources);
        assert.equal(builds.size, images.length);
        for (const img of images) assert.match(builds.get(img.name)!.inputs.tags[0], new RegExp(`:${img.cell.label}-f${img.contentHash.slice(0, 12)}-r1$`));
    });

    it("force rebuild: the image and its descendants get <cell>-f<hash>-r<N+1>, N from the listing, the same in preview and update", async () => {
        const images = await expectedImages("dev");
        const forced = images.find((i) => i.family === "nightly" && images.some((c) => c.parent === i.name))!;
        const children = images.filter((c) => c.parent === forced.name).map((c) => c.name);
        const registryImages = testedRegistry(images);
        // An earlier forced rebuild of the forced image, tested: the next one is -r3 after -r2.
        registryImages[`${forced.repositoryName}:${forced.cell.label}-f${forced.contentHash.slice(0, 12)}-r2`] = fakeDigest("r2");
        registryImages[`${forced.repositoryName}:${markerTag(forced.cell.label, forced.contentHash, 2)}`] = fakeDigest("r2");
        const preview = await runProgram({ stack: "dev", registryImages, preview: true, env: { MLCI_FORCE_REBUILD: forced.name } });
        const update = await runProgram({ stack: "dev", registryImages, env: { MLCI_FORCE_REBUILD: forced.name } });
        const builds = imageBuilds(update.resources);
        assert.deepEqual([...builds.keys()].sort(), [...children, forced.name].sort());
        for (const [name, b] of builds) {
            const img = images.find((i) => i.name === name)!;
            const n = name === forced.name ? 3 : 1;
            assert.deepEqual(b.inputs.tags, [`${REGISTRY}/${img.repositoryName}:${img.cell.label}-f${img.contentHash.slice(0, 12)}-r${n}`]);
            assert.equal(b.inputs.noCache, true);
            assert.equal(b.inputs.cacheFrom, undefined);
            assert.equal(update.outputs.images[name].contentTag, img.tag);
            assert.deepEqual(imageBuilds(preview.resources).get(name)!.inputs.tags, b.inputs.tags, "preview and update agree");
        }
    });

    it("the next normal run adopts the newest tested forced rebuild, not the older content tag", async () => {
        const images = await expectedImages("dev");
        const img = images.find((i) => i.family === "cpu")!;
        const registryImages = testedRegistry(images);
        registryImages[`${img.repositoryName}:${img.cell.label}-f${img.contentHash.slice(0, 12)}-r1`] = fakeDigest("forced");
        registryImages[`${img.repositoryName}:${markerTag(img.cell.label, img.contentHash, 1)}`] = fakeDigest("forced");
        const r = await runProgram({ stack: "dev", registryImages });
        assert.equal(r.byType(IMAGE).length, 0);
        assert.equal(r.outputs.images[img.name].digest, fakeDigest("forced"));
        assert.equal(r.outputs.images[img.name].tag, `${img.cell.label}-f${img.contentHash.slice(0, 12)}-r1`);
        assert.match(promotionOf(r, img.name).inputs.create, new RegExp(` ${markerTag(img.cell.label, img.contentHash, 1)} ${img.latestTag}$`));
    });

    it("an existing dated tag is not republished: a later build of the epoch keeps the first build's dated tag", async () => {
        const images = await expectedImages("dev", { MLCI_REBUILD_EPOCH: "2026-11-22" });
        const nightly = images.find((i) => i.datedTag !== undefined)!;
        const registryImages = testedRegistry(images.filter((i) => i.name !== nightly.name));
        // The epoch's first build of this cell (other content) holds the dated tag.
        registryImages[`${nightly.repositoryName}:${nightly.datedTag}`] = fakeDigest("first-of-epoch");
        const r = await runProgram({ stack: "dev", registryImages, env: { MLCI_REBUILD_EPOCH: "2026-11-22" } });
        const promote = promotionOf(r, nightly.name);
        assert.ok(!promote.inputs.create.includes(nightly.datedTag!), promote.inputs.create);
        assert.equal(r.ecr.digestOf(nightly.repositoryName, nightly.datedTag!), fakeDigest("first-of-epoch"));
        assert.equal(r.ecr.digestOf(nightly.repositoryName, nightly.latestTag), r.outputs.images[nightly.name].digest);
    });

    it("an adopted build whose dated tag is its own keeps it in the (idempotent) promotion: the same Command inputs as the run that built it", async () => {
        const env = { MLCI_REBUILD_EPOCH: "2026-11-22" };
        const first = await runProgram({ stack: "dev", env });
        const second = await runProgram({ stack: "dev", env, ecr: first.ecr });
        assert.deepEqual(second.outputs.builtImages, []);
        for (const c of second.byType(SMOKE)) assert.deepEqual(plain(c.inputs), plain(first.one(SMOKE, c.name).inputs), c.name);
        for (const [name, o] of Object.entries<any>(second.outputs.images)) assert.equal(o.ref, first.outputs.images[name].ref);
    });
});

describe("program: the dev stack writes pr-images.yml's role and region into the `dev` environment", function () {
    this.timeout(120_000);
    // What the workflow reads: its job's environment and the names in its configure-aws-credentials step.
    const workflow = YAML.parse(fs.readFileSync(path.join(PROJECT_ROOT, ".github/workflows/pr-images.yml"), "utf8"));
    const jobs = Object.values<any>(workflow.jobs).filter((j) => j.steps?.some((st: any) => st.with?.["role-to-assume"]));
    const step = jobs[0]?.steps.find((st: any) => st.with?.["role-to-assume"]);
    const secretName = /^\$\{\{ secrets\.(\w+) \}\}$/.exec(step?.with["role-to-assume"] ?? "")?.[1];
    const regionName = /^\$\{\{ vars\.(\w+) \}\}$/.exec(step?.with["aws-region"] ?? "")?.[1];
    const region = YAML.parse(fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.dev.yaml"), "utf8")).config["aws:region"];

    it("reads the role from a secret and the region from a variable of its job's environment", () => {
        assert.equal(jobs.length, 1);
        assert.equal(jobs[0].environment, "dev");
        assert.equal(secretName, "CI_IMAGES_PIPELINE_ROLE_ARN");
        assert.equal(regionName, "CI_IMAGES_AWS_REGION");
    });

    it("dev writes both into pytorch/rl's `dev` environment (secret role ARN), and nothing at repository level", async () => {
        const r = await runProgram({ stack: "dev" });
        const secrets = r.byType("github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret");
        const vars = r.byType("github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable");
        const role = secrets.find((x) => x.inputs.secretName === secretName);
        assert.ok(role, `secrets: ${secrets.map((x) => x.inputs.secretName).join(", ")}`);
        assert.equal(role.inputs.repository, "rl");
        assert.equal(role.inputs.environment, "dev");
        assert.ok(isSecretInput(role.inputs.value), "the role ARN is a secret");
        assert.equal(plain(role.inputs.value), r.outputs.pipelineRoleArn);
        assert.match(r.outputs.pipelineRoleArn, /^arn:aws:iam::\d{12}:role\//);
        const regionVar = vars.find((x) => x.inputs.variableName === regionName);
        assert.ok(regionVar, `variables: ${vars.map((x) => x.inputs.variableName).join(", ")}`);
        assert.deepEqual([regionVar.inputs.repository, regionVar.inputs.environment, regionVar.inputs.value], ["rl", "dev", region]);
        assert.ok([...secrets, ...vars].every((x) => ["rl", "ml-ci-images"].includes(x.inputs.repository) && x.inputs.environment === "dev"));
        // Repository-level names are prod's: dev must not overwrite them.
        assert.deepEqual([...r.byType("github:index/actionsVariable:ActionsVariable"), ...r.byType("github:index/actionsSecret:ActionsSecret")].map((x) => x.urn), []);
        const [provider] = r.byType("pulumi:providers:github");
        // No token input (it would be stored in the state): the provider plugin reads GITHUB_TOKEN itself.
        assert.deepEqual([provider.inputs.owner, provider.inputs.token], ["pytorch", undefined]);
    });

    it("dev without a GitHub token fails before any resource, like prod", async () => {
        const { error, resources } = await runProgramExpectingError({ stack: "dev", githubToken: null, env: { GITHUB_TOKEN: undefined } });
        assert.match(error.message, /config mlci:github\.enabled: is true but the GITHUB_TOKEN environment variable is not set/);
        assert.deepEqual(resources, []);
    });
});

describe("program: GitHub variables wait for the promotion", function () {
    this.timeout(120_000);
    it("each CI_IMAGE_* variable depends on its image's promotion Command", async () => {
        const r = await runProgram({ stack: "prod", });
        const vars = r.byType("github:index/actionsVariable:ActionsVariable").filter((v) => v.inputs.variableName.startsWith("CI_IMAGE_"));
        assert.ok(vars.length > 0);
        for (const [name, o] of Object.entries<any>(r.outputs.images)) {
            const promote = promotionOf(r, name);
            const mine = vars.filter((v) => v.inputs.value === o.ref);
            assert.ok(mine.length > 0, `a variable for ${name}`);
            for (const v of mine) assert.ok(v.dependencies.includes(promote.urn), `${v.inputs.variableName} must depend on ${promote.urn}`);
        }
    });
});

describe("program: the second up is a no-op (#21)", function () {
    this.timeout(180_000);
    /** A copy of the project (program, libraries, Dockerfiles, scripts) at another path. */
    function copyProject(): string {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlci-root-"));
        for (const entry of ["index.ts", "lib", "components", "docker", "scripts", "package.json", "tsconfig.json", "Pulumi.yaml"]) {
            if (fs.existsSync(path.join(PROJECT_ROOT, entry))) fs.cpSync(path.join(PROJECT_ROOT, entry), path.join(dir, entry), { recursive: true });
        }
        fs.symlinkSync(path.join(PROJECT_ROOT, "node_modules"), path.join(dir, "node_modules"));
        return dir;
    }
    /** Runs `fn` with the wall clock at `iso` (`new Date()` and `Date.now()`). */
    async function at<T>(iso: string, fn: () => Promise<T>): Promise<T> {
        const RealDate = Date;
        const fixed = new RealDate(iso).getTime();
        class FakeDate extends RealDate {
            constructor(...args: any[]) {
                if (args.length === 0) super(fixed);
                else super(...(args as [any]));
            }
            static now() {
                return fixed;
            }
        }
        (globalThis as any).Date = FakeDate;
        try {
            return await fn();
        } finally {
            (globalThis as any).Date = RealDate;
        }
    }
    const roots: string[] = [];
    after(() => roots.forEach((r) => fs.rmSync(r, { recursive: true, force: true })));

    for (const stack of ["dev", "local"]) {
        it(`${stack}: two checkouts at different paths, on two days of one rebuild epoch, declare the same resources with the same inputs`, async () => {
            const [a, b] = [copyProject(), copyProject()];
            roots.push(a, b);
            const images = await expectedImages(stack, { MLCI_REBUILD_EPOCH: "2026-11-22" });
            // Steady state: every image tested in the registry.
            const registryImages = testedRegistry(images);
            const local = () => {
                const reg = new FakeRegistry();
                for (const i of images) reg.push(i.repositoryName, ociManifest(i.name), [i.tag, markerTag(i.cell.label, i.contentHash), i.latestTag, ...(i.datedTag ? [i.datedTag] : [])]);
                return reg;
            };
            // Sunday 02:00 UTC (the weekly run) and the Tuesday after: the same epoch 2026-11-22.
            const first = await at("2026-11-22T02:00:00Z", () => runProgram({ stack, registryImages, localRegistry: local(), programPath: path.join(a, "index.ts") }));
            const second = await at("2026-11-24T15:30:00Z", () => runProgram({ stack, registryImages, localRegistry: local(), programPath: path.join(b, "index.ts") }));
            const view = (r: typeof first) => r.resources.map((x) => ({ urn: x.urn, inputs: plain(x.inputs), protect: x.protect, retainOnDelete: x.retainOnDelete }));
            assert.deepEqual(view(second), view(first));
            assert.equal(first.outputs.rebuildEpoch, "2026-11-22");
            const text = JSON.stringify(view(first));
            for (const root of [a, b, PROJECT_ROOT]) assert.ok(!text.includes(root), `no absolute path (${root}) in any input`);
            assert.deepEqual(first.outputs.builtImages, []);
        });
    }


    it("dev: the ECR login rotates every run, yet no input differs (a no-op up): the login is the run's own", async () => {
        const images = await expectedImages("dev", { MLCI_REBUILD_EPOCH: "2026-11-22" });
        const registryImages = testedRegistry(images);
        const first = await runProgram({ stack: "dev", registryImages, ecrToken: "token-of-run-1", env: { MLCI_REBUILD_EPOCH: "2026-11-22" } });
        const second = await runProgram({ stack: "dev", registryImages, ecrToken: "token-of-run-2", env: { MLCI_REBUILD_EPOCH: "2026-11-22" } });
        assert.deepEqual(second.resources.map((r) => JSON.stringify(plain(r.inputs))), first.resources.map((r) => JSON.stringify(plain(r.inputs))));
    });

    it("dev, building every image: the smoke-test and promotion Commands are named per build and ignore the rotating login", async () => {
        const images = await expectedImages("dev", { MLCI_REBUILD_EPOCH: "2026-11-22" });
        const first = await runProgram({ stack: "dev", ecrToken: "token-of-run-1", env: { MLCI_REBUILD_EPOCH: "2026-11-22" } });
        const second = await runProgram({ stack: "dev", ecrToken: "token-of-run-2", env: { MLCI_REBUILD_EPOCH: "2026-11-22" } });
        assert.deepEqual(second.resources.map((r) => JSON.stringify(plain(r.inputs))), first.resources.map((r) => JSON.stringify(plain(r.inputs))), "no token in any input");
        for (const img of images) {
            const perBuild = img.tag.slice(img.cell.label.length + 1);
            for (const step of ["smoke-test", "promote"] as const) {
                const c = commandOf(first, img.name, step);
                assert.equal(c.name, `${img.name}-${step}-${perBuild}`, "a new build is a new Command, created with the fresh login");
                assert.deepEqual(c.ignoreChanges, ["environment"]);
                assert.equal(plain(c.inputs.environment ?? {}).MLCI_REGISTRY_AUTH, undefined, "the run logs in itself");
            }
        }
    });
});

describe("program: the local registry is reached through an injected client (no real port)", function () {
    this.timeout(120_000);
    it("one tags list per repository; the adopted tag's digest from one HEAD", async () => {
        const images = await expectedImages("local");
        const reg = new FakeRegistry();
        const digests = new Map(images.map((i) => [i.name, reg.push(i.repositoryName, ociManifest(i.name), [i.tag, markerTag(i.cell.label, i.contentHash)])]));
        const r = await runProgram({ stack: "local", localRegistry: reg });
        assert.equal(r.byType(IMAGE).length, 0);
        for (const i of images) assert.equal(r.outputs.images[i.name].digest, digests.get(i.name));
        const repos = [...new Set(images.map((i) => i.repositoryName))];
        assert.deepEqual(reg.requests.filter((q) => q.includes("/tags/list")).sort(), repos.map((x) => `GET /v2/${x}/tags/list`).sort());
        assert.equal(reg.requests.filter((q) => q.startsWith("HEAD")).length, images.length);
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


describe("program: size budgets and measured sizes (#16.4)", function () {
    this.timeout(120_000);
    it("a family's sizeBudgetGb overrides the stack's build.smokeTest.sizeBudgetGb for its smoke tests", async () => {
        const r = await runProgram({ stack: "dev", overrides: { families: { cpu: { sizeBudgetGb: 6.5 } } } });
        for (const c of r.byType(SMOKE).filter(isSmokeTest)) {
            assert.match(c.inputs.create, c.name.startsWith("cpu-") ? / --size-budget-gb 6\.5( |$)/ : / --size-budget-gb 10( |$)/, c.name);
        }
    });

    it("sizes come from docker/test_image.sh's size lines, summed over platforms", () => {
        const out = [
            "image: x",
            "PASS size linux/amd64: compressed 4.20 GB <= budget 10 GB (uncompressed 11.03 GB)",
            "PASS size linux/arm64: compressed 3.05 GB <= budget 10 GB (uncompressed: not pulled here)",
            "SUMMARY: 2 passed, 0 failed",
        ].join("\n");
        assert.equal(compressedSizeFromSmokeTest(out), 7_250_000_000);
        assert.equal(compressedSizeFromSmokeTest("FAIL size linux/amd64: compressed 12.00 GB > budget 10 GB (uncompressed 30.00 GB)"), 12_000_000_000);
        assert.equal(compressedSizeFromSmokeTest("FAIL size: cannot read the registry manifest of x (denied)"), undefined);
    });
});

describe("program: the pipeline role may list what the program lists", function () {
    this.timeout(120_000);
    it("ecr:ListImages is granted on every repository the run lists", async () => {
        const r = await runProgram({ stack: "prod", });
        const listed = r.calls.filter((c) => c.token === "aws:ecr/getImages:getImages").map((c) => c.inputs.repositoryName as string);
        const statements = r
            .byType("aws:iam/policy:Policy")
            .filter((p) => p.name.startsWith("pipeline-access"))
            .flatMap((p) => JSON.parse(plain(p.inputs.policy)).Statement as { Action: string | string[]; Resource: string | string[] }[]);
        for (const repo of listed) {
            const arn = `arn:aws:ecr:us-east-1:123456789012:repository/${repo}`;
            assert.ok(statements.some((s) => [s.Action].flat().includes("ecr:ListImages") && [s.Resource].flat().includes(arn)), `ecr:ListImages on ${arn}`);
        }
        assert.ok(listed.length >= 5);
    });
});

describe("program: OCI labels stamped by the builder (content-stable)", function () {
    this.timeout(120_000);
    it("version is the content tag (also on forced builds); source and revision come from the CI run and are not hashed", async () => {
        const env = { GITHUB_SERVER_URL: "https://github.com", GITHUB_REPOSITORY: "pytorch/ml-ci-images", GITHUB_SHA: "0123456789abcdef0123456789abcdef01234567" };
        const r = await runProgram({ stack: "dev", env: { ...env, MLCI_FORCE_REBUILD: "cpu-py3.12" }, registryImages: testedRegistry(await expectedImages("dev")) });
        const img = (await expectedImages("dev")).find((i) => i.name === "cpu-py3.12")!;
        const b = r.one(IMAGE, "cpu-py3.12-build");
        assert.match(b.inputs.tags[0], /-f[0-9a-f]{12}-r1$/);
        assert.equal(b.inputs.labels["org.opencontainers.image.version"], img.tag);
        assert.equal(b.inputs.labels["org.opencontainers.image.source"], "https://github.com/pytorch/ml-ci-images");
        assert.equal(b.inputs.labels["org.opencontainers.image.revision"], env.GITHUB_SHA);
        // The commit is not an input of the content hash: the content tag is the same without it.
        assert.equal(r.outputs.images["cpu-py3.12"].contentTag, img.tag);
        const plainRun = await runProgram({ stack: "dev", env: { GITHUB_SERVER_URL: undefined, GITHUB_REPOSITORY: undefined, GITHUB_SHA: undefined } });
        assert.equal(plainRun.one(IMAGE, "cpu-py3.12-build").inputs.labels["org.opencontainers.image.revision"], undefined);
    });
});
