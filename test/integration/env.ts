/**
 * The integration suite's world: a real Docker engine and a real registry, brought up by
 * scripts/integration-env.sh (or reused when already running), plus small helpers to build,
 * push and read the registry. Every integration file starts with `const env = useIntegrationEnv();`
 * inside its `describe`: the suite skips with one line when no engine can be had, except under
 * CI=true as root, where failing to start is a failure.
 */
import { spawnSync, SpawnSyncReturns } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";

export const PROJECT_ROOT = path.resolve(__dirname, "..", "..");
const ENV_SCRIPT = path.join(PROJECT_ROOT, "scripts", "integration-env.sh");

/** What the integration tests run against. */
export interface IntegrationEnv {
    /** DOCKER_HOST of the engine, e.g. `unix:///tmp/mlci-integration/docker.sock`. */
    dockerHost: string;
    /** `127.0.0.1:<port>` of the registry (plain HTTP). */
    registry: string;
    /** A docker client that builds with BuildKit (buildx, or a pre-23 client). */
    dockerClient: string;
    /** Offline base image with busybox only. */
    busyboxImage: string;
    /** Offline base image with the host's python3 (and busybox). */
    pythonImage: string;
    /** `X.Y` of the python in {@link pythonImage}. */
    pythonVersion: string;
    /** A fresh repository namespace for this run, e.g. `it-lx2k9a`. */
    namespace: string;
    /** Process environment for docker commands against this engine. */
    processEnv: NodeJS.ProcessEnv;
}

let pending: Promise<IntegrationEnv | string> | undefined;
let startedHere = false;
let skipAnnounced = false;

function script(arg: string): SpawnSyncReturns<string> {
    return spawnSync("bash", [ENV_SCRIPT, arg], { encoding: "utf8", timeout: 15 * 60_000 });
}

function parseExports(text: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const m of text.matchAll(/^export ([A-Z_]+)=(.*)$/gm)) out[m[1]] = m[2];
    return out;
}

/** Brings the environment up once per process: an IntegrationEnv, or the reason to skip. */
async function bringUp(): Promise<IntegrationEnv | string> {
    const wasRunning = script("status").status === 0;
    const started = script("start");
    if (started.status !== 0) {
        const reason = (started.stderr.trim().split("\n").pop() ?? "").replace(/^integration-env: /, "") || `integration-env.sh start exited ${started.status}`;
        const mustRun = process.env.CI === "true" && process.getuid?.() === 0;
        if (mustRun) throw new Error(`CI=true as root, but the integration environment did not start: ${reason}\n${started.stderr}`);
        return reason;
    }
    startedHere = !wasRunning;
    const vars = parseExports(started.stdout);
    for (const key of ["DOCKER_HOST", "MLCI_TEST_REGISTRY", "MLCI_TEST_DOCKER", "MLCI_TEST_PYTHON_IMAGE", "MLCI_TEST_BUSYBOX_IMAGE", "MLCI_TEST_PYTHON_VERSION"]) {
        if (!vars[key]) throw new Error(`integration-env.sh start printed no ${key}:\n${started.stdout}`);
    }
    return {
        dockerHost: vars.DOCKER_HOST,
        registry: vars.MLCI_TEST_REGISTRY,
        dockerClient: vars.MLCI_TEST_DOCKER,
        busyboxImage: vars.MLCI_TEST_BUSYBOX_IMAGE,
        pythonImage: vars.MLCI_TEST_PYTHON_IMAGE,
        pythonVersion: vars.MLCI_TEST_PYTHON_VERSION,
        namespace: `it-${Date.now().toString(36)}`,
        processEnv: { ...process.env, DOCKER_HOST: vars.DOCKER_HOST },
    };
}

// Remove this run's images and build cache (vfs stores every layer as a full copy; the base
// images stay cached), then stop what this process started (when .ci/run started the env, it
// stops it itself).
after(async function () {
    this.timeout(300_000);
    const result = pending ? await pending.catch(() => undefined) : undefined;
    if (result && typeof result !== "string") {
        const refs = spawnSync("docker", ["images", "--format", "{{.Repository}}:{{.Tag}}"], { encoding: "utf8", env: result.processEnv, timeout: 60_000 })
            .stdout.split("\n")
            .filter((r) => r.includes(result.namespace));
        if (refs.length) spawnSync("docker", ["rmi", "-f", ...refs], { env: result.processEnv, timeout: 120_000 });
        spawnSync("docker", ["image", "prune", "-f"], { env: result.processEnv, timeout: 120_000 });
        spawnSync("docker", ["builder", "prune", "-af"], { env: result.processEnv, timeout: 120_000 });
    }
    if (startedHere) script("stop");
});

/**
 * Call inside a `describe`: registers a `before` hook that brings the environment up (or skips
 * the whole describe with one line) and returns a getter for it.
 */
export function useIntegrationEnv(): () => IntegrationEnv {
    let env: IntegrationEnv | undefined;
    before(async function () {
        this.timeout(15 * 60_000);
        pending ??= bringUp();
        const result = await pending;
        if (typeof result === "string") {
            if (!skipAnnounced) console.log(`  integration tests skipped: ${result}`);
            skipAnnounced = true;
            this.skip();
        }
        env = result as IntegrationEnv;
    });
    return () => {
        if (!env) throw new Error("integration environment not up (use it inside a test or hook)");
        return env;
    };
}

/** Runs a command against the env's engine; throws with its output when it fails. */
export function run(env: IntegrationEnv, file: string, args: string[], opts: { input?: string; timeoutMs?: number; extraEnv?: NodeJS.ProcessEnv } = {}): string {
    const res = spawnSync(file, args, { encoding: "utf8", input: opts.input, timeout: opts.timeoutMs ?? 300_000, env: { ...env.processEnv, ...opts.extraEnv }, maxBuffer: 64 << 20 });
    if (res.status !== 0) throw new Error(`${file} ${args.join(" ")} exited ${res.status ?? res.signal}:\n${res.stdout}\n${res.stderr}`);
    return res.stdout;
}

/** `docker <args>` with a timeout. */
export function docker(env: IntegrationEnv, args: string[], opts: { input?: string; timeoutMs?: number } = {}): string {
    return run(env, "docker", args, opts);
}

/** One build, in the terms of docker-build's Image inputs. */
export interface BuildSpec {
    context: string;
    dockerfile?: string;
    buildArgs?: Record<string, string>;
    target?: string;
    platforms?: string[];
    tag: string;
}

/** `DOCKER_BUILDKIT=1 docker build --network host` of exactly these inputs; returns the image ID. */
export function build(env: IntegrationEnv, spec: BuildSpec): string {
    const args = ["build", "--network", "host", "-t", spec.tag];
    if (spec.dockerfile) args.push("-f", spec.dockerfile);
    for (const [k, v] of Object.entries(spec.buildArgs ?? {})) args.push("--build-arg", `${k}=${v}`);
    if (spec.target) args.push("--target", spec.target);
    if (spec.platforms?.length) {
        if (spec.platforms.length > 1) throw new Error(`a single-engine build takes one platform, got ${spec.platforms.join(",")}`);
        args.push("--platform", spec.platforms[0]);
    }
    args.push(spec.context);
    run(env, env.dockerClient, args, { timeoutMs: 600_000, extraEnv: { DOCKER_BUILDKIT: "1" } });
    return docker(env, ["image", "inspect", "--format", "{{.Id}}", spec.tag]).trim();
}

/** Pushes a tag; returns the digest the registry reports for it. */
export function push(env: IntegrationEnv, tag: string): string {
    const out = docker(env, ["push", tag], { timeoutMs: 600_000 });
    const m = /digest: (sha256:[0-9a-f]{64})/.exec(out);
    if (!m) throw new Error(`no digest in docker push output:\n${out}`);
    return m[1];
}

const MANIFEST_TYPES = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

function registryRequest(env: IntegrationEnv, method: "GET" | "HEAD", urlPath: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
    const [host, port] = env.registry.split(":");
    return new Promise((resolve, reject) => {
        const req = http.request({ host, port: Number(port), method, path: urlPath, headers: { Accept: MANIFEST_TYPES }, timeout: 30_000 }, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (c) => (body += c));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        });
        req.on("timeout", () => req.destroy(new Error(`registry ${method} ${urlPath} timed out`)));
        req.on("error", reject);
        req.end();
    });
}

/** The registry's digest for `<repository>:<tag>` (HEAD on the manifest), or undefined when absent. */
export async function registryDigest(env: IntegrationEnv, repository: string, tag: string): Promise<string | undefined> {
    const res = await registryRequest(env, "HEAD", `/v2/${repository}/manifests/${tag}`);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw new Error(`registry HEAD ${repository}:${tag}: HTTP ${res.status}`);
    return String(res.headers["docker-content-digest"]);
}

/** The manifest JSON for `<repository>:<tag or digest>` from the registry API. */
export async function registryManifest(env: IntegrationEnv, repository: string, reference: string): Promise<any> {
    const res = await registryRequest(env, "GET", `/v2/${repository}/manifests/${reference}`);
    if (res.status !== 200) throw new Error(`registry GET ${repository}:${reference}: HTTP ${res.status} ${res.body}`);
    return JSON.parse(res.body);
}

/** A temp dir removed by the caller (`fs.rmSync(dir, { recursive: true })`). */
export function tempDir(prefix: string): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), `mlci-it-${prefix}-`));
}
