import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PassThrough } from "stream";
import type { DescribeImageScanFindingsRequest, DescribeImageScanFindingsResponse } from "@aws-sdk/client-ecr";
import { parseDuration, parseEcrDigestRef, runScanGate, ScanFindingsClient } from "../cli/commands/scanGate";

const DIGEST = `sha256:${"ab".repeat(32)}`;
const REF = `123456789012.dkr.ecr.us-east-1.amazonaws.com/ml-ci/nightly@${DIGEST}`;

/** ScanNotFoundException as the SDK throws it (a ServiceException with name and $fault). */
function scanNotFound(): Error {
    return Object.assign(new Error("Image scan does not exist for the image with '{imageDigest:'" + DIGEST + "', imageTag:'null'}' in the repository with name 'ml-ci/nightly' in the registry with id '123456789012'"), {
        name: "ScanNotFoundException",
        $fault: "client",
    });
}

const status = (s: "PENDING" | "IN_PROGRESS" | "COMPLETE" | "ACTIVE" | "FAILED", findings: { name: string; severity: "CRITICAL" | "HIGH" | "LOW" }[] = []): DescribeImageScanFindingsResponse => ({
    registryId: "123456789012",
    repositoryName: "ml-ci/nightly",
    imageId: { imageDigest: DIGEST },
    imageScanStatus: { status: s, description: s === "COMPLETE" ? "The scan was completed successfully." : "Pending start of the image scan." },
    imageScanFindings: { findings: findings.map((f) => ({ name: f.name, severity: f.severity, uri: `https://nvd.nist.gov/vuln/detail/${f.name}`, attributes: [{ key: "package_name", value: "openssl" }, { key: "package_version", value: "3.0.2" }] })), findingSeverityCounts: {} },
});

/** A scripted ECR: answers (or throws) the given steps in order, repeating the last; records the requests. */
function scriptedEcr(steps: (DescribeImageScanFindingsResponse | (() => never))[]) {
    const requests: DescribeImageScanFindingsRequest[] = [];
    let i = 0;
    const client: ScanFindingsClient = {
        async describeImageScanFindings(input) {
            requests.push(input);
            const step = steps[Math.min(i++, steps.length - 1)];
            if (typeof step === "function") step();
            return step as DescribeImageScanFindingsResponse;
        },
    };
    return { client, requests };
}

function run(refs: string[], client: ScanFindingsClient, flags: Record<string, string> = {}, env: Record<string, string> = {}) {
    let clock = Date.parse("2026-11-23T03:00:00Z");
    const out = new PassThrough();
    const err = new PassThrough();
    const text = { out: "", err: "" };
    out.on("data", (d) => (text.out += d));
    err.on("data", (d) => (text.err += d));
    const slept: number[] = [];
    const code = runScanGate(refs, { maxSeverity: "CRITICAL", allowlist: [] }, flags, {
        out,
        err,
        env,
        client: () => client,
        now: () => new Date(clock),
        sleep: async (ms) => {
            slept.push(ms);
            clock += ms;
        },
    });
    return code.then((c) => ({ code: c, ...text, slept }));
}

describe("ci-images scan-gate", () => {
    it("waits through ScanNotFoundException and PENDING, then blocks on a CRITICAL finding, naming it", async () => {
        const ecr = scriptedEcr([() => { throw scanNotFound(); }, status("PENDING"), status("COMPLETE", [{ name: "CVE-2025-9230", severity: "CRITICAL" }])]);
        const r = await run([REF], ecr.client, { interval: "15s" });
        assert.strictEqual(r.code, 1);
        assert.deepStrictEqual(r.slept, [15000, 15000]);
        assert.match(r.err, /promotion refused by the scan gate: BLOCKED ml-ci\/nightly@sha256:abab.*: 1 finding at or above CRITICAL: CVE-2025-9230 \(CRITICAL in openssl@3\.0\.2\)/);
        assert.deepStrictEqual(ecr.requests[0], { registryId: "123456789012", repositoryName: "ml-ci/nightly", imageId: { imageDigest: DIGEST }, maxResults: 1000, nextToken: undefined });
    });

    it("a clean COMPLETE is read again after the settle time (enhanced findings can arrive after COMPLETE)", async () => {
        const ecr = scriptedEcr([status("COMPLETE"), status("COMPLETE", [{ name: "CVE-2025-0001", severity: "CRITICAL" }])]);
        const r = await run([REF], ecr.client, { settle: "20s" });
        assert.deepStrictEqual(r.slept, [20000]);
        assert.strictEqual(r.code, 1);
        const clean = scriptedEcr([status("COMPLETE")]);
        const ok = await run([REF], clean.client, { settle: "20s" });
        assert.deepStrictEqual([ok.code, clean.requests.length], [0, 2]);
        assert.match(ok.out, /^PASS ml-ci\/nightly@sha256:abab\S*: no finding at or above CRITICAL \(0 below\)/);
    });

    it("--max-severity HIGH overrides the config; FAILED fails closed", async () => {
        assert.strictEqual((await run([REF], scriptedEcr([status("ACTIVE", [{ name: "CVE-2025-0002", severity: "HIGH" }])]).client, { maxSeverity: "high" })).code, 1);
        assert.strictEqual((await run([REF], scriptedEcr([status("ACTIVE", [{ name: "CVE-2025-0002", severity: "HIGH" }])]).client)).code, 0);
        const failed = await run([REF], scriptedEcr([status("FAILED")]).client);
        assert.strictEqual(failed.code, 1);
        assert.match(failed.err, /NO VERDICT .*scan status FAILED .*fail closed/);
    });

    it("times out with no verdict, saying what it last saw", async () => {
        const r = await run([REF], scriptedEcr([status("IN_PROGRESS")]).client, { timeout: "2m", interval: "30s" });
        assert.strictEqual(r.code, 1);
        assert.match(r.err, /NO VERDICT .*scan not finished after 2 min \(last: scan IN_PROGRESS/);
        assert.strictEqual(r.slept.reduce((a, b) => a + b, 0), 120000);
    });

    it("writes the verdicts to $GITHUB_STEP_SUMMARY", async () => {
        const summary = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "mlci-summary-")), "summary.md");
        await run([REF], scriptedEcr([status("COMPLETE", [{ name: "CVE-2025-9230", severity: "CRITICAL" }])]).client, {}, { GITHUB_STEP_SUMMARY: summary });
        const md = fs.readFileSync(summary, "utf8");
        assert.match(md, /### Scan gate \(max severity CRITICAL\)/);
        assert.match(md, /\| block \| CVE-2025-9230 \(CRITICAL\) \|/);
    });

    it("refuses tags and non-ECR references: ECR scans digests", () => {
        assert.throws(() => parseEcrDigestRef("123456789012.dkr.ecr.us-east-1.amazonaws.com/ml-ci/nightly:cuda13.2-py3.12-latest"), /is not an ECR image digest reference/);
        assert.deepStrictEqual(parseEcrDigestRef(REF), { ref: REF, registryId: "123456789012", region: "us-east-1", repositoryName: "ml-ci/nightly", digest: DIGEST });
        assert.deepStrictEqual(["90m", "30s", "1h", "45"].map(parseDuration), [5400000, 30000, 3600000, 45000]);
    });
});

describe("ci-images scan-gate: multi-platform digests", () => {
    const { FakeRegistry, ociManifest, digestOf } = require("./fakeRegistry") as typeof import("./fakeRegistry");
    const { RegistryHttpClient, MEDIA_TYPES } = require("../lib/registry/registryHttp") as typeof import("../lib/registry/registryHttp");
    const HOST = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

    /** An index of an amd64 and an arm64 image plus BuildKit's attestation manifest, as a multi-platform push leaves it. */
    function pushIndex(reg: InstanceType<typeof FakeRegistry>) {
        const amd = reg.push("ml-ci/cpu", ociManifest("cpu-amd64"), []);
        const arm = reg.push("ml-ci/cpu", ociManifest("cpu-arm64"), []);
        const att = reg.push("ml-ci/cpu", ociManifest("attestation"), []);
        const index = {
            schemaVersion: 2,
            mediaType: MEDIA_TYPES.ociIndex,
            manifests: [
                { mediaType: MEDIA_TYPES.ociManifest, digest: amd, size: 1, platform: { os: "linux", architecture: "amd64" } },
                { mediaType: MEDIA_TYPES.ociManifest, digest: arm, size: 1, platform: { os: "linux", architecture: "arm64" } },
                { mediaType: MEDIA_TYPES.ociManifest, digest: att, size: 1, platform: { os: "unknown", architecture: "unknown" }, annotations: { "vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": amd } },
            ],
        };
        const bytes = new TextEncoder().encode(JSON.stringify(index));
        const digest = reg.push("ml-ci/cpu", { mediaType: MEDIA_TYPES.ociIndex, bytes }, ["py3.12-h0123456789ab"]);
        assert.equal(digest, digestOf(bytes));
        return { index: digest, amd, arm, att };
    }

    it("gates each platform manifest of an index (ECR cannot scan an index), never the index or the attestation", async () => {
        const reg = new FakeRegistry();
        const d = pushIndex(reg);
        const asked: string[] = [];
        const client: ScanFindingsClient = {
            async describeImageScanFindings(input) {
                asked.push(input.imageId!.imageDigest!);
                const critical = input.imageId!.imageDigest === d.arm ? [{ name: "CVE-2026-1111", severity: "CRITICAL" as const }] : [];
                return { ...status("COMPLETE", critical), imageId: { imageDigest: input.imageId!.imageDigest } };
            },
        };
        const registry = new RegistryHttpClient({ baseUrl: `https://${HOST}`, fetch: reg.fetch });
        const out = new PassThrough();
        const err = new PassThrough();
        let errText = "";
        err.on("data", (c) => (errText += c));
        out.resume();
        const code = await runScanGate([`${HOST}/ml-ci/cpu@${d.index}`], { maxSeverity: "CRITICAL", allowlist: [] }, { settle: "0s" }, {
            out,
            err,
            env: {},
            client: () => client,
            now: () => new Date("2026-11-23T03:00:00Z"),
            sleep: async () => undefined,
            manifest: (ref) => registry.getManifest(ref.repositoryName, ref.digest),
        });
        assert.equal(code, 1);
        assert.deepEqual([...new Set(asked)].sort(), [d.amd, d.arm].sort(), "the platform images only");
        assert.match(errText, new RegExp(`BLOCKED ml-ci/cpu@${d.arm} \\(linux/arm64 of ${d.index}\\): 1 finding at or above CRITICAL: CVE-2026-1111`));
        assert.doesNotMatch(errText, new RegExp(d.amd), "the clean amd64 image is not among the refusals");
    });

    it("passes an image manifest through unchanged", async () => {
        const reg = new FakeRegistry();
        const single = reg.push("ml-ci/nightly", ociManifest("single"), ["t"]);
        const registry = new RegistryHttpClient({ baseUrl: `https://${HOST}`, fetch: reg.fetch });
        const { imageManifestRefs } = require("../cli/commands/scanGate") as typeof import("../cli/commands/scanGate");
        const ref = parseEcrDigestRef(`${HOST}/ml-ci/nightly@${single}`);
        assert.deepEqual(await imageManifestRefs([ref], (r) => registry.getManifest(r.repositoryName, r.digest)), [ref]);
    });
});
