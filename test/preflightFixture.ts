/**
 * An in-memory PyTorch wheel index (PEP 503 simple pages) and a registry API v2 that, like
 * Docker Hub, answers 401 with a Bearer challenge and serves anonymous pull tokens. Shared by
 * test/preflight.test.ts (through an injected fetch) and test/integration/preflight.test.ts
 * (over a real HTTP server on 127.0.0.1).
 */
import type { PreflightFetch, PreflightImage } from "../lib/images/preflight";

export interface FixtureRequest {
    method: string;
    /** Path and query, e.g. `/whl/nightly/cu132/torch/`. */
    path: string;
    headers: Record<string, string | undefined>;
}

export interface FixtureResponse {
    status: number;
    headers: Record<string, string>;
    body: string;
}

export interface Fixture {
    /** Index page path (under /whl) → wheel file names, e.g. `nightly/cu132` → [...]. */
    index: Record<string, string[]>;
    /** `repository:tag` that exist, e.g. `nvidia/cuda:13.2.1-cudnn-devel-ubuntu24.04`. */
    tags: string[];
    /** Every request seen, in order. */
    log: FixtureRequest[];
}

export const REGISTRY_SERVICE = "registry.fixture";

/** Serves one request; `origin` (e.g. `http://127.0.0.1:4321`) goes into the token realm. */
export function handle(fixture: Fixture, origin: string, req: FixtureRequest): FixtureResponse {
    fixture.log.push(req);
    const url = new URL(req.path, origin);
    const index = url.pathname.match(/^\/whl\/(.+)\/torch\/$/);
    if (index && req.method === "GET") {
        const files = fixture.index[index[1]];
        if (files === undefined) return { status: 404, headers: {}, body: "not found" };
        const links = files.map((f) => `<a href="/whl/${encodeURIComponent(f).replace(/%2F/g, "/")}#sha256=${"0".repeat(64)}">${f}</a><br/>`).join("\n");
        return { status: 200, headers: { "content-type": "text/html" }, body: `<!DOCTYPE html><html><body><h1>Links for torch</h1>\n${links}\n</body></html>` };
    }
    if (url.pathname === "/token" && req.method === "GET") {
        const scope = url.searchParams.get("scope") ?? "";
        if (url.searchParams.get("service") !== REGISTRY_SERVICE || !/^repository:[^:]+:pull$/.test(scope)) return { status: 400, headers: {}, body: "bad token request" };
        return { status: 200, headers: { "content-type": "application/json" }, body: JSON.stringify({ token: tokenFor(scope), expires_in: 300 }) };
    }
    const manifest = url.pathname.match(/^\/v2\/(.+)\/manifests\/([^/]+)$/);
    if (manifest && (req.method === "HEAD" || req.method === "GET")) {
        const [repository, tag] = [manifest[1], decodeURIComponent(manifest[2])];
        const scope = `repository:${repository}:pull`;
        if (req.headers.authorization !== `Bearer ${tokenFor(scope)}`) {
            return {
                status: 401,
                headers: { "www-authenticate": `Bearer realm="${origin}/token",service="${REGISTRY_SERVICE}",scope="${scope}"` },
                body: JSON.stringify({ errors: [{ code: "UNAUTHORIZED" }] }),
            };
        }
        if (!fixture.tags.includes(`${repository}:${tag}`)) return { status: 404, headers: {}, body: JSON.stringify({ errors: [{ code: "MANIFEST_UNKNOWN" }] }) };
        return { status: 200, headers: { "content-type": "application/vnd.oci.image.index.v1+json", "docker-content-digest": `sha256:${"a".repeat(64)}` }, body: "" };
    }
    return { status: 404, headers: {}, body: "not found" };
}

function tokenFor(scope: string): string {
    return Buffer.from(`anonymous ${scope}`).toString("base64url");
}

/** A fetch backed directly by the fixture (no sockets). */
export function fixtureFetch(fixture: Fixture, origin: string): PreflightFetch {
    return async (url, init) => {
        const u = new URL(url);
        if (u.origin !== origin) throw new Error(`fetch failed: unexpected host ${u.origin}`);
        const headers: Record<string, string | undefined> = {};
        for (const [k, v] of Object.entries(init?.headers ?? {})) headers[k.toLowerCase()] = v;
        const res = handle(fixture, origin, { method: init?.method ?? "GET", path: u.pathname + u.search, headers });
        const lower = Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k.toLowerCase(), v]));
        return { status: res.status, headers: { get: (name: string) => lower[name.toLowerCase()] ?? null }, text: async () => (init?.method === "HEAD" ? "" : res.body) };
    };
}

/** torch wheel file names for each Python tag × platform. */
export function torchWheels(version: string, pythonTags: string[], arches: string[] = ["x86_64"]): string[] {
    return pythonTags.flatMap((py) => arches.map((arch) => `torch-${version}-${py}-${py}-manylinux_2_28_${arch}.whl`));
}

export const BASE_DOCKERFILE = [
    "ARG BASE_REGISTRY=docker.io",
    "ARG CUDA_VERSION",
    "ARG CUDNN_VARIANT",
    "ARG UBUNTU_VERSION=24.04",
    "FROM ${BASE_REGISTRY}/nvidia/cuda:${CUDA_VERSION}-${CUDNN_VARIANT}-devel-ubuntu${UBUNTU_VERSION}",
    "RUN true",
].join("\n");
export const CPU_DOCKERFILE = ["ARG BASE_REGISTRY=docker.io", "ARG PYTHON_VERSION", "FROM ${BASE_REGISTRY}/library/python:${PYTHON_VERSION}-slim-bookworm", "RUN true"].join("\n");

/** A small catalog: base → nightly → habitat, base → stable (torch 2.15.0), cpu (amd64 + arm64). */
export function catalog(cudas: string[], pythons: string[]): PreflightImage[] {
    const images: PreflightImage[] = [];
    for (const cuda of cudas) {
        for (const python of pythons) {
            const cell = `cuda${cuda.split(".").slice(0, 2).join(".")}-py${python}`;
            const args = { CUDA_VERSION: cuda, CUDNN_VARIANT: "cudnn", PYTHON_VERSION: python };
            images.push({ name: `base-${cell}`, family: "base", cell: { cuda, python }, buildArgs: { ...args, UBUNTU_VERSION: "24.04" }, platforms: ["linux/amd64"], dateRebuilt: false, dockerfile: "docker/base/Dockerfile" });
            images.push({ name: `nightly-${cell}`, family: "nightly", cell: { cuda, python }, buildArgs: args, platforms: ["linux/amd64"], dateRebuilt: true, parent: `base-${cell}`, dockerfile: "docker/nightly/Dockerfile" });
            images.push({ name: `stable-${cell}`, family: "stable", cell: { cuda, python }, buildArgs: { ...args, TORCH_VERSION: "2.15.0" }, platforms: ["linux/amd64"], dateRebuilt: false, parent: `base-${cell}`, dockerfile: "docker/stable/Dockerfile" });
            images.push({ name: `habitat-${cell}`, family: "habitat", cell: { cuda, python }, buildArgs: args, platforms: ["linux/amd64"], dateRebuilt: false, parent: `nightly-${cell}`, dockerfile: "docker/habitat/Dockerfile" });
        }
    }
    for (const python of pythons) {
        images.push({ name: `cpu-py${python}`, family: "cpu", cell: { python }, buildArgs: { PYTHON_VERSION: python, TORCH_VERSION: "2.15.0" }, platforms: ["linux/amd64", "linux/arm64"], dateRebuilt: false, dockerfile: "docker/cpu/Dockerfile" });
    }
    return images;
}

export const DOCKERFILES = { "docker/base/Dockerfile": BASE_DOCKERFILE, "docker/cpu/Dockerfile": CPU_DOCKERFILE };

/** A fixture where every cell of `catalog(["13.0.2", "13.2.1"], ["3.12", "3.13"])` exists. */
export function completeFixture(): Fixture {
    const py = ["cp312", "cp313"];
    return {
        index: {
            "nightly/cu130": torchWheels("2.16.0.dev20261122+cu130", py),
            "nightly/cu132": torchWheels("2.16.0.dev20261122+cu132", [...py, "cp313t"]),
            cu130: [...torchWheels("2.14.0+cu130", py), ...torchWheels("2.15.0+cu130", py)],
            cu132: torchWheels("2.15.0+cu132", py),
            cpu: [...torchWheels("2.15.0+cpu", py, ["x86_64"]), ...torchWheels("2.15.0", py, ["aarch64"])],
        },
        tags: ["nvidia/cuda:13.0.2-cudnn-devel-ubuntu24.04", "nvidia/cuda:13.2.1-cudnn-devel-ubuntu24.04", "library/python:3.12-slim-bookworm", "library/python:3.13-slim-bookworm"],
        log: [],
    };
}

/** Serves `current()` (read per request, so a test can edit the fixture) over HTTP on an ephemeral 127.0.0.1 port. */
export async function serveFixture(current: () => Fixture): Promise<{ origin: string; close: () => Promise<void> }> {
    const http = await import("http");
    let origin = "";
    const server = http.createServer((req, res) => {
        const headers: Record<string, string | undefined> = {};
        for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(", ") : v;
        const out = handle(current(), origin, { method: req.method ?? "GET", path: req.url ?? "/", headers });
        res.writeHead(out.status, out.headers);
        res.end(req.method === "HEAD" ? undefined : out.body);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    origin = `http://127.0.0.1:${(server.address() as import("net").AddressInfo).port}`;
    return {
        origin,
        close: async () => {
            server.closeAllConnections();
            await new Promise<void>((resolve) => server.close(() => resolve()));
        },
    };
}
