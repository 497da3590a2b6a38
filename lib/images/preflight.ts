/**
 * Online preflight: before any build, checks that what every image cell asks for exists
 * outside the project — a torch wheel on the PyTorch wheel index for the cell's Python tag
 * and each platform (and the pinned release for stable families), and each root image's
 * base image tag in its registry (registry API v2, with the WWW-Authenticate Bearer token
 * flow Docker Hub uses for anonymous pulls). Pure: the caller passes the base URLs, the
 * Dockerfile texts and a fetch function; nothing here reads the environment.
 */
import { baseLibc, parseWheelName, PLATFORM_MACHINE, PythonEnvironment, wheelFits } from "./pythonTags";

export { parseWheelName } from "./pythonTags";

/** PyTorch's wheel index (PEP 503 simple pages under `<url>/[nightly/]<variant>/torch/`). */
export const DEFAULT_PYTORCH_INDEX_URL = "https://download.pytorch.org/whl";
/** Docker Hub's registry API v2. */
export const DEFAULT_BASE_REGISTRY_URL = "https://registry-1.docker.io";

/** The part of a fetch Response the preflight reads. */
export interface PreflightResponse {
    status: number;
    headers: { get(name: string): string | null };
    text(): Promise<string>;
    /** The body as bytes (sdists); the global fetch's Response has it. */
    arrayBuffer?(): Promise<ArrayBuffer>;
}

/** A fetch function (the global `fetch` fits); it may reject on a network error or time-out. */
export type PreflightFetch = (url: string, init?: { method?: string; headers?: Record<string, string> }) => Promise<PreflightResponse>;

/** The fields of an image node the preflight reads (an `ImageNode` fits). */
export interface PreflightImage {
    /** e.g. `nightly-cuda13.2-py3.12`. */
    name: string;
    family: string;
    cell: { cuda?: string; python: string };
    /** Hashed build args (cell args plus the family's). */
    buildArgs: Record<string, string>;
    /** e.g. `["linux/amd64", "linux/arm64"]`. */
    platforms: string[];
    dateRebuilt: boolean;
    /** Parent image name; undefined for root images. */
    parent?: string;
    /** Project-relative Dockerfile path, the key of `PreflightInput.dockerfiles`. */
    dockerfile: string;
}

/** What to check. */
export interface PreflightInput {
    images: PreflightImage[];
    /** Dockerfile text by project-relative path (root images' FROM lines name the base images). */
    dockerfiles: Record<string, string>;
    fetch: PreflightFetch;
    /** @default DEFAULT_PYTORCH_INDEX_URL */
    indexUrl?: string;
    /** @default DEFAULT_BASE_REGISTRY_URL */
    registryUrl?: string;
    /** Told about what does not fail the check: a pinned base tag that now points elsewhere (drift). */
    onNote?: (note: PreflightProblem) => void;
}

/** One thing an image cell needs that is not there (or could not be checked). */
export interface PreflightProblem {
    /** Image name, e.g. `nightly-cuda13.2-py3.12`. */
    image: string;
    /** What is missing, with the URL that showed it. */
    message: string;
    fix: string;
}

/** The torch wheel a cell installs. */
export interface WheelRequirement {
    channel: "nightly" | "stable";
    /** `cu132` or `cpu`. */
    variant: string;
    /** Pinned release for stable; undefined for nightly (any `.dev` build). */
    version?: string;
    /** `cp312`. */
    pythonTag: string;
    platforms: string[];
    /** The family whose config sets this requirement (for fixes). */
    family: string;
}

/** A base image a root Dockerfile builds FROM. */
export interface BaseImageRequirement {
    /** Repository path in the registry, e.g. `nvidia/cuda`, `library/python`. */
    repository: string;
    tag: string;
    /** The digest the stack pins (`…@sha256:…`), if any. */
    digest?: string;
}

const PLATFORM_ARCH = PLATFORM_MACHINE;

/**
 * The C library of an image's cell: from its root's base image tag (ubuntu24.04 → glibc 2.39,
 * bookworm → glibc 2.36). Undefined when the root's FROM or its distribution is unknown.
 */
export function cellLibc(image: PreflightImage, byName: Map<string, PreflightImage>, dockerfiles: Record<string, string>): PythonEnvironment["libc"] | undefined {
    let root = image;
    while (root.parent !== undefined && byName.has(root.parent)) root = byName.get(root.parent)!;
    const text = dockerfiles[root.dockerfile];
    const base = text !== undefined ? baseImageRequirement(text, root.buildArgs) : undefined;
    return base ? baseLibc(base.tag) : undefined;
}

/**
 * The torch wheel an image installs: a family with a `TORCH_VERSION` build arg installs that
 * release from the stable index, a date-rebuilt family installs the nightly, and a child
 * without either inherits its parent's torch. Undefined for images without torch (base).
 */
export function wheelRequirement(image: PreflightImage, byName: Map<string, PreflightImage>): WheelRequirement | undefined {
    const variant = image.cell.cuda !== undefined ? `cu${image.cell.cuda.split(".").slice(0, 2).join("")}` : "cpu";
    const pythonTag = `cp${image.cell.python.replace(".", "")}`;
    for (let node: PreflightImage | undefined = image; node !== undefined; node = node.parent !== undefined ? byName.get(node.parent) : undefined) {
        const version = node.buildArgs.TORCH_VERSION;
        if (version !== undefined && version !== "") return { channel: "stable", variant, version, pythonTag, platforms: image.platforms, family: node.family };
        if (node.dateRebuilt) return { channel: "nightly", variant, pythonTag, platforms: image.platforms, family: node.family };
    }
    return undefined;
}

/**
 * The image a root Dockerfile's first FROM names, with the image's build args and the ARG
 * defaults substituted; `BASE_REGISTRY` (a registry mirror or pull-through cache) is
 * dropped so the upstream repository is checked. Undefined when the FROM cannot be resolved.
 */
export function baseImageRequirement(dockerfile: string, buildArgs: Record<string, string>): BaseImageRequirement | undefined {
    const lines = joinContinuations(dockerfile);
    const defaults: Record<string, string> = {};
    for (const line of lines) {
        const arg = line.match(/^ARG\s+([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/i);
        if (arg) {
            if (arg[2] !== undefined) defaults[arg[1]] = arg[2].trim().replace(/^"(.*)"$/, "$1");
            continue;
        }
        const from = line.match(/^FROM\s+(?:--\S+\s+)*(\S+)/i);
        if (!from) continue;
        let unresolved = false;
        const image = from[1]
            .replace(/^\$\{BASE_REGISTRY\}\/|^\$BASE_REGISTRY\//, "")
            .replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_m, braced: string | undefined, bare: string | undefined) => {
                const name = (braced ?? bare) as string;
                const value = buildArgs[name] ?? defaults[name];
                if (value === undefined) unresolved = true;
                return value ?? "";
            });
        if (unresolved) return undefined;
        return splitImageRef(image);
    }
    return undefined;
}

function joinContinuations(text: string): string[] {
    return text
        .replace(/\\\r?\n/g, " ")
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter((l) => l !== "" && !l.startsWith("#"));
}

/** `docker.io/nvidia/cuda:13.2.1-…` → `{repository: "nvidia/cuda", tag}`; `python:3.12` → `library/python`. */
function splitImageRef(ref: string): BaseImageRequirement | undefined {
    const digest = ref.includes("@") ? ref.slice(ref.indexOf("@") + 1) : undefined;
    let rest = ref.split("@")[0];
    const slash = rest.indexOf("/");
    if (slash > 0 && /[.:]|^localhost$/.test(rest.slice(0, slash))) rest = rest.slice(slash + 1);
    const colon = rest.lastIndexOf(":");
    if (colon <= 0) return undefined;
    const repository = rest.slice(0, colon);
    return { repository: repository.includes("/") ? repository : `library/${repository}`, tag: rest.slice(colon + 1), ...(digest ? { digest } : {}) };
}

/** File names linked from a PEP 503 simple page (anchor hrefs, fragment and query removed, percent-decoded). */
export function simplePageFiles(html: string): string[] {
    const files: string[] = [];
    for (const m of html.matchAll(/<a\s[^>]*href\s*=\s*["']([^"']+)["'][^>]*>/gi)) {
        const path = m[1].split("#")[0].split("?")[0];
        const last = path.slice(path.lastIndexOf("/") + 1);
        try {
            files.push(decodeURIComponent(last));
        } catch {
            files.push(last);
        }
    }
    return files;
}

const stripLocal = (version: string) => version.split("+")[0];

/**
 * Which of the requirement's platforms have a matching torch wheel among `files`: the PEP 425 tags
 * of lib/images/pythonTags.ts, for the cell's Python (or any CPython when `withPython` is false) and
 * C library (any glibc when unknown).
 */
function matchingPlatforms(files: string[], req: WheelRequirement, withPython: boolean, libc: PythonEnvironment["libc"] | undefined): Set<string> {
    const found = new Set<string>();
    const python = `${req.pythonTag.slice(2, 3)}.${req.pythonTag.slice(3)}`;
    for (const file of files) {
        const w = parseWheelName(file);
        if (!w || w.name !== "torch") continue;
        if (req.version !== undefined && stripLocal(w.version) !== req.version) continue;
        if (req.channel === "nightly" && !/\.dev/.test(w.version)) continue;
        for (const platform of req.platforms) {
            const machine = PLATFORM_ARCH[platform];
            if (machine === undefined) continue;
            const pythons = withPython ? [python] : [...new Set(w.pythonTags.filter((t) => /^cp\d\d+$/.test(t)).map((t) => `${t.slice(2, 3)}.${t.slice(3)}`))];
            const fits = pythons.some((py) => wheelFits(file, { python: py, machine, libc: libc ?? { kind: "glibc", major: 2, minor: 99 } }));
            if (fits) found.add(platform);
        }
    }
    return found;
}

const matrixKeyFix = (image: PreflightImage, family: string) =>
    image.cell.cuda !== undefined ? `mlci:matrix.cuda (or mlci:families.${family}.matrix.cuda)` : `mlci:families.${family}.platforms`;
const MOVE_DOC = 'docs/catalog.md, "Moving the matrix when PyTorch moves"';

/** Checks every image; resolves to the problems found (empty when everything exists). */
export async function preflight(input: PreflightInput): Promise<PreflightProblem[]> {
    const indexUrl = (input.indexUrl ?? DEFAULT_PYTORCH_INDEX_URL).replace(/\/+$/, "");
    const registryUrl = (input.registryUrl ?? DEFAULT_BASE_REGISTRY_URL).replace(/\/+$/, "");
    const byName = new Map(input.images.map((i) => [i.name, i]));
    const pages = new Map<string, Promise<{ status: number; files: string[] } | { error: string }>>();
    const tags = new Map<string, Promise<{ status: number; digest?: string; contentType?: string; body?: string } | { error: string }>>();
    const registry = new RegistryClient(registryUrl, input.fetch);

    const page = (url: string) => {
        if (!pages.has(url)) {
            pages.set(
                url,
                input
                    .fetch(url, { headers: { Accept: "text/html" } })
                    .then(async (res) => ({ status: res.status, files: res.status === 200 ? simplePageFiles(await res.text()) : [] }))
                    .catch((e: unknown) => ({ error: e instanceof Error ? e.message : String(e) })),
            );
        }
        return pages.get(url)!;
    };

    const checks = input.images.map(async (image): Promise<PreflightProblem[]> => {
        const problems: PreflightProblem[] = [];
        const req = wheelRequirement(image, byName);
        if (req) problems.push(...(await checkWheel(image, req, indexUrl, page, cellLibc(image, byName, input.dockerfiles))));
        if (image.parent === undefined) {
            const text = input.dockerfiles[image.dockerfile];
            const base = text !== undefined ? baseImageRequirement(text, image.buildArgs) : undefined;
            if (base === undefined) {
                problems.push({
                    image: image.name,
                    message: `cannot tell the base image of ${image.dockerfile} (missing Dockerfile text, or its first FROM uses an arg without a value)`,
                    fix: `pass the Dockerfile text and every build arg its FROM line uses`,
                });
            } else {
                const key = `${base.repository}:${base.tag}`;
                if (!tags.has(key)) tags.set(key, registry.manifestStatus(base.repository, base.tag));
                const res = await tags.get(key)!;
                const where = `${registryUrl}/v2/${base.repository}/manifests/${base.tag}`;
                if ("error" in res) {
                    problems.push({ image: image.name, message: `could not check the base image ${key}: ${res.error} (${where})`, fix: "check the network path to the registry (or MLCI_BASE_REGISTRY_URL) and retry" });
                } else if (res.status === 404) {
                    problems.push({
                        image: image.name,
                        message: `base image ${key} does not exist (HEAD ${where} → 404)`,
                        fix: `use a tag that ${base.repository} publishes: change the cell (mlci:matrix.cuda / mlci:matrix.python) or mlci:families.${image.family}.buildArgs (e.g. UBUNTU_VERSION); see ${MOVE_DOC}`,
                    });
                } else if (res.status !== 200) {
                    problems.push({ image: image.name, message: `could not check the base image ${key}: HEAD ${where} → ${res.status}`, fix: "check registry credentials or rate limits and retry" });
                } else if (base.digest !== undefined) {
                    const pinned = `${key}@${base.digest}`;
                    const bump = `run the digest-bump workflow (.github/workflows/digest-bump.yml), which opens a PR setting mlci:families.${image.family}.baseImages to the tag's current digest`;
                    if (/^sha256:0{64}$/.test(base.digest)) {
                        problems.push({ image: image.name, message: `the pinned base image ${pinned} is a placeholder (all-zero digest); the tag now points at ${res.digest ?? "an unknown digest"}`, fix: bump });
                    } else {
                        const dkey = `${base.repository}@${base.digest}`;
                        if (!tags.has(dkey)) tags.set(dkey, registry.manifestStatus(base.repository, base.digest, "GET"));
                        const byDigest = await tags.get(dkey)!;
                        const coverage = "error" in byDigest || byDigest.status !== 200 ? undefined : indexCoverage(byDigest.contentType, byDigest.body, image.platforms);
                        if ("error" in byDigest || byDigest.status !== 200) {
                            problems.push({ image: image.name, message: `the pinned base image ${pinned} is not in the registry (GET ${registryUrl}/v2/${base.repository}/manifests/${base.digest} → ${"error" in byDigest ? byDigest.error : byDigest.status})`, fix: bump });
                        } else if (coverage !== undefined) {
                            problems.push({
                                image: image.name,
                                message: `the pinned base image ${pinned} ${coverage}; mlci:families.${image.family} builds ${image.platforms.join(", ")}`,
                                fix: `pin the tag's multi-platform index digest (docker buildx imagetools inspect ${key}: the "Digest" of the index, not of one platform's manifest) in mlci:families.${image.family}.baseImages`,
                            });
                        } else if (res.digest !== undefined && res.digest !== base.digest) {
                            input.onNote?.({ image: image.name, message: `base tag drift: ${key} now points at ${res.digest}, the stack pins ${base.digest} (a re-push, e.g. a security update: NVIDIA/nvidia-container-toolkit#152)`, fix: bump });
                        }
                    }
                }
            }
        }
        return problems;
    });
    return (await Promise.all(checks)).flat();
}

async function checkWheel(
    image: PreflightImage,
    req: WheelRequirement,
    indexUrl: string,
    page: (url: string) => Promise<{ status: number; files: string[] } | { error: string }>,
    libc: PythonEnvironment["libc"] | undefined,
): Promise<PreflightProblem[]> {
    const channelPath = `${req.channel === "nightly" ? "nightly/" : ""}${req.variant}`;
    const url = `${indexUrl}/${channelPath}/torch/`;
    const what = req.channel === "nightly" ? `torch nightly` : `torch ${req.version}`;
    const res = await page(url);
    if ("error" in res) return [{ image: image.name, message: `could not read the wheel index ${url}: ${res.error}`, fix: "check the network path to the index (or MLCI_PYTORCH_INDEX_URL) and retry" }];
    const channelName = req.variant === "cpu" ? "CPU" : `CUDA ${image.cell.cuda}`;
    if (res.status === 404) {
        return [
            {
                image: image.name,
                message: `the wheel index has no ${req.channel} ${req.variant} channel (GET ${url} → 404)`,
                fix:
                    req.variant === "cpu"
                        ? `check the index URL; PyTorch publishes ${req.channel} CPU wheels under ${channelPath}`
                        : `PyTorch does not publish ${req.channel} wheels for ${channelName}: move ${matrixKeyFix(image, req.family)} to a CUDA version in PyTorch's generate_binary_build_matrix.py; see ${MOVE_DOC}`,
            },
        ];
    }
    if (res.status !== 200) return [{ image: image.name, message: `could not read the wheel index: GET ${url} → ${res.status}`, fix: "retry; check the index URL" }];

    const problems: PreflightProblem[] = [];
    const anyPython = matchingPlatforms(res.files, req, false, libc);
    const withPython = matchingPlatforms(res.files, req, true, libc);
    if (req.version !== undefined && anyPython.size === 0) {
        return [
            {
                image: image.name,
                message: `${url} has no torch ${req.version} wheel for ${req.platforms.join(", ")}`,
                fix: `set mlci:families.${req.family}.buildArgs.TORCH_VERSION to a release published for ${channelName}, or move ${matrixKeyFix(image, req.family)}; see ${MOVE_DOC}`,
            },
        ];
    }
    if (withPython.size === 0) {
        problems.push({
            image: image.name,
            message: `${url} has no ${what} wheel for ${req.pythonTag} (Python ${image.cell.python})`,
            fix: `drop Python ${image.cell.python} from mlci:matrix.python, or restrict the family with mlci:families.${image.family}.matrix.python to Pythons the index has; see ${MOVE_DOC}`,
        });
        return problems;
    }
    for (const platform of req.platforms) {
        if (withPython.has(platform)) continue;
        problems.push({
            image: image.name,
            message: `${url} has no ${what} wheel for ${req.pythonTag} on ${platform} (${PLATFORM_ARCH[platform] ?? platform})`,
            fix: `remove ${platform} from mlci:families.${image.family}.platforms, or move the cell to one with ${platform} wheels; see ${MOVE_DOC}`,
        });
    }
    return problems;
}

const INDEX_TYPES = ["application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"];
const SINGLE_TYPES = ["application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json"];

/**
 * Whether a pinned manifest serves every platform a family builds: undefined when it does, else what
 * is wrong. An image index / manifest list (OCI image-spec `image-index.md`, Docker's manifest list)
 * must list a manifest for each `os/architecture[/variant]`; a single-platform manifest serves only a
 * single-platform family (its platform is in its config blob, which this check does not read).
 */
export function indexCoverage(contentType: string | undefined, body: string | undefined, platforms: string[]): string | undefined {
    const type = (contentType ?? "").split(";")[0].trim();
    if (SINGLE_TYPES.includes(type)) return platforms.length > 1 ? `is a single-platform manifest (${type}), not an index of ${platforms.length} platforms` : undefined;
    if (!INDEX_TYPES.includes(type)) return `has the content type ${type || "(none)"}, neither an image index nor a manifest`;
    let manifests: { platform?: { os?: string; architecture?: string; variant?: string } }[];
    try {
        manifests = (JSON.parse(body ?? "") as { manifests?: typeof manifests }).manifests ?? [];
    } catch {
        return "is an index whose body is not JSON";
    }
    const listed = new Set(manifests.flatMap((m) => (m.platform?.os && m.platform.architecture ? [`${m.platform.os}/${m.platform.architecture}`, ...(m.platform.variant ? [`${m.platform.os}/${m.platform.architecture}/${m.platform.variant}`] : [])] : [])));
    const missing = platforms.filter((p) => !listed.has(p));
    return missing.length > 0 ? `is an index without ${missing.join(", ")} (it lists ${[...listed].filter((p) => p.split("/").length === 2).sort().join(", ") || "no platform"})` : undefined;
}

/** Registry API v2 manifest lookups with the WWW-Authenticate Bearer token flow. */
class RegistryClient {
    private readonly tokens = new Map<string, Promise<string | undefined>>();

    constructor(
        private readonly baseUrl: string,
        private readonly fetch: PreflightFetch,
    ) {}

    async manifestStatus(repository: string, tag: string, method: "HEAD" | "GET" = "HEAD"): Promise<{ status: number; digest?: string; contentType?: string; body?: string } | { error: string }> {
        const url = `${this.baseUrl}/v2/${repository}/manifests/${encodeURIComponent(tag)}`;
        const accept = [
            "application/vnd.oci.image.index.v1+json",
            "application/vnd.docker.distribution.manifest.list.v2+json",
            "application/vnd.oci.image.manifest.v1+json",
            "application/vnd.docker.distribution.manifest.v2+json",
        ].join(", ");
        try {
            let res = await this.fetch(url, { method, headers: { Accept: accept } });
            if (res.status === 401) {
                const challenge = parseBearerChallenge(res.headers.get("www-authenticate"));
                if (challenge === undefined) return { error: `401 without a Bearer challenge from ${url}` };
                const scope = challenge.scope ?? `repository:${repository}:pull`;
                const key = `${challenge.realm} ${challenge.service ?? ""} ${scope}`;
                if (!this.tokens.has(key)) this.tokens.set(key, this.token(challenge.realm, challenge.service, scope));
                const token = await this.tokens.get(key)!;
                if (token === undefined) return { error: `the token endpoint ${challenge.realm} gave no token for ${scope}` };
                res = await this.fetch(url, { method, headers: { Accept: accept, Authorization: `Bearer ${token}` } });
            }
            const contentType = res.headers.get("content-type") ?? undefined;
            const body = method === "GET" && res.status === 200 ? await res.text() : undefined;
            return { status: res.status, digest: res.headers.get("docker-content-digest") ?? undefined, contentType, body };
        } catch (e) {
            return { error: e instanceof Error ? e.message : String(e) };
        }
    }

    private async token(realm: string, service: string | undefined, scope: string): Promise<string | undefined> {
        const query = new URLSearchParams();
        if (service !== undefined) query.set("service", service);
        query.set("scope", scope);
        const res = await this.fetch(`${realm}${realm.includes("?") ? "&" : "?"}${query.toString()}`, { method: "GET" });
        if (res.status !== 200) return undefined;
        const body = JSON.parse(await res.text()) as { token?: string; access_token?: string };
        return body.token ?? body.access_token;
    }
}

/** `Bearer realm="…",service="…",scope="…"` → its parameters; undefined for another scheme. */
export function parseBearerChallenge(header: string | null): { realm: string; service?: string; scope?: string } | undefined {
    if (header === null) return undefined;
    const m = header.match(/^\s*Bearer\s+(.*)$/i);
    if (!m) return undefined;
    const params: Record<string, string> = {};
    for (const p of m[1].matchAll(/([A-Za-z]+)\s*=\s*(?:"([^"]*)"|([^,\s]*))/g)) params[p[1].toLowerCase()] = p[2] ?? p[3];
    if (params.realm === undefined) return undefined;
    return { realm: params.realm, service: params.service, scope: params.scope };
}

/** One line per problem: `<image>: <message>. Fix: <fix>`. */
export function formatPreflightProblems(problems: PreflightProblem[]): string {
    return problems.map((p) => `${p.image}: ${p.message}. Fix: ${p.fix}`).join("\n");
}
