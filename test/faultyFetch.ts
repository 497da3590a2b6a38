/**
 * Faults in front of an in-memory registry (test/fakeRegistry.ts), for unit tests of the retry
 * rules: each rule matches requests by method and path and answers its next `times` matches with
 * a fault instead of the registry's answer. The faults are the shapes the integration proxy
 * (test/integration/faultProxy.ts) produces on the wire: an error status (with `Retry-After`, with
 * an ECR `ThrottlingException` body) or a connection reset, as Node's fetch reports it
 * (`TypeError: fetch failed`, cause `ECONNRESET`).
 */
import type { FetchLike, FetchResponseLike } from "../lib/registry/registryHttp";

/** One injected fault. */
export type Fault =
    | { status: number; headers?: Record<string, string>; body?: string }
    | { network: "ECONNRESET" | "ECONNREFUSED" | "ENOTFOUND" | "UND_ERR_SOCKET" }
    /** Apply, then reset: the registry gets and applies the request, the client sees the connection reset before the answer. */
    | { appliedThenReset: "ECONNRESET" | "UND_ERR_SOCKET" };

/** A rule: which requests, how many times, which fault. */
export interface FaultRule {
    method?: string;
    /** Matched against the URL's path. */
    path?: RegExp;
    /** How many matching requests get the fault. @default Infinity */
    times?: number;
    fault: Fault;
}

/** An ECR API throttling body (what the ECR API answers with HTTP 400 when a caller is throttled). */
export const ECR_THROTTLING_BODY = JSON.stringify({ __type: "ThrottlingException", message: "Rate exceeded" });

/** A fetch failure exactly as undici's fetch reports a socket error. */
export function networkError(code: string): TypeError {
    const cause = Object.assign(new Error(code === "UND_ERR_SOCKET" ? "other side closed" : `connect ${code} 127.0.0.1:5000`), { code });
    return Object.assign(new TypeError("fetch failed"), { cause });
}

function faultResponse(f: { status: number; headers?: Record<string, string>; body?: string }): FetchResponseLike {
    const headers = Object.fromEntries(Object.entries(f.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    const bytes = new TextEncoder().encode(f.body ?? "");
    return {
        status: f.status,
        ok: f.status >= 200 && f.status < 300,
        headers: { get: (n) => headers[n.toLowerCase()] ?? null },
        text: async () => f.body ?? "",
        arrayBuffer: async () => bytes.buffer as ArrayBuffer,
    };
}

/** `fetch` with `rules` applied in order before `inner`; `log` lists each fault as `METHOD path → fault`. */
export function faultyFetch(inner: FetchLike, rules: FaultRule[]): FetchLike & { log: string[] } {
    const left = rules.map((r) => r.times ?? Infinity);
    const log: string[] = [];
    const fetch = (async (url, init) => {
        const method = init?.method ?? "GET";
        const path = new URL(url).pathname;
        for (let i = 0; i < rules.length; i++) {
            const r = rules[i];
            if (left[i] <= 0 || (r.method && r.method !== method) || (r.path && !r.path.test(path))) continue;
            left[i]--;
            if ("appliedThenReset" in r.fault) {
                const res = await inner(url, init);
                log.push(`${method} ${path} → ${res.status} applied, then ${r.fault.appliedThenReset}`);
                throw networkError(r.fault.appliedThenReset);
            }
            if ("network" in r.fault) {
                log.push(`${method} ${path} → ${r.fault.network}`);
                throw networkError(r.fault.network);
            }
            log.push(`${method} ${path} → ${r.fault.status}`);
            return faultResponse(r.fault);
        }
        return inner(url, init);
    }) as FetchLike & { log: string[] };
    fetch.log = log;
    return fetch;
}

/** A fake clock for retries: `sleep` advances it and records the waits. */
export function fakeClock(start = Date.parse("2026-12-07T12:00:00Z")): { now: () => number; sleep: (ms: number) => Promise<void>; slept: number[] } {
    let t = start;
    const slept: number[] = [];
    return {
        now: () => t,
        sleep: async (ms) => {
            slept.push(ms);
            t += ms;
        },
        slept,
    };
}
