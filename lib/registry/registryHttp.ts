/**
 * A small client of the registry HTTP API v2 (distribution spec) with an injected `fetch`:
 * tag listings, manifest digests and compressed sizes, and same-digest retags. Used by the
 * program for the local registry's lookups and by `ci-images retag` / `ci-images check --online`.
 * Pure: no `@pulumi/*`, no `process.env`; authentication is a header the caller passes.
 *
 * Measured registry behaviour it is written against (FACTS §12, distribution 2.8.2):
 * tags/list ignores `n`/`last` and is unsorted, so a `Link: <…>; rel="next"` header is followed
 * when a registry sends one (the spec, ECR, distribution 3) and a full answer is accepted when it
 * does not; an unknown repository is `404 NAME_UNKNOWN`; an emptied repository lists `"tags": null`;
 * an OCI manifest is only served with a matching `Accept` header.
 */
import { createHash } from "crypto";
import { describeNetworkCode, FetchLike, FetchResponseLike, networkErrorCode, RegistryNetworkFailure, RetryContext, retryingFetch } from "./retryPolicy";

export type { FetchLike, FetchResponseLike } from "./retryPolicy";

/** OCI and Docker manifest/index media types. */
export const MEDIA_TYPES = {
    ociIndex: "application/vnd.oci.image.index.v1+json",
    ociManifest: "application/vnd.oci.image.manifest.v1+json",
    dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
    dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
} as const;

/** `Accept` header for manifest requests: without it a registry hides OCI manifests (404). */
export const MANIFEST_ACCEPT = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifestList, MEDIA_TYPES.dockerManifest].join(", ");

/**
 * A registry answered with an error status, or (status 0) did not answer: `code` is then the socket
 * error (`ECONNRESET`, `ECONNREFUSED`, …). Otherwise `code` is the first distribution error code
 * (`NAME_UNKNOWN`, `TAG_INVALID`, …).
 */
export class RegistryHttpError extends Error {
    constructor(
        message: string,
        public readonly status: number,
        public readonly code?: string,
    ) {
        super(message);
        this.name = "RegistryHttpError";
    }
}

/** How to reach one registry. */
export interface RegistryHttpOptions {
    /** `http://localhost:5000` or `https://<account>.dkr.ecr.<region>.amazonaws.com` (no trailing slash). */
    baseUrl: string;
    /** The fetch implementation (tests pass an in-memory registry). */
    fetch: FetchLike;
    /** Full `Authorization` header value (`Basic <base64 user:password>` or `Bearer <token>`). @default none */
    authorization?: string;
    /** Upper bound on followed tags/list pages (guards against a registry that links in a loop). @default 1000 */
    maxPages?: number;
    /** Retry transient failures by lib/registry/retryPolicy.ts's rules. @default no retries */
    retry?: RetryContext;
}

/** A manifest exactly as the registry stores it. */
export interface ManifestBytes {
    mediaType: string;
    /** `sha256:<hex>` of `bytes`. */
    digest: string;
    bytes: Uint8Array;
}

/** Compressed size of an image in a registry: config + layers, per platform for an index. */
export interface ManifestSize {
    /** Sum over all platforms (attestation manifests excluded). */
    totalBytes: number;
    /** `os/arch[/variant]` → bytes; one `unknown` entry for a single-platform manifest. */
    platforms: Record<string, number>;
}

/** What {@link RegistryHttpClient.retag} did with one tag. */
export interface RetagResult {
    tag: string;
    /** `pushed`: PUT done (or refused as already there, and the tag found on the digest); `unchanged`: the tag already pointed at the digest (nothing sent). */
    outcome: "pushed" | "unchanged";
}

/** `sha256:<hex>` of some bytes. */
export function sha256Digest(bytes: Uint8Array): string {
    return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** `Basic` header value for `user:password` (ECR: user `AWS`, password the authorization token's second half). */
export function basicAuthorization(user: string, password: string): string {
    return `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
}

/** The next-page URL of a `Link: <url>; rel="next"` header, resolved against `base`, or undefined. */
export function nextLink(link: string | null, base: string): string | undefined {
    if (!link) return undefined;
    for (const part of link.split(",")) {
        const m = /<([^>]+)>\s*;\s*rel="?next"?/i.exec(part);
        if (m) return new URL(m[1], base).toString();
    }
    return undefined;
}

async function errorOf(res: FetchResponseLike, what: string): Promise<RegistryHttpError> {
    let code: string | undefined;
    let message = "";
    try {
        const body = JSON.parse(await res.text()) as { errors?: { code?: string; message?: string }[] };
        code = body.errors?.[0]?.code;
        message = body.errors?.map((e) => [e.code, e.message].filter(Boolean).join(": ")).join("; ") ?? "";
    } catch {
        // HEAD answers and proxies may carry no JSON body.
    }
    const tries = res.attempts !== undefined && res.attempts > 1 ? ` (after ${res.attempts} attempts${res.giveUpReason ? `; ${res.giveUpReason}` : ""})` : res.giveUpReason ? ` (${res.giveUpReason})` : "";
    return new RegistryHttpError(`${what}: HTTP ${res.status}${message ? ` ${message}` : ""}${tries}`, res.status, code);
}

/** Registry v2 API client; see the module comment. */
export class RegistryHttpClient {
    private readonly base: string;
    private readonly retrying: FetchLike;

    constructor(private readonly options: RegistryHttpOptions) {
        this.base = options.baseUrl.replace(/\/+$/, "");
        this.retrying = options.retry ? retryingFetch(options.fetch, options.retry) : options.fetch;
    }

    /** One request (with its retries); a network failure becomes a {@link RegistryHttpError} with status 0. */
    private async fetch(url: string, init: { method: string; headers: Record<string, string>; body?: Uint8Array | string }): Promise<FetchResponseLike> {
        try {
            return await this.retrying(url, init);
        } catch (e) {
            if (e instanceof RegistryNetworkFailure) throw new RegistryHttpError(e.message, 0, e.code);
            const code = networkErrorCode(e);
            if (e instanceof TypeError || code !== undefined) throw new RegistryHttpError(`${init.method} ${url}: ${describeNetworkCode(code)} (${code ?? (e as Error).message})`, 0, code);
            throw e;
        }
    }

    private headers(extra: Record<string, string> = {}): Record<string, string> {
        return { ...(this.options.authorization ? { Authorization: this.options.authorization } : {}), ...extra };
    }

    private manifestUrl(repo: string, ref: string): string {
        return `${this.base}/v2/${repo}/manifests/${encodeURIComponent(ref).replace(/%3A/gi, ":")}`;
    }

    /**
     * Every tag of `repo` (unsorted, deduplicated); `[]` for an unknown (`NAME_UNKNOWN`) or emptied
     * repository. Follows `Link` pagination when present; never relies on it.
     */
    async listTags(repo: string): Promise<string[]> {
        const tags = new Set<string>();
        const seen = new Set<string>();
        let url: string | undefined = `${this.base}/v2/${repo}/tags/list`;
        for (let page = 0; url !== undefined && page < (this.options.maxPages ?? 1000); page++) {
            if (seen.has(url)) break;
            seen.add(url);
            const res = await this.fetch(url, { method: "GET", headers: this.headers({ Accept: "application/json" }) });
            if (res.status === 404) {
                const err = await errorOf(res, `GET ${url}`);
                if (err.code === "NAME_UNKNOWN" || err.code === undefined) return [];
                throw err;
            }
            if (!res.ok) throw await errorOf(res, `GET ${url}`);
            const body = JSON.parse(await res.text()) as { tags?: string[] | null };
            for (const t of body.tags ?? []) tags.add(t);
            url = nextLink(res.headers.get("link"), url);
        }
        return [...tags];
    }

    /** Digest of `repo:ref` (HEAD with the manifest `Accept`), or undefined when the tag or repository is absent. */
    async manifestDigest(repo: string, ref: string): Promise<string | undefined> {
        const url = this.manifestUrl(repo, ref);
        const res = await this.fetch(url, { method: "HEAD", headers: this.headers({ Accept: MANIFEST_ACCEPT }) });
        if (res.status === 404) return undefined;
        if (!res.ok) throw await errorOf(res, `HEAD ${url}`);
        const digest = res.headers.get("docker-content-digest");
        if (digest) return digest;
        // Some registries omit the header on HEAD: fall back to hashing the bytes.
        return (await this.getManifest(repo, ref))?.digest;
    }

    /** The manifest's exact bytes and media type, or undefined when absent. */
    async getManifest(repo: string, ref: string): Promise<ManifestBytes | undefined> {
        const url = this.manifestUrl(repo, ref);
        const res = await this.fetch(url, { method: "GET", headers: this.headers({ Accept: MANIFEST_ACCEPT }) });
        if (res.status === 404) return undefined;
        if (!res.ok) throw await errorOf(res, `GET ${url}`);
        const bytes = new Uint8Array(await res.arrayBuffer());
        const digest = sha256Digest(bytes);
        if (ref.startsWith("sha256:") && ref !== digest) {
            throw new RegistryHttpError(`GET ${url}: the registry returned bytes with digest ${digest}, not ${ref}`, res.status);
        }
        const mediaType = (res.headers.get("content-type") ?? "").split(";")[0].trim() || (JSON.parse(Buffer.from(bytes).toString("utf8")) as { mediaType?: string }).mediaType || "";
        return { mediaType, digest, bytes };
    }

    /**
     * PUTs exact manifest bytes under `tag`; returns the digest the registry stored. ECR refuses any
     * PUT of an existing immutable tag, even of the digest the tag already holds (4xx `TAG_INVALID`
     * "… already exists …", aws/containers-roadmap#2179), so a PUT that landed but whose answer was
     * lost fails on its retry: a refusal of that kind is checked with a HEAD of the tag, and a tag
     * that already points at `manifest.digest` counts as done.
     */
    async putManifest(repo: string, tag: string, manifest: ManifestBytes): Promise<string> {
        const url = this.manifestUrl(repo, tag);
        const res = await this.fetch(url, { method: "PUT", headers: this.headers({ "Content-Type": manifest.mediaType }), body: manifest.bytes });
        if (!res.ok) {
            const err = await errorOf(res, `PUT ${url}`);
            if (res.status >= 400 && res.status < 500 && (err.code === "TAG_INVALID" || /already exists|ImageTagAlreadyExists/i.test(err.message))) {
                if ((await this.manifestDigest(repo, tag)) === manifest.digest) return manifest.digest;
            }
            throw err;
        }
        const stored = res.headers.get("docker-content-digest") ?? manifest.digest;
        if (stored !== manifest.digest) throw new RegistryHttpError(`PUT ${url}: the registry stored digest ${stored}, not ${manifest.digest}`, res.status);
        return stored;
    }

    /**
     * Puts `tags` on the manifest `repo@digest` keeping its digest: GET the bytes by digest with
     * their media type, PUT the same bytes under each tag. A tag that already points at the digest
     * is left alone (so a re-run never touches an immutable tag); a tag on another digest is moved,
     * which an immutable ECR repository refuses (`TAG_INVALID`, surfaced verbatim).
     */
    async retag(repo: string, digest: string, tags: string[]): Promise<RetagResult[]> {
        const manifest = await this.getManifest(repo, digest);
        if (!manifest) throw new RegistryHttpError(`retag ${repo}@${digest}: no such manifest in the registry`, 404, "MANIFEST_UNKNOWN");
        const results: RetagResult[] = [];
        for (const tag of tags) {
            if ((await this.manifestDigest(repo, tag)) === digest) {
                results.push({ tag, outcome: "unchanged" });
                continue;
            }
            await this.putManifest(repo, tag, manifest);
            results.push({ tag, outcome: "pushed" });
        }
        return results;
    }

    /** A blob's bytes (GET /v2/<repo>/blobs/<digest>), or undefined when absent. */
    async getBlob(repo: string, digest: string): Promise<Uint8Array | undefined> {
        const url = `${this.base}/v2/${repo}/blobs/${digest}`;
        const res = await this.fetch(url, { method: "GET", headers: this.headers() });
        if (res.status === 404) return undefined;
        if (!res.ok) throw await errorOf(res, `GET ${url}`);
        return new Uint8Array(await res.arrayBuffer());
    }

    /**
     * When the image `repo:ref` was built: the `created` time of its config (for an index, of its
     * first platform that is not an attestation). Undefined when absent or not recorded.
     */
    async imageCreated(repo: string, ref: string): Promise<string | undefined> {
        const manifest = await this.getManifest(repo, ref);
        if (!manifest) return undefined;
        const json = JSON.parse(Buffer.from(manifest.bytes).toString("utf8")) as ManifestJson & { config?: { digest?: string } };
        if (json.manifests) {
            const first = json.manifests.find((m) => m.annotations?.["vnd.docker.reference.type"] === undefined);
            return first ? this.imageCreated(repo, first.digest) : undefined;
        }
        if (!json.config?.digest) return undefined;
        const blob = await this.getBlob(repo, json.config.digest);
        if (!blob) return undefined;
        const created = (JSON.parse(Buffer.from(blob).toString("utf8")) as { created?: unknown }).created;
        return typeof created === "string" ? created : undefined;
    }

    /** Compressed size of `repo:ref` (config + layers; each platform of an index), or undefined when absent. */
    async manifestSize(repo: string, ref: string): Promise<ManifestSize | undefined> {
        const manifest = await this.getManifest(repo, ref);
        if (!manifest) return undefined;
        const json = JSON.parse(Buffer.from(manifest.bytes).toString("utf8")) as ManifestJson;
        if (manifest.mediaType === MEDIA_TYPES.ociIndex || manifest.mediaType === MEDIA_TYPES.dockerManifestList || json.manifests) {
            const platforms: Record<string, number> = {};
            for (const child of json.manifests ?? []) {
                // BuildKit attestation manifests are `unknown/unknown` with a reference-type annotation.
                if (child.annotations?.["vnd.docker.reference.type"] !== undefined) continue;
                const p = child.platform;
                const key = p ? [p.os, p.architecture, p.variant].filter(Boolean).join("/") : child.digest;
                const size = await this.manifestSize(repo, child.digest);
                if (size) platforms[key] = size.totalBytes;
            }
            return { totalBytes: Object.values(platforms).reduce((a, b) => a + b, 0), platforms };
        }
        const bytes = (json.config?.size ?? 0) + (json.layers ?? []).reduce((sum, l) => sum + (l.size ?? 0), 0);
        return { totalBytes: bytes, platforms: { unknown: bytes } };
    }
}

interface ManifestJson {
    mediaType?: string;
    config?: { size?: number };
    layers?: { size?: number }[];
    manifests?: { digest: string; platform?: { os?: string; architecture?: string; variant?: string }; annotations?: Record<string, string> }[];
}
