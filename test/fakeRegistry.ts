/**
 * An in-memory registry behind a `fetch` function, behaving like the local Debian
 * `docker-registry` 2.8.2 as measured in FACTS §12 (tags/list ignores `n`/`last` and is unsorted,
 * `NAME_UNKNOWN`, `MANIFEST_UNKNOWN`, `"tags": null` for an emptied repository, OCI manifests
 * hidden without a matching `Accept`) and, with `immutable`, like ECR refusing any PUT of an
 * existing immutable tag, even one to the digest it holds (FACTS §10 text), except tags matching the exclusion filters. No port is opened.
 */
import { createHash } from "crypto";
import { FetchLike, FetchResponseLike, MEDIA_TYPES } from "../lib/registry/registryHttp";
import { tagPatternMatches } from "../lib/images/tags";

interface StoredManifest {
    mediaType: string;
    bytes: Uint8Array;
}

interface FakeRepository {
    manifests: Map<string, StoredManifest>;
    tags: Map<string, string>;
    blobs: Map<string, Uint8Array>;
}

export interface FakeRegistryOptions {
    /** ECR immutable tags: any PUT of an existing tag (same digest or not) fails with the ECR text. @default false */
    immutable?: boolean;
    /** Wildcard filters of tags that stay mutable (IMMUTABLE_WITH_EXCLUSION). @default [] */
    exclusionFilters?: string[];
    /** Page size with `Link` headers (a spec-following registry); undefined = 2.8 behaviour (no pagination). */
    pageSize?: number;
    /** Refuse tags/list as ECR does for a role without ecr:ListImages (a pull-only runner role). @default false */
    denyTagsList?: boolean;
    /** The only `Authorization` header accepted; any other request gets 401 UNAUTHORIZED. @default no auth */
    authorization?: string;
}

function response(status: number, body: string | Uint8Array = "", headers: Record<string, string> = {}): FetchResponseLike {
    const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
    const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
    return {
        status,
        ok: status >= 200 && status < 300,
        headers: { get: (name: string) => lower[name.toLowerCase()] ?? null },
        text: async () => new TextDecoder().decode(bytes),
        arrayBuffer: async () => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
    };
}

function errors(status: number, code: string, message: string, detail?: unknown): FetchResponseLike {
    return response(status, JSON.stringify({ errors: [{ code, message, ...(detail ? { detail } : {}) }] }), { "Content-Type": "application/json; charset=utf-8" });
}

export function digestOf(bytes: Uint8Array): string {
    return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** A single-platform OCI image manifest whose config blob (stored in `reg`) says it was `created` then. */
export function ociImage(reg: FakeRegistry, repo: string, seed: string, created: string): StoredManifest {
    const config = new TextEncoder().encode(JSON.stringify({ architecture: "amd64", os: "linux", created, config: { Labels: { seed } } }));
    const configDigest = reg.pushBlob(repo, config);
    const body = {
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.ociManifest,
        config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: configDigest, size: config.byteLength },
        layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: `sha256:${createHash("sha256").update(`layer-${seed}`).digest("hex")}`, size: 1000 }],
    };
    return { mediaType: MEDIA_TYPES.ociManifest, bytes: new TextEncoder().encode(JSON.stringify(body)) };
}

/** A single-platform OCI image manifest with the given config/layer sizes (bytes differ per `seed`). */
export function ociManifest(seed: string, layerSizes: number[] = [1000], configSize = 100): StoredManifest {
    const body = {
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.ociManifest,
        config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: `sha256:${createHash("sha256").update(`config-${seed}`).digest("hex")}`, size: configSize },
        layers: layerSizes.map((size, i) => ({
            mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
            digest: `sha256:${createHash("sha256").update(`layer-${seed}-${i}`).digest("hex")}`,
            size,
        })),
    };
    return { mediaType: MEDIA_TYPES.ociManifest, bytes: new TextEncoder().encode(JSON.stringify(body, null, 3)) };
}

export class FakeRegistry {
    readonly repositories = new Map<string, FakeRepository>();
    /** Every request as `METHOD path`. */
    readonly requests: string[] = [];

    constructor(private readonly options: FakeRegistryOptions = {}) {}

    /** Stores a manifest under `repo` with `tags`; returns its digest. */
    push(repo: string, manifest: StoredManifest, tags: string[]): string {
        const r = this.repo(repo, true)!;
        const digest = digestOf(manifest.bytes);
        r.manifests.set(digest, manifest);
        for (const t of tags) r.tags.set(t, digest);
        return digest;
    }

    /** Deletes a manifest by digest with all its tags (distribution semantics). */
    deleteDigest(repo: string, digest: string): void {
        const r = this.repo(repo, false);
        if (!r) return;
        r.manifests.delete(digest);
        for (const [t, d] of [...r.tags]) if (d === digest) r.tags.delete(t);
    }

    /** Stores a blob (e.g. an image config) under `repo`; returns its digest. */
    pushBlob(repo: string, bytes: Uint8Array): string {
        const digest = digestOf(bytes);
        this.repo(repo, true)!.blobs.set(digest, bytes);
        return digest;
    }

    tagDigest(repo: string, tag: string): string | undefined {
        return this.repo(repo, false)?.tags.get(tag);
    }

    private repo(name: string, create: boolean): FakeRepository | undefined {
        let r = this.repositories.get(name);
        if (!r && create) {
            r = { manifests: new Map(), tags: new Map(), blobs: new Map() };
            this.repositories.set(name, r);
        }
        return r;
    }

    private isImmutable(tag: string): boolean {
        return (this.options.immutable ?? false) && !(this.options.exclusionFilters ?? []).some((f) => tagPatternMatches(f, tag));
    }

    readonly fetch: FetchLike = async (url, init) => {
        const u = new URL(url);
        const method = init?.method ?? "GET";
        this.requests.push(`${method} ${u.pathname}${u.search}`);
        const headers = Object.fromEntries(Object.entries(init?.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
        if (this.options.authorization !== undefined && headers["authorization"] !== this.options.authorization) {
            return errors(401, "UNAUTHORIZED", "authentication required", [{ Type: "repository", Name: u.pathname.split("/").slice(2, -2).join("/"), Action: "pull" }]);
        }
        const tagsList = /^\/v2\/(.+)\/tags\/list$/.exec(u.pathname);
        if (tagsList && method === "GET" && this.options.denyTagsList) {
            return errors(403, "DENIED", `User: arn:aws:sts::123456789012:assumed-role/runner/i-0abc is not authorized to perform: ecr:ListImages on resource: ${tagsList[1]}`);
        }
        const blob = /^\/v2\/(.+)\/blobs\/(sha256:[0-9a-f]{64})$/.exec(u.pathname);
        if (blob && (method === "GET" || method === "HEAD")) {
            const bytes = this.repo(blob[1], false)?.blobs.get(blob[2]);
            if (!bytes) return errors(404, "BLOB_UNKNOWN", "blob unknown to registry", blob[2]);
            return response(200, method === "HEAD" ? "" : bytes, { "Docker-Content-Digest": blob[2], "Content-Length": String(bytes.byteLength) });
        }
        if (tagsList && method === "GET") {
            const name = tagsList[1];
            const r = this.repo(name, false);
            if (!r || /[A-Z]/.test(name)) return errors(404, "NAME_UNKNOWN", "repository name not known to registry", { name });
            // Storage directory order: not sorted. Reverse insertion order makes "sorted" assumptions fail.
            const all = [...r.tags.keys()].reverse();
            if (all.length === 0) return response(200, JSON.stringify({ name, tags: null }));
            const pageSize = this.options.pageSize;
            if (pageSize === undefined) return response(200, JSON.stringify({ name, tags: all }), { "Content-Type": "application/json; charset=utf-8" });
            const start = u.searchParams.get("last") ? all.indexOf(u.searchParams.get("last")!) + 1 : 0;
            const page = all.slice(start, start + pageSize);
            const more = start + pageSize < all.length;
            return response(200, JSON.stringify({ name, tags: page }), more ? { Link: `</v2/${name}/tags/list?last=${encodeURIComponent(page[page.length - 1])}&n=${pageSize}>; rel="next"` } : {});
        }
        const manifest = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(u.pathname);
        if (manifest) {
            const [, name, rawRef] = manifest;
            const ref = decodeURIComponent(rawRef);
            const r = this.repo(name, method === "PUT");
            if (method === "PUT") {
                const bytes = init?.body instanceof Uint8Array ? init.body : new TextEncoder().encode(String(init?.body ?? ""));
                const digest = digestOf(bytes);
                if (ref.startsWith("sha256:") && ref !== digest) return errors(400, "DIGEST_INVALID", "provided digest did not match uploaded content");
                const current = r!.tags.get(ref);
                // ECR refuses any PUT of an existing immutable tag, even of the digest it already holds
                // (aws/containers-roadmap#2179; moby/buildkit#3776 shows the registry API's text).
                if (!ref.startsWith("sha256:") && current !== undefined && this.isImmutable(ref)) {
                    return errors(
                        400,
                        "TAG_INVALID",
                        `The image tag '${ref}' already exists in the '${name}' repository and cannot be overwritten because the repository is immutable.`,
                    );
                }
                r!.manifests.set(digest, { mediaType: headers["content-type"] ?? "", bytes });
                if (!ref.startsWith("sha256:")) r!.tags.set(ref, digest);
                return response(201, "", { "Docker-Content-Digest": digest, Location: `/v2/${name}/manifests/${digest}` });
            }
            const digest = ref.startsWith("sha256:") ? ref : r?.tags.get(ref);
            const stored = digest !== undefined ? r?.manifests.get(digest) : undefined;
            if (!stored || digest === undefined) return method === "HEAD" ? response(404) : errors(404, "MANIFEST_UNKNOWN", "manifest unknown", { Tag: ref });
            const accept = headers["accept"] ?? "";
            const isOci = stored.mediaType === MEDIA_TYPES.ociManifest || stored.mediaType === MEDIA_TYPES.ociIndex;
            if (isOci && !accept.includes(stored.mediaType)) {
                return method === "HEAD" ? response(404) : errors(404, "MANIFEST_UNKNOWN", "OCI manifest found, but accept header does not support OCI manifests");
            }
            const h = { "Content-Type": stored.mediaType, "Docker-Content-Digest": digest, "Content-Length": String(stored.bytes.byteLength), Etag: `"${digest}"` };
            return method === "HEAD" ? response(200, "", h) : response(200, stored.bytes, h);
        }
        return errors(404, "NOT_FOUND", `no route for ${method} ${u.pathname}`);
    };
}
