/**
 * A fault-injecting HTTP proxy in front of the real test registry (node:http only): docker and the
 * CLI's registry client talk to `127.0.0.1:<port>` of the proxy (dockerd allows plain HTTP to
 * loopback registries by default), which forwards each request unchanged, except those a rule
 * matches. Faults, each the wire shape a registry or ECR produces:
 * - `status`: an error answer (500/502/503, 429 with or without `Retry-After`, ECR's
 *   `ThrottlingException` JSON body), sent without forwarding;
 * - `reset`: the connection destroyed before forwarding, or `midBody` after part of the request body
 *   went upstream (a blob upload or manifest PUT cut in the middle), or `afterUpstream` once the
 *   registry answered (the request took effect, the client never hears it);
 * - `slowFirstByte`: the registry's answer held back for `ms`;
 * - `restart`: the proxy "restarts": every open connection reset and its port refused for `ms`;
 * - `upstreamRestart`: the real registry behind it restarts (a private instance the test owns).
 * Rules match by method and path; `after` skips that many matches first, `times` limits the faults.
 * The proxy counts what it did, for the suite's summary (docs/reliability.md).
 */
import * as http from "http";
import type { AddressInfo, Socket } from "net";

/** One fault. */
export type ProxyFault =
    | { kind: "status"; status: number; headers?: Record<string, string>; body?: string }
    | { kind: "reset"; when: "beforeForward" | "midBody" | "afterUpstream"; /** bytes of the body forwarded first (midBody) @default 1024 */ bytes?: number }
    | { kind: "slowFirstByte"; ms: number }
    | { kind: "restart"; ms: number }
    /** The real registry behind the proxy restarts (the proxy's `restartUpstream` option), then the request is forwarded. */
    | { kind: "upstreamRestart"; ms: number };

/** Which requests get a fault. */
export interface ProxyRule {
    /** `PUT`, or a pattern such as /^(PATCH|PUT)$/. @default any */
    method?: string | RegExp;
    path?: RegExp;
    /** Matching requests let through before the first fault. @default 0 */
    after?: number;
    /** Faults injected, then the rule is spent. @default 1 */
    times?: number;
    fault: ProxyFault;
    /** The fault's kind in the suite's summary (docs/reliability.md), e.g. `503`. */
    kind: string;
}

/** One injected fault. */
export interface InjectedFault {
    kind: string;
    /** `METHOD path → fault`. */
    line: string;
    /** For a reset in the middle of a body: the request-body bytes that reached the registry first. */
    bytesForwarded?: number;
}

/** A running proxy. */
export interface FaultProxy {
    /** `127.0.0.1:<port>`, to use as the registry host. */
    host: string;
    /** Replaces the rules (counters restart). */
    setRules(rules: ProxyRule[]): void;
    /** Faults injected since the last setRules. */
    injected: InjectedFault[];
    /** Requests forwarded since the last setRules. */
    forwarded: number;
    close(): Promise<void>;
}

/**
 * ECR's throttling answer on the registry endpoint (`*.dkr.ecr.*`, the distribution API docker and
 * the CLI talk to): HTTP 429 with the distribution spec's `TOOMANYREQUESTS` error code and ECR's
 * "Rate exceeded" text. The ECR API's own shape (HTTP 400, `application/x-amz-json-1.1`,
 * `{"__type":"ThrottlingException"}`) never reaches a registry client; the SDK retries it, and the
 * retry policy's unit tests (test/registryRetry.test.ts) keep that body.
 */
export const ECR_THROTTLING = { kind: "status", status: 429, headers: { "Content-Type": "application/json; charset=utf-8" }, body: JSON.stringify({ errors: [{ code: "TOOMANYREQUESTS", message: "Rate exceeded" }] }) } as const;

/** Options of {@link startFaultProxy}. */
export interface FaultProxyOptions {
    /** Restarts the real registry behind the proxy, down for `ms` (for `upstreamRestart` faults). */
    restartUpstream?: (ms: number) => Promise<void>;
}

/** Starts a proxy to `upstream` (`127.0.0.1:<port>`). */
export async function startFaultProxy(upstream: string, options: FaultProxyOptions = {}): Promise<FaultProxy> {
    const [upHost, upPort] = upstream.split(":");
    let rules: { rule: ProxyRule; seen: number; left: number }[] = [];
    const sockets = new Set<Socket>();
    const state = { injected: [] as InjectedFault[], forwarded: 0, down: false };

    const server = http.createServer((req, res) => {
        const method = req.method ?? "GET";
        const path = (req.url ?? "/").split("?")[0];
        let fault: ProxyFault | undefined;
        let kind = "";
        let armed: { rule: ProxyRule; seen: number; left: number } | undefined;
        for (const r of rules) {
            const m = r.rule.method;
            if ((m !== undefined && (typeof m === "string" ? m !== method : !m.test(method))) || (r.rule.path && !r.rule.path.test(path))) continue;
            if (r.seen++ < (r.rule.after ?? 0) || r.left <= 0) continue;
            // A cut in the middle of a body is spent only when a body reaches its byte count (a short
            // one, e.g. a config blob uploaded next to the big layer, goes through whole).
            if (!(r.rule.fault.kind === "reset" && r.rule.fault.when === "midBody")) r.left--;
            fault = r.rule.fault;
            kind = r.rule.kind;
            armed = r;
            break;
        }
        if (fault && !(fault.kind === "reset" && fault.when === "midBody")) state.injected.push({ kind, line: `${method} ${path} → ${describe(fault)}` });
        if (fault?.kind === "status") {
            req.resume();
            res.writeHead(fault.status, { "Content-Type": "application/json", ...fault.headers, Connection: "close" });
            res.end(fault.body ?? JSON.stringify({ errors: [{ code: fault.status === 429 ? "TOOMANYREQUESTS" : "UNAVAILABLE", message: `injected ${fault.status}` }] }));
            return;
        }
        if (fault?.kind === "reset" && fault.when === "beforeForward") {
            req.socket.destroy();
            return;
        }
        if (fault?.kind === "restart") {
            void restart(fault.ms);
            return;
        }
        if (fault?.kind === "upstreamRestart") {
            // The registry goes down under this request: its connection is reset, and the retries
            // meet the registry down (refused upstream: reset here, as behind a load balancer) until it is back.
            void options.restartUpstream?.(fault.ms);
            req.socket.destroy();
            return;
        }
        state.forwarded++;
        const up = http.request({ host: upHost, port: Number(upPort), method, path: req.url, headers: req.headers }, (upRes) => {
            const answer = () => {
                if (fault?.kind === "reset" && fault.when === "afterUpstream") {
                    upRes.resume();
                    req.socket.destroy();
                    return;
                }
                res.writeHead(upRes.statusCode ?? 502, upRes.rawHeaders);
                upRes.pipe(res);
            };
            if (fault?.kind === "slowFirstByte") setTimeout(answer, fault.ms);
            else answer();
        });
        up.on("error", () => req.socket.destroy());
        if (fault?.kind === "reset" && fault.when === "midBody" && armed) {
            const rule = armed;
            let forwarded = 0;
            let cut = false;
            const limit = fault.bytes ?? 1024;
            req.on("data", (chunk: Buffer) => {
                if (cut) return;
                if (forwarded + chunk.length < limit || rule.left <= 0) {
                    up.write(chunk);
                    forwarded += chunk.length;
                    return;
                }
                const part = chunk.subarray(0, limit - forwarded);
                forwarded += part.length;
                rule.left--;
                cut = true;
                up.write(part, () => {
                    state.injected.push({ kind, line: `${method} ${path} → reset midBody after ${forwarded} bytes forwarded`, bytesForwarded: forwarded });
                    req.socket.destroy();
                    up.destroy();
                });
            });
            // A body shorter than the limit (or once the rule is spent) goes through whole.
            req.on("end", () => {
                if (!cut) up.end();
            });
            return;
        }
        req.pipe(up);
    });
    server.keepAliveTimeout = 5_000;
    server.on("connection", (s: Socket) => {
        sockets.add(s);
        s.on("close", () => sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;

    /** Every connection reset, the port closed (connection refused) for `ms`, then open again. */
    async function restart(ms: number): Promise<void> {
        if (state.down) return;
        state.down = true;
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const s of sockets) s.destroy();
        await closed;
        await new Promise((r) => setTimeout(r, ms));
        await new Promise<void>((resolve, reject) => {
            server.once("error", reject);
            server.listen(port, "127.0.0.1", () => {
                server.off("error", reject);
                resolve();
            });
        });
        state.down = false;
    }

    return {
        host: `127.0.0.1:${port}`,
        setRules(next) {
            rules = next.map((rule) => ({ rule, seen: 0, left: rule.times ?? 1 }));
            state.injected.length = 0;
            state.forwarded = 0;
        },
        get injected() {
            return state.injected;
        },
        get forwarded() {
            return state.forwarded;
        },
        async close() {
            for (const s of sockets) s.destroy();
            await new Promise<void>((resolve) => server.close(() => resolve()));
        },
    };
}

function describe(f: ProxyFault): string {
    switch (f.kind) {
        case "status":
            return `${f.status}${f.headers?.["Retry-After"] ? ` Retry-After ${f.headers["Retry-After"]}` : ""}${f.body?.includes("TOOMANYREQUESTS") ? " TOOMANYREQUESTS" : ""}`;
        case "reset":
            return `reset ${f.when}`;
        case "slowFirstByte":
            return `first byte after ${f.ms} ms`;
        case "restart":
            return `restart (${f.ms} ms down)`;
        case "upstreamRestart":
            return `registry restart (${f.ms} ms down)`;
    }
}
