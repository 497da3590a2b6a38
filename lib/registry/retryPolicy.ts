/**
 * Retries of registry HTTP API calls, by the rules registries publish and the AWS SDK follows:
 * - which failures: 429, 500, 502, 503, 504 (the SDK's TRANSIENT_ERROR_STATUS_CODES plus
 *   throttling), an ECR-style `ThrottlingException` / `TOOMANYREQUESTS` body on any 4xx, and a
 *   connection that reset, was refused, or timed out before an answer (the SDK's
 *   NODEJS_TIMEOUT_ERROR_CODES). Never a name that does not resolve (ENOTFOUND: a wrong host).
 * - which requests: idempotent ones only (GET, HEAD, PUT, DELETE; RFC 9110 §9.2.2). A manifest PUT
 *   of the same bytes under the same tag is idempotent on a mutable tag; ECR refuses its repetition on an
 *   immutable one (registryHttp.ts's putManifest then reads the tag); a POST (a new blob upload session) is not
 *   retried here (docker resumes its own uploads).
 * - how long: full jitter, `random() * min(maxDelay, base * 2^retry)` (the SDK's standard mode,
 *   @smithy/core 3.41 util-retry DefaultRetryBackoffStrategy with MAXIMUM_RETRY_DELAY 20 s; its
 *   bases are 50 ms, 1 s when throttled (retries-2026-config.js); ours is 500 ms for both);
 *   a `Retry-After` answer (seconds or an HTTP-date, RFC 9110 §10.2.3) is a hint bounded as the
 *   SDK bounds it (StandardRetryStrategy.refreshRetryTokenForRetry):
 *   `max(backoff, min(retryAfter, backoff + 5 s, maxDelay))`, so `Retry-After: 0` still backs off
 *   and a huge one never stalls a run;
 *   never past the command's deadline: a wait that would end after it is not started, and each
 *   attempt is aborted (AbortSignal.timeout) after min(perAttemptMs, what is left of the deadline),
 *   so a request that never answers is retried as `timed out` and cannot outlive the deadline.
 * - what the user sees: one line per retry, `retrying <what> in <N>s (<why>)`.
 * Pure: the clock, the sleep and the random source are injected (unit tests run in no time).
 */

/** The part of the WHATWG `fetch` the registry client uses (Node's global `fetch` fits). */
export type FetchLike = (
    url: string,
    init?: { method?: string; headers?: Record<string, string>; body?: Uint8Array | string; signal?: AbortSignal },
) => Promise<FetchResponseLike>;

/** The part of a WHATWG `Response` this client uses. */
export interface FetchResponseLike {
    status: number;
    ok: boolean;
    headers: { get(name: string): string | null };
    text(): Promise<string>;
    arrayBuffer(): Promise<ArrayBuffer>;
    /** The body stream (WHATWG `Response.body`): the retry layer cancels the body of an answer it retries, so its socket is freed. */
    body?: { cancel(reason?: unknown): Promise<void> } | null;
    /** Set by the retry layer (this module) on an error answer it gave up retrying. */
    attempts?: number;
    /** Why the retry layer stopped early (`out of time`, …), when it did. */
    giveUpReason?: string;
}

/** How hard to try. */
export interface RetrySettings {
    /** Attempts in all, the first included. @default 8 */
    maxAttempts: number;
    /** Backoff base (ms): retry n waits up to base·2ⁿ. @default 500 (the SDK's throttling base) */
    baseDelayMs: number;
    /** Cap of one backoff (ms). @default 20000 (the SDK's MAXIMUM_RETRY_DELAY) */
    maxDelayMs: number;
    /** Time budget of one call and its retries when the command has no timeout of its own (ms). @default 120000 */
    budgetMs: number;
    /** Retry a refused connection (ECONNREFUSED); false where a refusal has one meaning already (nothing listens yet). @default true */
    retryRefused: boolean;
    /** Longest one attempt may take, answer and (for a GET) body included, before it is aborted and retried (ms). @default 30000 */
    perAttemptMs: number;
}

/** The registry client's defaults (see the module comment). */
export const REGISTRY_RETRY: Readonly<RetrySettings> = { maxAttempts: 8, baseDelayMs: 500, maxDelayMs: 20_000, budgetMs: 120_000, retryRefused: true, perAttemptMs: 30_000 };

/** How far past the backoff a `Retry-After` may push one wait (the SDK's 5 s). */
export const RETRY_AFTER_EXTRA_MS = 5_000;

/** The wait before a retry: the backoff, or a `Retry-After` hint bounded as the SDK bounds it (see the module comment). */
export function retryDelayMs(backoffMs: number, retryAfter: number | undefined, maxDelayMs: number): number {
    if (retryAfter === undefined) return backoffMs;
    return Math.max(backoffMs, Math.min(retryAfter, backoffMs + RETRY_AFTER_EXTRA_MS, maxDelayMs));
}

/** HTTP statuses worth another try. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 500, 502, 503, 504]);

/** Methods whose repetition has the effect of one request (RFC 9110 §9.2.2). */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD", "PUT", "DELETE", "OPTIONS"]);

/** Socket failures worth another try (the SDK's NODEJS_TIMEOUT_ERROR_CODES, undici's socket errors, EAI_AGAIN). */
export const RETRYABLE_NETWORK_CODES: ReadonlySet<string> = new Set(["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT", "EAI_AGAIN", "UND_ERR_SOCKET", "UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT"]);

/** A throttling answer's body: ECR API's `ThrottlingException`, the distribution spec's `TOOMANYREQUESTS`. */
const THROTTLING_BODY = /ThrottlingException|TOOMANYREQUESTS|Rate exceeded|SlowDown/;

/** The delay before retry `retry` (0-based): full jitter under the capped exponential. */
export function backoffDelayMs(retry: number, settings: Pick<RetrySettings, "baseDelayMs" | "maxDelayMs">, random: () => number): number {
    const ceiling = Math.min(settings.maxDelayMs, settings.baseDelayMs * 2 ** retry);
    return Math.floor(Math.min(Math.max(random(), 0), 1) * ceiling);
}

/** A `Retry-After` value in ms from `now` (delay-seconds or an HTTP-date; a past date is 0), or undefined when absent or malformed. */
export function retryAfterMs(value: string | null | undefined, now: number): number | undefined {
    const v = value?.trim();
    if (!v) return undefined;
    if (/^\d+$/.test(v)) return Number(v) * 1000;
    if (!/[A-Za-z]/.test(v)) return undefined;
    const at = Date.parse(v);
    return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The code of a network failure (`ECONNRESET`, `UND_ERR_SOCKET`, …) from fetch's `TypeError: fetch failed` and its cause chain. */
export function networkErrorCode(e: unknown): string | undefined {
    for (let cur = e as { code?: unknown; cause?: unknown; name?: unknown } | undefined, depth = 0; cur && depth < 5; cur = cur.cause as typeof cur, depth++) {
        if (typeof cur.code === "string") return cur.code;
        // An attempt aborted by its AbortSignal.timeout (DOMException TimeoutError, or AbortError from a body read).
        if (cur.name === "TimeoutError" || cur.name === "AbortError") return "ETIMEDOUT";
    }
    return undefined;
}

/** Words for a network failure code. */
export function describeNetworkCode(code: string | undefined): string {
    switch (code) {
        case "ECONNRESET":
        case "UND_ERR_SOCKET":
        case "EPIPE":
            return "connection reset";
        case "ECONNREFUSED":
            return "connection refused";
        case "ETIMEDOUT":
        case "UND_ERR_CONNECT_TIMEOUT":
        case "UND_ERR_HEADERS_TIMEOUT":
        case "UND_ERR_BODY_TIMEOUT":
            return "timed out";
        case "ENOTFOUND":
        case "EAI_AGAIN":
            return "host not found";
        default:
            return "network error";
    }
}

/** Why an answer is retried (`503`, `429`, `throttled`), or undefined when it is final. */
export async function retryReason(res: FetchResponseLike): Promise<{ reason: string; body?: string } | undefined> {
    if (RETRYABLE_STATUSES.has(res.status)) return { reason: String(res.status) };
    if (res.status >= 400 && res.status < 500) {
        const body = await res.text().catch(() => "");
        if (THROTTLING_BODY.test(body)) return { reason: `${res.status} throttled`, body };
        return { reason: "", body };
    }
    return undefined;
}

/** A response whose body was read already, answering it again. */
function replay(res: FetchResponseLike, body: string | Uint8Array): FetchResponseLike {
    const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
    return {
        status: res.status,
        ok: res.ok,
        headers: res.headers,
        text: async () => new TextDecoder().decode(bytes),
        arrayBuffer: async () => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
    };
}

/** The surroundings of a retrying call: clock, sleep, randomness, deadline and where to say so. */
export interface RetryContext {
    settings?: Partial<RetrySettings>;
    /** ms since the epoch. */
    now: () => number;
    sleep: (ms: number) => Promise<void>;
    /** Uniform in [0, 1). */
    random: () => number;
    /** No retry wait ends after this (ms since the epoch): the command's own timeout. @default now + budgetMs per call */
    deadline?: () => number | undefined;
    /** Called once per retry with the line to print, e.g. `retrying GET localhost:5000/v2/x/tags/list in 1.2s (503)`. */
    onRetry?: (line: string) => void;
}

/** A network failure that outlasted its retries (or was not retryable); `status` 0, `code` the socket error. */
export class RegistryNetworkFailure extends Error {
    constructor(
        message: string,
        public readonly code: string | undefined,
        public readonly attempts: number,
    ) {
        super(message);
        this.name = "RegistryNetworkFailure";
    }
}

function seconds(ms: number): string {
    return ms < 10_000 ? `${(Math.round(ms / 100) / 10).toFixed(1)}s` : `${Math.round(ms / 1000)}s`;
}

/** `GET host/path` without the scheme or query (never a credential: those travel in headers). */
function what(method: string, url: string): string {
    try {
        const u = new URL(url);
        return `${method} ${u.host}${u.pathname}`;
    } catch {
        return `${method} ${url}`;
    }
}

/**
 * `fetch` with the retry rules of the module comment. A retryable answer that outlasts the
 * retries is returned as it is (the caller reports its status); a network failure that does is
 * thrown as {@link RegistryNetworkFailure} with one readable message.
 */
export function retryingFetch(fetch: FetchLike, ctx: RetryContext): FetchLike {
    const s: RetrySettings = { ...REGISTRY_RETRY, ...ctx.settings };
    return async (url, init) => {
        const method = (init?.method ?? "GET").toUpperCase();
        const idempotent = IDEMPOTENT_METHODS.has(method);
        const started = ctx.now();
        const deadline = ctx.deadline?.() ?? started + s.budgetMs;
        for (let attempt = 1; ; attempt++) {
            let reason: string;
            let waitMs: number | undefined;
            let last: FetchResponseLike | undefined;
            let failure: unknown;
            const left = deadline - ctx.now();
            const signal = AbortSignal.timeout(Math.max(1, Math.min(s.perAttemptMs, left)));
            try {
                const res = await fetch(url, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal });
                const r = await retryReason(res);
                // A GET's body is read here, so a reset in the middle of it is retried like one before it.
                if (r === undefined && method === "GET" && res.ok) return replay(res, new Uint8Array(await res.arrayBuffer()));
                if (r === undefined || r.reason === "") return r?.body !== undefined ? replay(res, r.body) : res;
                last = r.body !== undefined ? replay(res, r.body) : res;
                reason = r.reason;
                waitMs = retryAfterMs(res.headers.get("retry-after"), ctx.now());
            } catch (e) {
                const code = networkErrorCode(e);
                const words = describeNetworkCode(code);
                failure = new RegistryNetworkFailure(`${what(method, url)}: ${words} (${code ?? (e as Error).message})${attempt > 1 ? ` after ${attempt} attempts in ${seconds(ctx.now() - started)}` : ""}`, code, attempt);
                if (init?.signal?.aborted) throw e; // the caller's own abort: not ours to retry
                if (!(e instanceof TypeError) && code === undefined) throw e; // not a network failure: a bug, let it surface
                if (code === undefined || !RETRYABLE_NETWORK_CODES.has(code) || (code === "ECONNREFUSED" && !s.retryRefused)) throw failure;
                reason = words;
            }
            const giveUp = (why: string): FetchResponseLike => {
                if (last) return Object.assign(last, { attempts: attempt, giveUpReason: why.replace(/^; /, "") });
                const f = failure as RegistryNetworkFailure;
                throw new RegistryNetworkFailure(`${f.message}${why}`, f.code, attempt);
            };
            if (!idempotent) return giveUp("; not retried: the request is not idempotent");
            if (attempt >= s.maxAttempts) return giveUp("");
            const delay = retryDelayMs(backoffDelayMs(attempt - 1, s, ctx.random), waitMs, s.maxDelayMs);
            if (ctx.now() + delay > deadline) return giveUp(waitMs !== undefined ? `; the registry asked to wait ${seconds(waitMs)}, past the command's timeout` : "; out of time");
            // The answer is dropped: free its connection instead of leaving the body to the garbage collector.
            if (last?.body) await last.body.cancel().catch(() => undefined);
            ctx.onRetry?.(`retrying ${what(method, url)} in ${seconds(delay)} (${reason}${waitMs !== undefined ? ", Retry-After" : ""})`);
            await ctx.sleep(delay);
        }
    };
}
