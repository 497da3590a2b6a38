/**
 * What one attempt of a registry request may cost (lib/registry/retryPolicy.ts): each attempt is
 * aborted after min(perAttemptMs, what is left of the deadline), so a registry that never answers
 * is retried as "timed out" and then ends the command in one line; and the body of an answer that
 * is retried is cancelled (its connection freed), not left to the garbage collector.
 */
import { strict as assert } from "assert";
import type { CliServices } from "../cli/context";
import { markerTag } from "../lib/images/tags";
import { FetchLike, FetchResponseLike, RegistryHttpClient, RegistryHttpError } from "../lib/registry/registryHttp";
import { RetryContext, retryingFetch } from "../lib/registry/retryPolicy";
import { planStackFile } from "../lib/stackPlan";
import { cliFixtureProject, runCli } from "./cliContext";
import { fakeClock } from "./faultyFetch";

const URL_T = "http://localhost:5000/v2/ml-ci/nightly/manifests/t";

/** A fetch that never answers: it only rejects when its signal aborts, as Node's fetch does. */
function hungFetch(calls: { n: number }): FetchLike {
    return (_url, init) => {
        calls.n++;
        return new Promise((_resolve, reject) => {
            const signal = init?.signal;
            if (!signal) return; // without a signal, never settles
            signal.addEventListener("abort", () => reject(signal.reason), { once: true });
        });
    };
}

function ctx(extra: Partial<RetryContext> = {}, lines: string[] = []): RetryContext {
    const clock = fakeClock();
    return { now: clock.now, sleep: clock.sleep, random: () => 0.5, onRetry: (l) => void lines.push(l), ...extra };
}

function answer(status: number, cancelled: string[]): FetchResponseLike {
    return {
        status,
        ok: status < 300,
        headers: { get: () => null },
        text: async () => "",
        arrayBuffer: async () => new ArrayBuffer(0),
        body: { cancel: async () => void cancelled.push(String(status)) },
    };
}

describe("one attempt is bounded, and a retried answer's body is cancelled", () => {
    it("a fetch that never answers is aborted per attempt, retried as 'timed out', then fails in one line", async () => {
        const calls = { n: 0 };
        const lines: string[] = [];
        const c = new RegistryHttpClient({ baseUrl: "http://localhost:5000", fetch: hungFetch(calls), retry: ctx({ settings: { perAttemptMs: 20, maxAttempts: 3 } }, lines) });
        const t0 = Date.now();
        await assert.rejects(c.manifestDigest("ml-ci/nightly", "t"), (e: RegistryHttpError) => e.status === 0 && e.code === "ETIMEDOUT" && /^HEAD localhost:5000\/v2\/ml-ci\/nightly\/manifests\/t: timed out \(ETIMEDOUT\) after 3 attempts in [\d.]+s$/.test(e.message));
        assert.equal(calls.n, 3);
        assert.deepEqual(lines.map((l) => l.replace(/ in [\d.]+s/, "")), ["retrying HEAD localhost:5000/v2/ml-ci/nightly/manifests/t (timed out)", "retrying HEAD localhost:5000/v2/ml-ci/nightly/manifests/t (timed out)"]);
        assert.ok(Date.now() - t0 < 2_000);
    });

    it("an attempt never outlives the deadline: it is aborted when the deadline comes, however long perAttemptMs is", async () => {
        const calls = { n: 0 };
        const clock = fakeClock();
        const fetch = retryingFetch(hungFetch(calls), ctx({ now: clock.now, sleep: clock.sleep, deadline: () => clock.now() + 50, settings: { perAttemptMs: 60_000 } }));
        const t0 = Date.now();
        await assert.rejects(fetch(URL_T, { method: "HEAD" }), /timed out \(ETIMEDOUT\); out of time$/);
        assert.ok(Date.now() - t0 < 2_000, `took ${Date.now() - t0} ms`);
        assert.equal(calls.n, 1);
    });

    it("the body of a retried answer is cancelled; the answer given back after the last try is not", async () => {
        const cancelled: string[] = [];
        const answers = [503, 502, 200];
        const fetch = retryingFetch(async () => answer(answers.shift()!, cancelled), ctx());
        assert.equal((await fetch(URL_T, { method: "HEAD" })).status, 200);
        assert.deepEqual(cancelled, ["503", "502"]);
        cancelled.length = 0;
        const once = retryingFetch(async () => answer(503, cancelled), ctx({ settings: { maxAttempts: 2 } }));
        assert.equal((await once(URL_T, { method: "HEAD" })).status, 503);
        assert.deepEqual(cancelled, ["503"], "the first 503 is cancelled, the last one is the caller's to read");
    });

    it("wait: a registry that never answers ends at --timeout in one line, no stack trace", async () => {
        const root = cliFixtureProject();
        const plan = await planStackFile(root, "ci", { env: {}, useHashCache: false });
        const img = plan.images.find((i) => i.family === "base")!;
        assert.ok(markerTag(img.cell.label, img.contentHash));
        const clock = fakeClock(Date.parse("2026-11-24T12:00:00Z"));
        const calls = { n: 0 };
        const services: Partial<CliServices> = {
            fetch: hungFetch(calls),
            ecrAuthorization: async () => ({ proxyEndpoint: "https://123456789012.dkr.ecr.us-east-1.amazonaws.com", user: "AWS", password: "t" }),
            now: () => new Date(clock.now()),
            sleep: clock.sleep,
            random: () => 0.5,
        };
        const t0 = Date.now();
        const r = await runCli(["wait", img.name, "--stack", "ci", "--root", root, "--timeout", "1s", "--interval", "1s"], { services });
        assert.equal(r.code, 1);
        assert.ok(calls.n >= 1);
        assert.ok(Date.now() - t0 < 10_000, `took ${Date.now() - t0} ms`);
        assert.match(r.stderr.trim().split("\n").at(-1)!, /^ci-images wait: timed out after 1s waiting for .*: registry \S+ did not answer \(HEAD .*timed out \(ETIMEDOUT\).*\)\. Fix: /);
        assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
    });
});
