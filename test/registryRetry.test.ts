/**
 * The registry client's retries (lib/registry/retryPolicy.ts) against the in-memory registry with
 * injected faults (test/faultyFetch.ts) and a fake clock: which failures are retried, how long it
 * waits (full jitter, Retry-After), that it never waits past the deadline, what it prints, and how
 * the commands (retag, wait, status, publish's listing) end when the registry does not recover.
 */
import { strict as assert } from "assert";
import { Writable } from "stream";
import { runRetag } from "../cli/commands/retag";
import { parseEcrDigestRef, registryManifestReader } from "../cli/commands/scanGate";
import type { CliServices } from "../cli/context";
import { ecrAuthorization, ecrSdkRetryConfig } from "../cli/registryAccess";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { markerTag } from "../lib/images/tags";
import { basicAuthorization, RegistryHttpClient, RegistryHttpError } from "../lib/registry/registryHttp";
import { backoffDelayMs, REGISTRY_RETRY, retryAfterMs, RetryContext, retryDelayMs, retryingFetch } from "../lib/registry/retryPolicy";
import { planStackFile, StackPlan } from "../lib/stackPlan";
import { cliFixtureProject, isolatedEnv, runCli } from "./cliContext";
import { FakeRegistry, ociImage, ociManifest } from "./fakeRegistry";
import { ECR_THROTTLING_BODY, fakeClock, faultyFetch, FaultRule } from "./faultyFetch";

const REPO = "ml-ci/nightly";
const BASE = "http://localhost:5000";
/** With random() = 0.5 the n-th retry waits half its ceiling: 250, 500, 1000, … ms (base 500 ms). */
const HALF = [250, 500, 1000, 2000, 4000, 8000, 10000];

function sink(): Writable & { text: () => string } {
    const chunks: string[] = [];
    const w = new Writable({ write: (c, _e, cb) => (chunks.push(String(c)), cb()) }) as Writable & { text: () => string };
    w.text = () => chunks.join("");
    return w;
}

function retryCtx(clock = fakeClock(), lines: string[] = [], extra: Partial<RetryContext> = {}): RetryContext & { lines: string[]; clock: ReturnType<typeof fakeClock> } {
    return { now: clock.now, sleep: clock.sleep, random: () => 0.5, onRetry: (l) => void lines.push(l), lines, clock, ...extra };
}

function client(reg: FakeRegistry, rules: FaultRule[], retry = retryCtx()) {
    const fetch = faultyFetch(reg.fetch, rules);
    return { client: new RegistryHttpClient({ baseUrl: BASE, fetch, retry }), fetch, retry };
}

describe("retry rules (lib/registry/retryPolicy.ts)", () => {
    it("full jitter under a capped exponential: random() × min(20 s, 500 ms × 2ⁿ)", () => {
        const s = REGISTRY_RETRY;
        assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelayMs(n, s, () => 0.999999)), [499, 999, 1999, 3999, 7999, 15999, 19999, 19999]);
        assert.deepEqual([0, 3, 9].map((n) => backoffDelayMs(n, s, () => 0)), [0, 0, 0], "full jitter reaches down to zero");
        assert.deepEqual(HALF.map((_, n) => backoffDelayMs(n, s, () => 0.5)), HALF);
    });

    it("Retry-After in seconds or as an HTTP-date; a past date is 0; anything else is ignored", () => {
        const now = Date.parse("2026-12-07T12:00:00Z");
        assert.equal(retryAfterMs("7", now), 7000);
        assert.equal(retryAfterMs(" 0 ", now), 0);
        assert.equal(retryAfterMs("Mon, 07 Dec 2026 12:00:05 GMT", now), 5000);
        assert.equal(retryAfterMs("Mon, 07 Dec 2026 11:59:00 GMT", now), 0);
        for (const bad of [null, undefined, "", "soon", "1.5", "-3", "2026-12-07"]) assert.equal(retryAfterMs(bad, now), undefined, String(bad));
    });

    it("retries 500, 502, 503 and 504, one line each, then answers what the registry holds", async () => {
        const reg = new FakeRegistry();
        const digest = reg.push(REPO, ociManifest("a"), ["t"]);
        for (const status of [500, 502, 503, 504]) {
            const { client: c, retry } = client(reg, [{ method: "HEAD", times: 2, fault: { status } }]);
            assert.equal(await c.manifestDigest(REPO, "t"), digest);
            assert.deepEqual(retry.lines, [`retrying HEAD localhost:5000/v2/${REPO}/manifests/t in 0.3s (${status})`, `retrying HEAD localhost:5000/v2/${REPO}/manifests/t in 0.5s (${status})`]);
            assert.deepEqual(retry.clock.slept, [250, 500]);
        }
    });

    it("Retry-After is a hint bounded like the SDK's: max(backoff, min(retryAfter, backoff + 5 s, 20 s))", async () => {
        assert.equal(retryDelayMs(300, undefined, 20_000), 300);
        assert.equal(retryDelayMs(300, 0, 20_000), 300, "Retry-After: 0 still backs off");
        assert.equal(retryDelayMs(300, 2_000, 20_000), 2_000);
        assert.equal(retryDelayMs(300, 86_400_000, 20_000), 5_300, "a huge Retry-After waits backoff + 5 s");
        assert.equal(retryDelayMs(19_999, 86_400_000, 20_000), 20_000, "and never more than the cap");
        const reg = new FakeRegistry();
        reg.push(REPO, ociManifest("a"), ["t"]);
        const a = client(reg, [{ method: "GET", times: 1, fault: { status: 429, headers: { "Retry-After": "3" } } }]);
        assert.deepEqual(await a.client.listTags(REPO), ["t"]);
        assert.deepEqual(a.retry.clock.slept, [3000]);
        assert.deepEqual(a.retry.lines, [`retrying GET localhost:5000/v2/${REPO}/tags/list in 3.0s (429, Retry-After)`]);
        const date = new Date(a.retry.clock.now() + 4_000).toUTCString();
        const b = client(reg, [{ method: "GET", times: 1, fault: { status: 429, headers: { "Retry-After": date } } }], retryCtx(fakeClock(a.retry.clock.now())));
        await b.client.listTags(REPO);
        assert.deepEqual(b.retry.clock.slept, [4_000]);
        const zero = client(reg, [{ method: "GET", times: 2, fault: { status: 429, headers: { "Retry-After": "0" } } }]);
        await zero.client.listTags(REPO);
        assert.deepEqual(zero.retry.clock.slept, HALF.slice(0, 2), "Retry-After: 0 is not a busy loop");
        const huge = client(reg, [{ method: "GET", times: 6, fault: { status: 503, headers: { "Retry-After": "86400" } } }]);
        await huge.client.listTags(REPO);
        assert.deepEqual(huge.retry.clock.slept, [5250, 5500, 6000, 7000, 9000, 13000], "a day's Retry-After waits backoff + 5 s");
        const c = client(reg, [{ method: "GET", times: 3, fault: { status: 429 } }]);
        await c.client.listTags(REPO);
        assert.deepEqual(c.retry.clock.slept, HALF.slice(0, 3));
    });

    it("an ECR ThrottlingException body is retried whatever its status; another 4xx is final and keeps its body", async () => {
        const reg = new FakeRegistry();
        reg.push(REPO, ociManifest("a"), ["t"]);
        const a = client(reg, [{ method: "GET", times: 2, fault: { status: 400, body: ECR_THROTTLING_BODY, headers: { "Content-Type": "application/x-amz-json-1.1" } } }]);
        assert.deepEqual(await a.client.listTags(REPO), ["t"]);
        assert.deepEqual(a.retry.lines.map((l) => l.replace(/ in .*\(/, " (")), [`retrying GET localhost:5000/v2/${REPO}/tags/list (400 throttled)`, `retrying GET localhost:5000/v2/${REPO}/tags/list (400 throttled)`]);
        const b = client(reg, [{ method: "GET", fault: { status: 400, body: JSON.stringify({ errors: [{ code: "NAME_INVALID", message: "invalid repository name" }] }) } }]);
        await assert.rejects(b.client.listTags(REPO), /HTTP 400 NAME_INVALID: invalid repository name$/);
        assert.deepEqual(b.retry.lines, []);
    });

    it("a connection reset or refusal is retried; an unknown host is not", async () => {
        const reg = new FakeRegistry();
        const digest = reg.push(REPO, ociManifest("a"), ["t"]);
        for (const network of ["ECONNRESET", "UND_ERR_SOCKET", "ECONNREFUSED"] as const) {
            const { client: c, retry } = client(reg, [{ times: 2, fault: { network } }]);
            assert.equal(await c.manifestDigest(REPO, "t"), digest);
            assert.equal(retry.lines.length, 2);
            assert.match(retry.lines[0], new RegExp(`^retrying HEAD localhost:5000/v2/${REPO}/manifests/t in 0\\.3s \\(connection (reset|refused)\\)$`));
        }
        const { client: c, retry } = client(reg, [{ fault: { network: "ENOTFOUND" } }]);
        await assert.rejects(c.manifestDigest(REPO, "t"), (e: RegistryHttpError) => e.status === 0 && e.code === "ENOTFOUND" && /host not found \(ENOTFOUND\)$/.test(e.message));
        assert.deepEqual(retry.lines, []);
    });

    it("a reset in the middle of a GET's body is retried like one before it", async () => {
        const reg = new FakeRegistry();
        reg.push(REPO, ociManifest("a"), ["t"]);
        let cut = 1;
        const fetch: typeof reg.fetch = async (url, init) => {
            const res = await reg.fetch(url, init);
            if (cut-- > 0) return { ...res, headers: res.headers, text: res.text, arrayBuffer: async () => Promise.reject(Object.assign(new TypeError("terminated"), { cause: { code: "UND_ERR_SOCKET" } })) };
            return res;
        };
        const retry = retryCtx();
        const c = new RegistryHttpClient({ baseUrl: BASE, fetch, retry });
        assert.equal((await c.getManifest(REPO, "t"))?.digest, reg.tagDigest(REPO, "t"));
        assert.equal(retry.lines.length, 1);
    });

    it("only idempotent requests are retried: a POST is sent once", async () => {
        const clock = fakeClock();
        const lines: string[] = [];
        let calls = 0;
        const fetch = retryingFetch(
            async () => {
                calls++;
                return { status: 503, ok: false, headers: { get: () => null }, text: async () => "", arrayBuffer: async () => new ArrayBuffer(0) };
            },
            retryCtx(clock, lines),
        );
        const res = await fetch(`${BASE}/v2/${REPO}/blobs/uploads/`, { method: "POST" });
        assert.equal(res.status, 503);
        assert.equal(calls, 1);
        assert.deepEqual(lines, []);
        await assert.rejects(
            retryingFetch(async () => Promise.reject(Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNRESET" } })), retryCtx())(`${BASE}/v2/${REPO}/blobs/uploads/`, { method: "POST" }),
            /POST localhost:5000\/v2\/ml-ci\/nightly\/blobs\/uploads\/: connection reset \(ECONNRESET\); not retried: the request is not idempotent/,
        );
    });

    it("gives up after maxAttempts, naming the attempts; a manifest PUT is retried and lands once", async () => {
        const reg = new FakeRegistry();
        const digest = reg.push(REPO, ociManifest("a"), ["t"]);
        const a = client(reg, [{ method: "HEAD", fault: { status: 503 } }]);
        await assert.rejects(a.client.manifestDigest(REPO, "t"), (e: RegistryHttpError) => e.status === 503 && / HTTP 503 \(after 8 attempts\)$/.test(e.message));
        assert.deepEqual(a.retry.clock.slept, HALF, "7 waits between 8 attempts");
        const b = client(reg, [{ method: "PUT", times: 2, fault: { status: 502 } }]);
        assert.deepEqual(await b.client.retag(REPO, digest, ["u"]), [{ tag: "u", outcome: "pushed" }]);
        assert.equal(reg.tagDigest(REPO, "u"), digest);
        assert.equal(b.fetch.log.length, 2, "two PUTs got the 502");
        assert.deepEqual(reg.requests.filter((r) => r.startsWith("PUT ")), [`PUT /v2/${REPO}/manifests/u`], "one PUT reached the registry and landed");
    });

    it("never waits past the deadline, Retry-After or not", async () => {
        const reg = new FakeRegistry();
        reg.push(REPO, ociManifest("a"), ["t"]);
        const clock = fakeClock();
        const deadline = clock.now() + 1_000;
        const a = client(reg, [{ method: "HEAD", fault: { status: 503 } }], retryCtx(clock, [], { deadline: () => deadline }));
        await assert.rejects(a.client.manifestDigest(REPO, "t"), / HTTP 503 \(after 3 attempts; out of time\)$/);
        assert.deepEqual(clock.slept, [250, 500], "the third wait (1 s) would end after the deadline");
        const b = client(reg, [{ method: "HEAD", fault: { status: 429, headers: { "Retry-After": "120" } } }], retryCtx(fakeClock(), [], { deadline: () => Date.parse("2026-12-07T12:01:00Z") }));
        await assert.rejects(b.client.manifestDigest(REPO, "t"), / HTTP 429 \(after 7 attempts; the registry asked to wait 120s, past the command's timeout\)$/);
        assert.deepEqual(b.retry.clock.slept, [5250, 5500, 6000, 7000, 9000, 13000], "bounded waits until the next (15 s) would end after the 60 s deadline");
        const c = client(reg, [{ method: "HEAD", fault: { network: "ECONNRESET" } }], retryCtx(fakeClock(), [], { settings: { budgetMs: 2_000 } }));
        await assert.rejects(c.client.manifestDigest(REPO, "t"), (e: RegistryHttpError) => e.status === 0 && /connection reset \(ECONNRESET\) after 4 attempts in 1\.8s; out of time$/.test(e.message));
    });
});

describe("retries in the commands: retag, wait, status, publish's listing", () => {
    const HOST = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
    const TOKEN = "ecr-token-42";
    let root: string;
    let plan: StackPlan;
    before(async () => {
        root = cliFixtureProject();
        plan = await planStackFile(root, "ci", { env: {}, useHashCache: false });
    });

    function services(fetch: CliServices["fetch"]): Partial<CliServices> & { slept: number[] } {
        const clock = fakeClock(Date.parse("2026-11-24T12:00:00Z"));
        return {
            slept: clock.slept,
            fetch,
            ecrAuthorization: async () => ({ proxyEndpoint: `https://${HOST}`, user: "AWS", password: TOKEN }),
            now: () => new Date(clock.now()),
            sleep: clock.sleep,
            random: () => 0.5,
        };
    }

    it("retag: 503, 429 and a reset are retried (one stderr line each) and every tag lands", async () => {
        const reg = new FakeRegistry();
        const digest = reg.push(REPO, ociManifest("b"), ["cuda13.2-py3.12-h0123456789ab"]);
        const fetch = faultyFetch(reg.fetch, [
            { method: "GET", times: 1, fault: { status: 503 } },
            { method: "HEAD", times: 1, fault: { status: 429, headers: { "Retry-After": "2" } } },
            { method: "PUT", times: 1, fault: { network: "ECONNRESET" } },
        ]);
        const err = sink();
        const code = await runRetag([`${HOST}/${REPO}@${digest}`, "cuda13.2-py3.12-ok0123456789ab", "cuda13.2-py3.12-latest"], { fetch, out: sink(), err, retry: retryCtx(fakeClock(), [], { onRetry: (l) => void err.write(`ci-images: ${l}\n`) }) });
        assert.equal(code, 0, err.text());
        assert.equal(reg.tagDigest(REPO, "cuda13.2-py3.12-ok0123456789ab"), digest);
        assert.equal(reg.tagDigest(REPO, "cuda13.2-py3.12-latest"), digest);
        assert.deepEqual(err.text().trim().split("\n").map((l) => l.replace(/\/v2\/.*? in/, " … in")), [
            `ci-images: retrying GET ${HOST} … in 0.3s (503)`,
            `ci-images: retrying HEAD ${HOST} … in 2.0s (429, Retry-After)`,
            `ci-images: retrying PUT ${HOST} … in 0.3s (connection reset)`,
        ]);
    });

    it("retag through the CLI: a registry that keeps resetting ends in one line, exit 1, no stack trace", async () => {
        const reg = new FakeRegistry();
        const digest = reg.push(REPO, ociManifest("c"), ["x-h0123456789ab"]);
        const fetch = faultyFetch(reg.fetch, [{ fault: { network: "ECONNRESET" } }]);
        const svc = services(fetch);
        const r = await runCli(["retag", `${HOST}/${REPO}@${digest}`, "x-latest"], { services: svc });
        assert.equal(r.code, 1);
        const lines = r.stderr.trim().split("\n");
        assert.equal(lines.filter((l) => l.startsWith("ci-images: retrying GET")).length, 7, "one line per retry");
        assert.match(lines.at(-1)!, new RegExp(`^ci-images: retag ${HOST.replace(/\./g, "\\.")}/${REPO}@${digest}: GET ${HOST.replace(/\./g, "\\.")}/v2/${REPO}/manifests/${digest}: connection reset \\(ECONNRESET\\) after 8 attempts in [\\d.]+s$`));
        assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
        assert.equal(reg.tagDigest(REPO, "x-latest"), undefined);
    });

    it("wait: three 503s in a row within a 60 s timeout are retried, and the tested build is found", async () => {
        const reg = new FakeRegistry({ authorization: basicAuthorization("AWS", TOKEN) });
        const img = plan.images.find((i) => i.family === "base")!;
        const digest = reg.push(img.repositoryName, ociImage(reg, img.repositoryName, "w", "2026-11-24T11:00:00Z"), [img.tag, markerTag(img.cell.label, img.contentHash)]);
        const fetch = faultyFetch(reg.fetch, [{ method: "HEAD", times: 3, fault: { status: 503 } }]);
        const r = await runCli(["wait", img.name, "--stack", "ci", "--root", root, "--timeout", "60s"], { services: services(fetch) });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, `${HOST}/${img.repositoryName}:${img.tag}@${digest}\n`);
        assert.equal(r.stderr.match(/^ci-images: retrying HEAD .* \(503\)$/gm)?.length, 3);
    });

    it("wait: 429s and resets that outlast the client's retries are polled on until --timeout, then one clear line", async () => {
        const img = plan.images.find((i) => i.family === "base")!;
        for (const fault of [{ status: 429 }, { network: "ECONNRESET" as const }]) {
            const reg = new FakeRegistry({ authorization: basicAuthorization("AWS", TOKEN) });
            const svc = services(faultyFetch(reg.fetch, [{ method: "HEAD", fault }]));
            const r = await runCli(["wait", img.name, "--stack", "ci", "--root", root, "--timeout", "60s", "--interval", "10s"], { services: svc });
            assert.equal(r.code, 1);
            assert.equal(r.stdout, "");
            assert.ok(svc.slept.reduce((a, b) => a + b, 0) <= 60_000, `slept ${svc.slept.reduce((a, b) => a + b, 0)} ms, past the 60 s timeout`);
            const last = r.stderr.trim().split("\n").at(-1)!;
            assert.match(last, new RegExp(`^ci-images wait: timed out after 60s waiting for ${img.name.replace(/\./g, "\\.")}: registry ${HOST.replace(/\./g, "\\.")} did not answer \\(HEAD .*(HTTP 429|connection reset).*\\)\\. Fix: `));
            assert.doesNotMatch(r.stderr, /\n\s+at /);
        }
    });

    it("status: a 429 and a reset on the listing are retried; the report is complete", async () => {
        const reg = new FakeRegistry({ authorization: basicAuthorization("AWS", TOKEN) });
        const fetch = faultyFetch(reg.fetch, [
            { method: "GET", path: /tags\/list$/, times: 1, fault: { status: 429 } },
            { method: "GET", path: /tags\/list$/, times: 1, fault: { network: "ECONNRESET" } },
        ]);
        const r = await runCli(["status", "--stack", "ci", "--root", root, "--json"], { services: services(fetch) });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(JSON.parse(r.stdout).images.length, plan.images.length);
        assert.equal(r.stderr.match(/^ci-images: retrying GET .*tags\/list in \S+ \((429|connection reset)\)$/gm)?.length, 2);
    });

    it("scan-gate: its manifest read (index or image?) retries a 503 and a reset, one line each", async () => {
        const reg = new FakeRegistry({ authorization: basicAuthorization("AWS", TOKEN) });
        const digest = reg.push(REPO, ociManifest("scanned"), ["t"]);
        const fetch = faultyFetch(reg.fetch, [
            { method: "GET", times: 1, fault: { status: 503 } },
            { method: "GET", times: 1, fault: { network: "ECONNRESET" } },
        ]);
        const err = sink();
        const read = registryManifestReader({ env: { MLCI_REGISTRY_AUTH: `AWS:${TOKEN}` }, services: { ...(services(fetch) as CliServices) }, err });
        const manifest = await read(parseEcrDigestRef(`${HOST}/${REPO}@${digest}`));
        assert.equal(manifest?.mediaType, "application/vnd.oci.image.manifest.v1+json");
        assert.deepEqual(err.text().trim().split("\n").map((l) => l.replace(/ in [\d.]+s/, "")), [`ci-images: retrying GET ${HOST}/v2/${REPO}/manifests/${digest} (503)`, `ci-images: retrying GET ${HOST}/v2/${REPO}/manifests/${digest} (connection reset)`]);
    });

    it("publish: a listing that keeps failing ends before anything is built, in one line", async () => {
        const reg = new FakeRegistry({ authorization: basicAuthorization("AWS", TOKEN) });
        const fetch = faultyFetch(reg.fetch, [{ path: /tags\/list$/, fault: { status: 503 } }]);
        const r = await runCli(["publish", "--stack", "ci", "--root", root, "--dry-run"], { services: services(fetch) });
        assert.equal(r.code, 1);
        assert.match(r.stderr.trim().split("\n").at(-1)!, /^ci-images publish: listing \S+ failed: GET .*tags\/list: HTTP 503 \(after 8 attempts\)\. Fix: retry when the registry answers \(nothing was built\)$/);
    });
});

describe("ECR API calls use the AWS SDK's own retry strategy", () => {
    it("with no AWS_RETRY_MODE / AWS_MAX_ATTEMPTS nothing is set, and the SDK reads the profile's retry_mode / max_attempts", async () => {
        assert.deepEqual(ecrSdkRetryConfig({}), {});
        assert.deepEqual(ecrSdkRetryConfig({ AWS_RETRY_MODE: "adaptive", AWS_MAX_ATTEMPTS: "9" }), { retryMode: "adaptive", maxAttempts: 9 });
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "aws-config-"));
        fs.writeFileSync(path.join(dir, "config"), "[profile retrying]\nregion = us-east-1\nretry_mode = adaptive\nmax_attempts = 7\n");
        // The SDK reads the process environment: only the profile may speak here.
        const keys = ["AWS_CONFIG_FILE", "AWS_PROFILE", "AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS"] as const;
        const saved = Object.fromEntries(keys.map((k) => [k, process.env[k]]));
        for (const k of keys) delete process.env[k];
        process.env.AWS_CONFIG_FILE = path.join(dir, "config");
        process.env.AWS_PROFILE = "retrying";
        try {
            const { ECRClient } = await import("@aws-sdk/client-ecr");
            // The SDK client really takes them (no request is sent).
            const sdk = new ECRClient({ region: "us-east-1", ...ecrSdkRetryConfig({}) });
            assert.equal(await sdk.config.maxAttempts(), 7, "the profile's max_attempts");
            const mode = sdk.config.retryMode;
            assert.equal(typeof mode === "function" ? await mode() : mode, "adaptive", "the profile's retry_mode");
            sdk.destroy();
            const env = new ECRClient({ region: "us-east-1", ...ecrSdkRetryConfig({ AWS_MAX_ATTEMPTS: "4" }) });
            assert.equal(await env.config.maxAttempts(), 4, "the environment wins over the profile");
            env.destroy();
        } finally {
            for (const k of keys) {
                if (saved[k] === undefined) delete process.env[k];
                else process.env[k] = saved[k];
            }
        }
    });

    it("legacy, a typo or a bad attempt count is refused with the fix, not silently run as standard", async () => {
        assert.throws(() => ecrSdkRetryConfig({ AWS_RETRY_MODE: "legacy" }), /^CliError: AWS_RETRY_MODE=legacy: the AWS SDK for JavaScript v3 has only the standard and adaptive retry modes \(legacy is the other SDKs' old default\)\. Fix: export AWS_RETRY_MODE=standard, or unset it$/);
        assert.throws(() => ecrSdkRetryConfig({ AWS_RETRY_MODE: "bogus" }), /AWS_RETRY_MODE=bogus: .* Fix: /);
        for (const bad of ["0", "2.5", "many"]) assert.throws(() => ecrSdkRetryConfig({ AWS_MAX_ATTEMPTS: bad }), new RegExp(`AWS_MAX_ATTEMPTS=${bad.replace(".", "\\.")} is not a whole number of attempts ≥ 1\\. Fix: `));
        // Through the CLI: one line, exit 1, before any request.
        const root = cliFixtureProject();
        const r = await runCli(["status", "--stack", "ci", "--root", root], { env: isolatedEnv({ AWS_RETRY_MODE: "legacy" }), services: { ecrAuthorization: (region) => ecrAuthorization(region, { AWS_RETRY_MODE: "legacy" }), fetch: async () => assert.fail("no request") } });
        assert.equal(r.code, 1);
        assert.match(r.stderr, /^ci-images status: AWS_RETRY_MODE=legacy: .*\. Fix: export AWS_RETRY_MODE=standard, or unset it\n$/);
    });
});
