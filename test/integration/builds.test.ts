import { strict as assert } from "assert";
import * as path from "path";
import { RecordedResource, runProgram } from "../harness";
import { build, docker, PROJECT_ROOT, push, registryDigest, registryManifest, useIntegrationEnv } from "./env";
import { FIXTURES, fixtureStack } from "./fixtureStack";

const IMAGE = "docker-build:index:Image";

/** `localhost:5000/ns/parent:py3.11-0123abcd` → repository `ns/parent`, tag `py3.11-0123abcd`. */
function splitTag(ref: string): { repository: string; tag: string } {
    const m = /^[^/]+\/(.+):([^:@]+)$/.exec(ref);
    if (!m) throw new Error(`not a <registry>/<repository>:<tag> ref: ${ref}`);
    return { repository: m[1], tag: m[2] };
}

describe("integration: the program's declared builds, executed on a real engine", function () {
    this.timeout(15 * 60_000);
    const getEnv = useIntegrationEnv();
    let parentBuild: RecordedResource;
    let childBuild: RecordedResource;
    let parentTag: string;
    let parentDigest: string;

    before(async function () {
        const env = getEnv();
        const run = await runProgram({ configYaml: fixtureStack(env), env: { MLCI_REBUILD_EPOCH: "2026-11-22" } });
        const builds = run.byType(IMAGE);
        assert.deepEqual(builds.map((b) => b.name).sort(), [`child-py${env.pythonVersion}-build`, `parent-py${env.pythonVersion}-build`]);
        parentBuild = builds.find((b) => b.name.startsWith("parent-"))!;
        childBuild = builds.find((b) => b.name.startsWith("child-"))!;
    });

    function specOf(b: RecordedResource, buildArgs: Record<string, string>) {
        assert.equal(b.inputs.tags.length, 1, b.urn);
        return {
            // Declared project-relative (no checkout path in state); docker-build resolves them from the
            // program's working directory, the project root, as this build does.
            context: path.resolve(PROJECT_ROOT, b.inputs.context.location),
            dockerfile: path.resolve(PROJECT_ROOT, b.inputs.dockerfile.location),
            buildArgs,
            target: b.inputs.target,
            platforms: b.inputs.platforms,
            tag: b.inputs.tags[0] as string,
        };
    }

    it("the parent builds from exactly its declared context, Dockerfile, args and target", () => {
        const env = getEnv();
        assert.equal(parentBuild.inputs.context.location, `${FIXTURES}/parent`, "project-relative, never the checkout's absolute path");
        assert.equal(parentBuild.inputs.target, "final");
        const spec = specOf(parentBuild, parentBuild.inputs.buildArgs);
        parentTag = spec.tag;
        assert.ok(parentTag.startsWith(`localhost:${env.registry.split(":")[1]}/${env.namespace}/parent:`), parentTag);
        build(env, spec);
        const files = docker(env, ["run", "--rm", "--network", "none", parentTag, "find", "/opt/parent", "-type", "f"]).trim().split("\n").sort();
        assert.deepEqual(files, [
            "/opt/parent/.dockerignore",
            "/opt/parent/Dockerfile",
            "/opt/parent/app/main.py",
            "/opt/parent/build/keep.txt",
            "/opt/parent/docs/README.md",
            "/opt/parent/greeting",
            "/opt/parent/python-version",
            "/opt/parent/uv", // the uv stand-in the smoke test calls (also copied to /usr/bin/uv)
        ]);
        assert.equal(docker(env, ["run", "--rm", "--network", "none", parentTag, "cat", "/opt/parent/greeting"]), "hello from the parent\n");
        assert.equal(docker(env, ["run", "--rm", "--network", "none", parentTag, "cat", "/opt/parent/python-version"]), `${env.pythonVersion}\n`);
    });

    it("the parent's push lands under its content-hash tag in the registry", async () => {
        const env = getEnv();
        parentDigest = push(env, parentTag);
        const { repository, tag } = splitTag(parentTag);
        assert.equal(await registryDigest(env, repository, tag), parentDigest);
    });

    it("the child builds FROM the parent's real digest ref, pulled from the registry, and contains what its parent had", async () => {
        const env = getEnv();
        const declared: string = childBuild.inputs.buildArgs.BASE_IMAGE;
        const m = /^(.+)@sha256:[0-9a-f]{64}$/.exec(declared);
        assert.ok(m, `BASE_IMAGE is not a digest ref: ${declared}`);
        assert.equal(m![1], parentTag, "the child's BASE_IMAGE names the parent's content-hash tag");
        const realRef = `${parentTag}@${parentDigest}`;
        // Drop the local parent so the build must pull it by digest from the registry.
        docker(env, ["rmi", parentTag]);
        const spec = specOf(childBuild, { ...childBuild.inputs.buildArgs, BASE_IMAGE: realRef });
        build(env, spec);
        const sh = (cmd: string) => docker(env, ["run", "--rm", "--network", "none", spec.tag, "sh", "-c", cmd]);
        assert.equal(sh("cat /opt/parent/greeting /opt/child/flavor /opt/child/marker.txt"), "hello from the parent\nvanilla\nchild marker\n");
        assert.equal(sh("python3 /opt/parent/app/main.py"), "parent app\n");
        assert.equal(sh("test -e /opt/parent/extra-stage && echo built || echo absent"), "absent\n", "the parent's target stopped before the extra stage");

        const childDigest = push(env, spec.tag);
        const parentLayers = (await registryManifest(env, splitTag(parentTag).repository, parentDigest)).layers.map((l: any) => l.digest);
        const child = splitTag(spec.tag);
        const childLayers = (await registryManifest(env, child.repository, childDigest)).layers.map((l: any) => l.digest);
        assert.deepEqual(childLayers.slice(0, parentLayers.length), parentLayers, "the child's layers start with the parent's");
        assert.ok(childLayers.length > parentLayers.length);
    });
});
