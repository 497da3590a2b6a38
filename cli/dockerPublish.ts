/**
 * The real builder of `ci-images publish`: Docker. One image at a time, from the bake target of
 * that build (lib/images/bakeFile.ts, the program's inputs): `docker buildx bake` where buildx
 * exists, else `DOCKER_BUILDKIT=1 docker build --network host` and `docker push` (one platform).
 * The pushed digest is read back from the registry, which is the source of truth. The smoke test is
 * docker/test_image.sh through scripts/with-registry-auth.sh, as the program runs it.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { bakeTargetForBuild, bakeTargetName, dockerBuildArgv } from "../lib/images/bakeFile";
import type { TaggedImage } from "../lib/images/graph";
import { SMOKE_TEST_SCRIPT } from "../lib/images/smokeTest";
import { baseRegistryFor } from "../lib/registry/documents";
import type { StackPlan } from "../lib/stackPlan";
import type { CommandContext } from "./context";
import type { RegistryAccess } from "./registryAccess";

/** Builds, pushes and smoke-tests images (docker in real runs; tests fake it). */
export interface ImageBuilder {
    /** What builds, for the report, e.g. `docker buildx bake`. */
    readonly name: string;
    /**
     * Builds `image` with the program's inputs and pushes it as `<repositoryUrl>:<tag>`; a child
     * builds FROM `baseImageRef` (the parent's digest-pinned ref). Returns the pushed digest.
     */
    buildAndPush(image: TaggedImage, tag: string, baseImageRef: string | undefined): Promise<string>;
    /** Runs the smoke test on a digest-pinned ref; throws with the failing checks. */
    smokeTest(ref: string, args: string[]): Promise<void>;
}

/** The login wrapper the smoke test runs through (project-relative). */
const WITH_REGISTRY_AUTH = "scripts/with-registry-auth.sh";

/** `docker buildx bake` when `docker buildx version` works, else the classic builder with BuildKit. */
export function detectBuildx(docker: string, env: NodeJS.ProcessEnv): boolean {
    const r = spawnSync(docker, ["buildx", "version"], { env, encoding: "utf8", timeout: 30_000 });
    return r.status === 0;
}

/** Runs a command, streaming its output to `sink`; resolves with the exit code and the last lines. */
function stream(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; sink: NodeJS.WritableStream; input?: string }): Promise<{ code: number; tail: string }> {
    return new Promise((resolve, reject) => {
        const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: [opts.input !== undefined ? "pipe" : "ignore", "pipe", "pipe"] });
        const lines: string[] = [];
        const take = (chunk: Buffer) => {
            opts.sink.write(chunk);
            lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
            if (lines.length > 40) lines.splice(0, lines.length - 40);
        };
        child.stdout!.on("data", take);
        child.stderr!.on("data", take);
        child.on("error", (e) => reject(new Error(`${cmd} could not run: ${e.message}`)));
        child.on("close", (code) => resolve({ code: code ?? 1, tail: lines.slice(-12).join("\n") }));
        if (opts.input !== undefined) {
            // A command that exits before reading its input (a failed login) closes the pipe: its exit code tells what happened.
            child.stdin!.on("error", () => undefined);
            child.stdin!.end(opts.input);
        }
    });
}

/** Docker as publish's {@link ImageBuilder} for a stack and a registry. */
export function dockerImageBuilder(ctx: CommandContext, plan: StackPlan, access: RegistryAccess): ImageBuilder {
    const docker = ctx.env.MLCI_DOCKER || "docker";
    const root = ctx.root();
    const buildx = detectBuildx(docker, ctx.env);
    // Bake resolves a target's context against the working directory (the project root here), unless
    // BUILDX_BAKE_FILE_RELATIVE_PATHS=1 (docker/buildx#3935) makes it relative to the bake file, which
    // publish writes to a temp dir: the opt-in is dropped for publish's own calls.
    const env: NodeJS.ProcessEnv = { ...ctx.env, DOCKER_BUILDKIT: "1" };
    delete env.BUILDX_BAKE_FILE_RELATIVE_PATHS;
    const provenance = { source: ctx.env.GITHUB_SERVER_URL && ctx.env.GITHUB_REPOSITORY ? `${ctx.env.GITHUB_SERVER_URL}/${ctx.env.GITHUB_REPOSITORY}` : undefined, revision: ctx.env.GITHUB_SHA || undefined };
    const bakeOptions = { registryHost: access.host, cache: plan.config.build.cache, push: true, baseRegistry: baseRegistryFor(plan.config.registry, access.host), provenance };
    let loggedIn = false;

    async function run(args: string[], what: string, input?: string): Promise<void> {
        const r = await stream(docker, args, { cwd: root, env, sink: ctx.err, input });
        if (r.code !== 0) throw new Error(`${what} exited ${r.code}:\n${r.tail}`);
    }

    async function login(): Promise<void> {
        if (loggedIn || access.auth === "") return;
        const colon = access.auth.indexOf(":");
        await run(["login", "--username", access.auth.slice(0, colon), "--password-stdin", access.host], `docker login ${access.host}`, access.auth.slice(colon + 1));
        loggedIn = true;
    }

    return {
        name: buildx ? "docker buildx bake" : "docker build (no buildx)",
        async buildAndPush(image: TaggedImage, tag: string, baseImageRef: string | undefined): Promise<string> {
            const target = bakeTargetForBuild(image, bakeOptions, { tag, baseImageRef });
            await login();
            if (buildx) {
                const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ci-images-bake-"));
                try {
                    const name = bakeTargetName(image.name);
                    const file = path.join(dir, "bake.json");
                    fs.writeFileSync(file, JSON.stringify({ group: { default: { targets: [name] } }, target: { [name]: target } }, null, 2));
                    await run(["buildx", "bake", "--progress", "plain", "-f", file, name], `docker buildx bake ${name}`);
                } finally {
                    fs.rmSync(dir, { recursive: true, force: true });
                }
            } else {
                await run(dockerBuildArgv(image.name, target), `docker build of ${image.name}`);
                for (const ref of target.tags) await run(["push", ref], `docker push ${ref}`);
            }
            const digest = await access.client.manifestDigest(image.repositoryName, tag);
            if (!digest) throw new Error(`${access.host}/${image.repositoryName}:${tag} is not in the registry after the push`);
            return digest;
        },
        async smokeTest(ref: string, args: string[]): Promise<void> {
            const r = await stream("sh", [WITH_REGISTRY_AUTH, "bash", SMOKE_TEST_SCRIPT, ref, ...args], {
                cwd: root,
                env: { ...ctx.env, MLCI_REGISTRY_HOST: access.host, MLCI_REGISTRY_AUTH: access.auth, DOCKER: docker },
                sink: ctx.err,
            });
            if (r.code !== 0) throw new Error(r.tail.split("\n").filter((l) => /^(FAIL|SUMMARY)/.test(l)).join("; ") || `docker/test_image.sh exited ${r.code}`);
        },
    };
}
