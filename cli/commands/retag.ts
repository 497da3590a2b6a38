/**
 * `ci-images retag <repository-url>@<digest> <tag>...`: puts tags on a manifest without changing its
 * digest (GET the exact bytes by digest, PUT them under each tag: lib/registry/registryHttp.ts).
 * The promotion Command of components/images/imageBuild.ts runs it after the smoke test, for the
 * marker, `-latest` and the dated tag. Auth: env `MLCI_REGISTRY_AUTH` = `user:password` (ECR: `AWS:<token>`),
 * empty or unset for a registry that needs none. Exit 0: every tag points at the digest; 1: the
 * registry refused (its error, e.g. ECR's immutable-tag text, on stderr) or did not answer after
 * its retries (lib/registry/retryPolicy.ts: 429/5xx/resets, one `retrying …` line each); 2: usage.
 * A tag already on the digest is not PUT again, so a rerun after a partial failure finishes the rest.
 */
import { CommandContext, UsageError } from "../context";
import { registryBaseUrl, registryRetry } from "../registryAccess";
import type { RetryContext } from "../../lib/registry/retryPolicy";

export { registryBaseUrl };
import { basicAuthorization, FetchLike, RegistryHttpClient, RegistryHttpError } from "../../lib/registry/registryHttp";

/** A parsed `<host>/<repository>@sha256:<hex>` reference. */
export interface DigestRef {
    host: string;
    repository: string;
    digest: string;
}

/** Parses `<host>/<repository>@sha256:<64 hex>`; throws a usage message otherwise. */
export function parseDigestRef(ref: string): DigestRef {
    const m = /^([^/@]+)\/([^@]+?)(?::[^/@:]+)?@(sha256:[0-9a-f]{64})$/.exec(ref);
    if (!m) throw new RetagUsageError(`"${ref}" is not <registry-host>/<repository>@sha256:<digest>`);
    return { host: m[1], repository: m[2], digest: m[3] };
}


/** A wrong call of `retag` (exit 2). */
export class RetagUsageError extends UsageError {}

/** What `retag` needs from its surroundings (tests inject an in-memory registry). */
export interface RetagContext {
    fetch: FetchLike;
    /** `MLCI_REGISTRY_AUTH`: `user:password`, or empty. */
    auth?: string;
    out: NodeJS.WritableStream;
    err: NodeJS.WritableStream;
    /** Print the result as JSON. @default false */
    json?: boolean;
    /** Retries of transient registry failures (lib/registry/retryPolicy.ts). @default none */
    retry?: RetryContext;
}

/** Runs `retag` with positional args `[<ref>, ...tags]`; returns the exit code. */
export async function runRetag(positional: string[], ctx: RetagContext): Promise<number> {
    const [ref, ...tags] = positional;
    if (!ref || tags.length === 0) throw new RetagUsageError("retag needs <repository-url>@<digest> and at least one tag");
    const target = parseDigestRef(ref);
    for (const tag of tags) {
        if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag)) throw new RetagUsageError(`"${tag}" is not a valid tag`);
    }
    const auth = ctx.auth ?? "";
    const colon = auth.indexOf(":");
    if (auth !== "" && colon < 0) throw new RetagUsageError("MLCI_REGISTRY_AUTH must be user:password (or empty)");
    const client = new RegistryHttpClient({
        baseUrl: registryBaseUrl(target.host),
        fetch: ctx.fetch,
        authorization: auth === "" ? undefined : basicAuthorization(auth.slice(0, colon), auth.slice(colon + 1)),
        retry: ctx.retry,
    });
    try {
        const results = await client.retag(target.repository, target.digest, tags);
        if (ctx.json) ctx.out.write(`${JSON.stringify({ repository: `${target.host}/${target.repository}`, digest: target.digest, tags: results }, null, 2)}\n`);
        else for (const r of results) ctx.out.write(`${r.outcome === "pushed" ? "tagged" : "unchanged"} ${target.host}/${target.repository}:${r.tag} -> ${target.digest}\n`);
        return 0;
    } catch (e) {
        if (e instanceof RegistryHttpError) {
            ctx.err.write(`ci-images: retag ${target.host}/${target.repository}@${target.digest}: ${e.message}\n`);
            return 1;
        }
        throw e;
    }
}

export async function run(ctx: CommandContext): Promise<number> {
    return runRetag(ctx.positional, { fetch: ctx.services.fetch, auth: ctx.env.MLCI_REGISTRY_AUTH, out: ctx.out, err: ctx.err, json: ctx.json, retry: registryRetry(ctx) });
}
