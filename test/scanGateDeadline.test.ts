/**
 * scan-gate's registry read (is the digest an index?) retries within the gate's own --timeout,
 * not the 2-minute default budget; and its test-only overrides (the fault suite's proxy URL and a
 * findings file) replace exactly the registry base URL and the ECR API, nothing else.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { CliServices } from "../cli/context";
import { SCAN_GATE_TEST_FINDINGS, SCAN_GATE_TEST_REGISTRY_URL } from "../cli/commands/scanGate";
import { basicAuthorization } from "../lib/registry/registryHttp";
import { isolatedEnv, runCli } from "./cliContext";
import { FakeRegistry, ociManifest } from "./fakeRegistry";
import { fakeClock, faultyFetch } from "./faultyFetch";

const HOST = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const REPO = "ml-ci/nightly";

function services(fetch: CliServices["fetch"]): Partial<CliServices> & { slept: number[] } {
    const clock = fakeClock(Date.parse("2026-11-24T12:00:00Z"));
    return { slept: clock.slept, fetch, ecrAuthorization: async () => assert.fail("MLCI_REGISTRY_AUTH is set"), now: () => new Date(clock.now()), sleep: clock.sleep, random: () => 0.5 };
}

describe("scan-gate: the registry read is bounded by --timeout; test-only overrides", () => {
    it("a registry that keeps answering 503 ends the gate within its --timeout, in one line", async () => {
        const reg = new FakeRegistry({ authorization: basicAuthorization("AWS", "t") });
        const digest = reg.push(REPO, ociManifest("s"), ["t"]);
        const svc = services(faultyFetch(reg.fetch, [{ fault: { status: 503 } }]));
        const r = await runCli(["scan-gate", `${HOST}/${REPO}@${digest}`, "--timeout", "2s"], { env: isolatedEnv({ MLCI_REGISTRY_AUTH: "AWS:t" }), services: svc });
        assert.equal(r.code, 1);
        assert.ok(svc.slept.reduce((a, b) => a + b, 0) <= 2_000, `slept ${svc.slept.join(", ")} ms past the 2 s timeout`);
        assert.match(r.stderr.trim().split("\n").at(-1)!, /^ci-images scan-gate: reading .* failed: GET .*: HTTP 503 [^\n]*\(after 4 attempts; out of time\)\. Fix: /);
        assert.doesNotMatch(r.stderr, /\n\s+at /);
    });

    it("MLCI_TEST_SCAN_GATE_REGISTRY_URL and MLCI_TEST_SCAN_GATE_FINDINGS reroute the reads and answer the findings", async () => {
        const reg = new FakeRegistry({ authorization: basicAuthorization("AWS", "t") });
        const digest = reg.push(REPO, ociManifest("s"), ["t"]);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "scan-findings-"));
        const findings = path.join(dir, "findings.json");
        fs.writeFileSync(findings, JSON.stringify({ imageScanStatus: { status: "COMPLETE" }, imageScanFindings: { findings: [], findingSeverityCounts: {} } }));
        const urls: string[] = [];
        const svc = services(async (url, init) => (urls.push(url), reg.fetch(url, init)));
        const env = isolatedEnv({ MLCI_REGISTRY_AUTH: "AWS:t", [SCAN_GATE_TEST_REGISTRY_URL]: "http://127.0.0.1:5999", [SCAN_GATE_TEST_FINDINGS]: findings });
        const r = await runCli(["scan-gate", `${HOST}/${REPO}@${digest}`, "--settle", "0s", "--json"], { env, services: svc });
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(urls, [`http://127.0.0.1:5999/v2/${REPO}/manifests/${digest}`]);
        assert.equal(JSON.parse(r.stdout).results[0].verdict, "pass");
    });
});
