/**
 * #27 seam 2, defence in depth: a digest in a repository whose effective scan frequency is MANUAL (no scan-on-push
 * filter of the account-wide configuration matches it, whatever its own scanOnPush says; ECR User Guide, scanning
 * filters) is never scanned, so the gate starts the scan itself. The model below is ECR's: ScanNotFoundException until
 * a scan exists; a scan-on-push repository gets one by itself; StartImageScan creates one (then PENDING, COMPLETE).
 */
import * as assert from "assert";
import { PassThrough } from "stream";
import type { DescribeImageScanFindingsResponse } from "@aws-sdk/client-ecr";
import { runScanGate, ScanFindingsClient } from "../cli/commands/scanGate";
import { registryScanning } from "../lib/registry/documents";
import { effectiveScanFrequency, RegistryScanningRule } from "../lib/registry/scanGate";

const DIGEST = `sha256:${"cd".repeat(32)}`;

/** ECR for one digest, under the account's scanning rules. */
function ecrModel(rules: RegistryScanningRule[], repositoryName: string, opts: { configReadable?: boolean } = {}) {
    let reads = 0;
    let scanStartedAt: number | undefined = effectiveScanFrequency(rules, repositoryName) === "MANUAL" ? undefined : 0;
    const started: string[] = [];
    const client: ScanFindingsClient = {
        async describeImageScanFindings() {
            reads++;
            if (scanStartedAt === undefined) {
                throw Object.assign(new Error(`Image scan does not exist for the image with '{imageDigest:'${DIGEST}', imageTag:'null'}' in the repository with name '${repositoryName}'`), { name: "ScanNotFoundException", $fault: "client" });
            }
            const done = reads - scanStartedAt > 2;
            return { registryId: "123456789012", repositoryName, imageId: { imageDigest: DIGEST }, imageScanStatus: { status: done ? "COMPLETE" : "PENDING" }, imageScanFindings: { findings: [] } } as DescribeImageScanFindingsResponse;
        },
        async registryScanningRules() {
            if (opts.configReadable === false) throw Object.assign(new Error("User: arn:aws:sts::123456789012:assumed-role/x is not authorized to perform: ecr:GetRegistryScanningConfiguration"), { name: "AccessDeniedException" });
            return rules;
        },
        async startImageScan(input) {
            started.push(input.repositoryName);
            scanStartedAt = reads;
            return {};
        },
    };
    return { client, started };
}

async function gate(client: ScanFindingsClient, repositoryName: string) {
    let clock = Date.parse("2026-12-07T03:00:00Z");
    const out = new PassThrough();
    const err = new PassThrough();
    let text = "";
    out.on("data", (d) => (text += d));
    err.on("data", (d) => (text += d));
    const code = await runScanGate([`123456789012.dkr.ecr.us-east-1.amazonaws.com/${repositoryName}@${DIGEST}`], { maxSeverity: "CRITICAL", allowlist: [] }, { timeout: "10m", interval: "15s", settle: "0s" }, {
        out, err, env: {}, client: () => client, now: () => new Date(clock), sleep: async (ms) => void (clock += ms),
    });
    return { code, text };
}

/** prod's rule before #27: its own prefix and its cache only. */
const PROD_ONLY = registryScanning({ type: "BASIC" }, ["ml-ci", "docker-hub"]).rules;

describe("scan gate: the effective scan frequency comes from the account-wide filters (#27 seam 2)", () => {
    it("effectiveScanFrequency: a repository no filter matches is MANUAL, whatever its own scanOnPush", () => {
        assert.strictEqual(effectiveScanFrequency(PROD_ONLY, "ml-ci/nightly"), "SCAN_ON_PUSH");
        assert.strictEqual(effectiveScanFrequency(PROD_ONLY, "ml-ci-dev/nightly"), "MANUAL");
        assert.strictEqual(effectiveScanFrequency(registryScanning({ type: "BASIC", accountPrefixes: ["ml-ci-dev"] }, ["ml-ci"]).rules, "ml-ci-dev/nightly"), "SCAN_ON_PUSH");
        assert.strictEqual(effectiveScanFrequency([], "ml-ci/nightly"), "MANUAL");
        assert.strictEqual(effectiveScanFrequency([{ scanFrequency: "CONTINUOUS_SCAN", repositoryFilters: [{ filter: "ml-ci/*", filterType: "WILDCARD" }] }, ...PROD_ONLY], "ml-ci/base"), "CONTINUOUS_SCAN");
    });

    it("a dev image under prod-only filters gets its scan started by the gate, and passes", async () => {
        const ecr = ecrModel(PROD_ONLY, "ml-ci-dev/nightly");
        const r = await gate(ecr.client, "ml-ci-dev/nightly");
        assert.deepStrictEqual(ecr.started, ["ml-ci-dev/nightly"]);
        assert.strictEqual(r.code, 0, r.text);
    });

    it("a scan-on-push repository is never rescanned by the gate", async () => {
        const ecr = ecrModel(PROD_ONLY, "ml-ci/nightly");
        assert.strictEqual((await gate(ecr.client, "ml-ci/nightly")).code, 0);
        assert.deepStrictEqual(ecr.started, []);
    });

    it("an unreadable configuration starts nothing and fails closed at the timeout, saying why", async () => {
        const ecr = ecrModel(PROD_ONLY, "ml-ci-dev/nightly", { configReadable: false });
        const r = await gate(ecr.client, "ml-ci-dev/nightly");
        assert.strictEqual(r.code, 1);
        assert.deepStrictEqual(ecr.started, []);
        assert.match(r.text, /the registry scanning configuration is unreadable \(User: .* ecr:GetRegistryScanningConfiguration\), so no scan was started/);
    });
});
