/**
 * publish's Docker driver (cli/dockerPublish.ts) with a fake `docker` on MLCI_DOCKER that records
 * its calls: the buildx path (this machine has no buildx plugin, so it is tested here, not in the
 * integration suite) and the no-buildx fallback, each against the registry model for the digest.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PassThrough } from "stream";
import type { CommandContext } from "../cli/context";
import { dockerImageBuilder } from "../cli/dockerPublish";
import { registryAccess } from "../cli/registryAccess";
import { bakeTargetForBuild, bakeTargetName } from "../lib/images/bakeFile";
import { planStackFile, StackPlan } from "../lib/stackPlan";
import { cliFixtureProject } from "./cliContext";
import { FakeRegistry, ociManifest } from "./fakeRegistry";

const HOST = "localhost:5000";

/** A docker that logs argv, cwd, one env var and (for bake) the file it was given; `buildx version` succeeds only with buildx. */
function fakeDocker(dir: string, buildx: boolean): { bin: string; calls: () => { argv: string[]; cwd: string; relative: string; bake?: unknown }[] } {
    const log = path.join(dir, "calls.jsonl");
    const bin = path.join(dir, "docker");
    fs.writeFileSync(
        bin,
        `#!/usr/bin/env node
const fs = require("fs");
const argv = process.argv.slice(2);
const f = argv.indexOf("-f");
const bake = argv[0] === "buildx" && argv[1] === "bake" ? JSON.parse(fs.readFileSync(argv[f + 1], "utf8")) : undefined;
fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify({ argv, cwd: process.cwd(), relative: process.env.BUILDX_BAKE_FILE_RELATIVE_PATHS ?? "", bake }) + "\\n");
if (argv[0] === "buildx" && argv[1] === "version") process.exit(${buildx ? 0 : 1});
console.log("#1 DONE");
`,
    );
    fs.chmodSync(bin, 0o755);
    return { bin, calls: () => fs.readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l)) };
}

function context(root: string, reg: FakeRegistry, docker: string): CommandContext {
    const env = { PATH: process.env.PATH, MLCI_DOCKER: docker, BUILDX_BAKE_FILE_RELATIVE_PATHS: "1", GITHUB_SERVER_URL: "https://github.com", GITHUB_REPOSITORY: "pytorch/rl", GITHUB_SHA: "abc123" };
    return {
        command: "publish",
        positional: [],
        flag: () => undefined,
        has: () => false,
        json: false,
        out: new PassThrough().resume(),
        err: new PassThrough().resume(),
        env,
        services: { fetch: reg.fetch, ecrAuthorization: async () => assert.fail("no ECR"), sleep: async () => undefined, now: () => new Date() },
        root: () => root,
        stack: () => "ci",
        plan: () => assert.fail("not used"),
        warn: () => undefined,
    };
}

describe("publish's Docker driver (fake docker)", () => {
    let root: string;
    let plan: StackPlan;
    before(async () => {
        root = cliFixtureProject();
        plan = await planStackFile(root, "ci", { env: {}, useHashCache: false });
    });

    for (const buildx of [true, false]) {
        it(buildx ? "with buildx: one `docker buildx bake` per image, from the project root, with the build's own target" : "without buildx: docker build --network host from the same target, then docker push", async () => {
            const reg = new FakeRegistry();
            const docker = fakeDocker(fs.mkdtempSync(path.join(os.tmpdir(), "fake-docker-")), buildx);
            const ctx = context(root, reg, docker.bin);
            const access = await registryAccess(ctx, plan, { registry: HOST });
            const builder = dockerImageBuilder(ctx, plan, access);
            assert.equal(builder.name, buildx ? "docker buildx bake" : "docker build (no buildx)");
            const nightly = plan.images.find((i) => i.family === "nightly")!;
            const baseRef = `${HOST}/ml-ci/base:x@sha256:${"b".repeat(64)}`;
            // The registry is the source of truth for the digest: the fake docker pushes nothing, the test does.
            const digest = reg.push(nightly.repositoryName, ociManifest("nightly"), [nightly.tag]);
            assert.equal(await builder.buildAndPush(nightly, nightly.tag, baseRef), digest);
            const calls = docker.calls().filter((c) => c.argv[1] !== "version");
            const target = bakeTargetForBuild(nightly, { registryHost: HOST, cache: plan.config.build.cache, push: true, baseRegistry: `${HOST}/docker-hub`, provenance: { source: "https://github.com/pytorch/rl", revision: "abc123" } }, { tag: nightly.tag, baseImageRef: baseRef });
            for (const c of calls) assert.equal(c.cwd, root, "contexts are project-relative");
            if (buildx) {
                assert.equal(calls.length, 1);
                const name = bakeTargetName(nightly.name);
                assert.deepEqual(calls[0].argv.filter((a) => !a.endsWith("bake.json")), ["buildx", "bake", "--progress", "plain", "-f", name]);
                assert.deepEqual(calls[0].bake, { group: { default: { targets: [name] } }, target: { [name]: target } });
                assert.equal(calls[0].relative, "", "BUILDX_BAKE_FILE_RELATIVE_PATHS is dropped");
            } else {
                assert.deepEqual(calls.map((c) => c.argv[0]), ["build", "push"]);
                assert.ok(calls[0].argv.includes(`BASE_IMAGE=${baseRef}`));
                assert.ok(calls[0].argv.includes("org.opencontainers.image.revision=abc123"));
                assert.deepEqual(calls[1].argv, ["push", `${HOST}/${nightly.repositoryName}:${nightly.tag}`]);
            }
        });
    }

    it("a failed build names the command, its exit code and the last lines of its output", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fake-docker-"));
        const bin = path.join(dir, "docker");
        fs.writeFileSync(bin, '#!/bin/sh\n[ "$1 $2" = "buildx version" ] && exit 1\necho "ERROR: failed to solve: process \\"/bin/sh -c pip install\\" did not complete successfully: exit code: 1" >&2\nexit 17\n');
        fs.chmodSync(bin, 0o755);
        const reg = new FakeRegistry();
        const ctx = context(root, reg, bin);
        const builder = dockerImageBuilder(ctx, plan, await registryAccess(ctx, plan, { registry: HOST }));
        const base = plan.images[0];
        await assert.rejects(builder.buildAndPush(base, base.tag, undefined), /docker build of base-cuda12\.4-py3\.10 exited 17:\nERROR: failed to solve: process "\/bin\/sh -c pip install" did not complete successfully/);
    });
});
