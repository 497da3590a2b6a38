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
    body: string | Buffer;
}

/** A file of a project on the fixture Python index; an sdist may carry its pyproject.toml. */
export interface FixturePackageFile {
    filename: string;
    /** pyproject.toml text packed into the sdist (sdists only). */
    pyproject?: string;
    /** PEP 691 `requires-python` (PyPI sends it for every file whose upload declared it). */
    requiresPython?: string;
    /** PEP 691 `yanked`: true or the reason (PEP 592). */
    yanked?: boolean | string;
}

export interface Fixture {
    /** Index page path (under /whl) → wheel file names, e.g. `nightly/cu132` → [...]. */
    index: Record<string, string[]>;
    /** `repository:tag` that exist, e.g. `nvidia/cuda:13.2.1-cudnn-devel-ubuntu24.04`. */
    tags: string[];
    /** Every request seen, in order. */
    log: FixtureRequest[];
    /** The digest each `repository:tag` points at now. @default {@link FIXTURE_BASE_DIGEST} for every tag */
    digests?: Record<string, string>;
    /** Digests the registry still holds that no tag points at any more (after a re-push). */
    oldDigests?: string[];
    /**
     * What a digest's manifest is: an index listing these platforms (the default: linux/amd64 and
     * linux/arm64, like nvidia/cuda's and python's tags), or a single-platform manifest.
     */
    manifests?: Record<string, { index: true; platforms: string[] } | { index: false }>;
    /** Python index (PEP 691 JSON under /simple/<name>/): normalized project name → files. */
    packages?: Record<string, FixturePackageFile[]>;
}

export const REGISTRY_SERVICE = "registry.fixture";
/** The digest the fixture registry serves for a tag unless `digests` says otherwise. */
export const FIXTURE_BASE_DIGEST = `sha256:${"a".repeat(64)}`;

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
    const project = url.pathname.match(/^\/simple\/([^/]+)\/$/);
    if (project && req.method === "GET") {
        const files = fixture.packages?.[project[1]];
        if (files === undefined) return { status: 404, headers: {}, body: "not found" };
        if (!(req.headers.accept ?? "").includes("application/vnd.pypi.simple.v1+json")) return { status: 406, headers: {}, body: "PEP 691 JSON only" };
        const body = { meta: { "api-version": "1.1" }, name: project[1], files: files.map((f) => ({ filename: f.filename, url: `../../files/${encodeURIComponent(f.filename)}`, hashes: { sha256: "0".repeat(64) }, ...(f.requiresPython !== undefined ? { "requires-python": f.requiresPython } : {}), ...(f.yanked !== undefined ? { yanked: f.yanked } : {}) })) };
        return { status: 200, headers: { "content-type": "application/vnd.pypi.simple.v1+json" }, body: JSON.stringify(body) };
    }
    const download = url.pathname.match(/^\/files\/([^/]+)$/);
    if (download && req.method === "GET") {
        const filename = decodeURIComponent(download[1]);
        const file = Object.values(fixture.packages ?? {}).flat().find((f) => f.filename === filename);
        if (!file) return { status: 404, headers: {}, body: "not found" };
        return { status: 200, headers: { "content-type": "application/octet-stream" }, body: file.filename.endsWith(".tar.gz") ? sdistArchive(file.filename, file.pyproject) : Buffer.alloc(0) };
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
        const digestOf = (t: string) => fixture.digests?.[`${repository}:${t}`] ?? FIXTURE_BASE_DIGEST;
        const known = tag.startsWith("sha256:")
            ? fixture.tags.some((t) => t.startsWith(`${repository}:`) && digestOf(t.slice(repository.length + 1)) === tag) || (fixture.oldDigests ?? []).includes(tag)
            : fixture.tags.includes(`${repository}:${tag}`);
        if (!known) return { status: 404, headers: {}, body: JSON.stringify({ errors: [{ code: "MANIFEST_UNKNOWN" }] }) };
        const digest = tag.startsWith("sha256:") ? tag : digestOf(tag);
        const kind = fixture.manifests?.[digest] ?? { index: true, platforms: ["linux/amd64", "linux/arm64"] };
        if (!kind.index) return { status: 200, headers: { "content-type": "application/vnd.oci.image.manifest.v1+json", "docker-content-digest": digest }, body: JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", layers: [] }) };
        const manifests = kind.platforms.map((p, i) => ({ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: `sha256:${String(i).repeat(64)}`, size: 1, platform: { os: p.split("/")[0], architecture: p.split("/")[1] } }));
        return { status: 200, headers: { "content-type": "application/vnd.oci.image.index.v1+json", "docker-content-digest": digest }, body: JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests }) };
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
        const bytes = Buffer.isBuffer(res.body) ? res.body : Buffer.from(res.body);
        return {
            status: res.status,
            headers: { get: (name: string) => lower[name.toLowerCase()] ?? null },
            text: async () => (init?.method === "HEAD" ? "" : bytes.toString("utf8")),
            arrayBuffer: async () => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
        };
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
        tags: [
            "nvidia/cuda:13.0.2-cudnn-devel-ubuntu24.04",
            "nvidia/cuda:13.2.1-cudnn-devel-ubuntu24.04",
            "nvidia/cuda:13.0.2-devel-ubuntu24.04",
            "nvidia/cuda:13.2.1-devel-ubuntu24.04",
            "library/python:3.12-slim-bookworm",
            "library/python:3.13-slim-bookworm",
        ],
        log: [],
        packages: lockIndexPackages(require("path").resolve(__dirname, "..")),
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

/** A .tar.gz sdist with `<name-version>/PKG-INFO` and, when given, `<name-version>/pyproject.toml` (ustar headers). */
export function sdistArchive(filename: string, pyproject?: string): Buffer {
    const { gzipSync } = require("zlib") as typeof import("zlib");
    const top = filename.replace(/\.tar\.gz$/, "");
    const entry = (name: string, text: string) => {
        const body = Buffer.from(text);
        const header = Buffer.alloc(512);
        header.write(name, 0, 100);
        header.write("0000644\0", 100);
        header.write("0000000\0", 108);
        header.write("0000000\0", 116);
        header.write(body.length.toString(8).padStart(11, "0") + "\0", 124);
        header.write("00000000000\0", 136);
        header.write("0", 156);
        header.write("ustar\0", 257);
        header.write("00", 263);
        header.write("        ", 148);
        let sum = 0;
        for (const b of header) sum += b;
        header.write(sum.toString(8).padStart(6, "0") + "\0 ", 148);
        return Buffer.concat([header, body, Buffer.alloc((512 - (body.length % 512)) % 512)]);
    };
    const parts = [entry(`${top}/PKG-INFO`, `Metadata-Version: 2.1\nName: ${top}\n`)];
    if (pyproject !== undefined) parts.push(entry(`${top}/pyproject.toml`, pyproject));
    return gzipSync(Buffer.concat([...parts, Buffer.alloc(1024)]));
}

/** labmaze 1.0.6 as PyPI has it: wheels for cp37 to cp312 (manylinux 2_17/2014 x86_64 and aarch64) and an sdist without pyproject.toml. */
export function labmazeFiles(): FixturePackageFile[] {
    const wheels = ["37", "38", "39", "310", "311", "312"].flatMap((v) =>
        ["x86_64", "aarch64"].map((arch) => ({ filename: `labmaze-1.0.6-cp${v}-cp${v}-manylinux_2_17_${arch}.manylinux2014_${arch}.whl` })),
    );
    return [...wheels, { filename: "labmaze-1.0.6.tar.gz" }];
}

/**
 * A Python index serving every pin of the project's lock files as a `py3-none-any` wheel, except
 * labmaze (its real wheel set, {@link labmazeFiles}): what the full-lock preflight asks for.
 */
export function lockIndexPackages(projectRoot: string): Record<string, FixturePackageFile[]> {
    const fs = require("fs") as typeof import("fs");
    const path = require("path") as typeof import("path");
    const packages: Record<string, FixturePackageFile[]> = {};
    for (const family of fs.readdirSync(path.join(projectRoot, "docker"))) {
        const dir = path.join(projectRoot, "docker", family);
        if (!fs.statSync(dir).isDirectory()) continue;
        for (const file of fs.readdirSync(dir).filter((f) => /^requirements-py.*\.lock$/.test(f))) {
            for (const raw of fs.readFileSync(path.join(dir, file), "utf8").split("\n")) {
                const m = raw.replace(/#.*/, "").split(";")[0].trim().match(/^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==(\S+)$/);
                if (!m) continue;
                const name = m[1].toLowerCase().replace(/[-_.]+/g, "-");
                const wheel = `${name.replace(/-/g, "_")}-${m[2]}-py3-none-any.whl`;
                const files = (packages[name] ??= []);
                if (!files.some((f) => f.filename === wheel)) files.push({ filename: wheel });
            }
        }
    }
    packages.labmaze = labmazeFiles();
    return packages;
}

/**
 * A copy of the project's stack files and docker/ contexts in a temp dir whose pinned base images
 * (the real upstream index digests in the shipped stacks) carry the digest the fixture registry serves.
 */
export function projectCopyPinnedToFixture(projectRoot: string, digest: string = FIXTURE_BASE_DIGEST): string {
    const fs = require("fs") as typeof import("fs");
    const os = require("os") as typeof import("os");
    const path = require("path") as typeof import("path");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlci-pinned-"));
    for (const f of fs.readdirSync(projectRoot).filter((f) => /^Pulumi(\.[^.]+)?\.yaml$/.test(f))) {
        fs.writeFileSync(path.join(dir, f), fs.readFileSync(path.join(projectRoot, f), "utf8").replace(/@sha256:[0-9a-f]{64}/g, `@${digest}`));
    }
    fs.cpSync(path.join(projectRoot, "docker"), path.join(dir, "docker"), { recursive: true });
    return dir;
}
