import * as assert from "assert";
import type { DescribeImageScanFindingsResponse } from "@aws-sdk/client-ecr";
import { decideScan, scanFindings, scanGateProblems, ScanGateSettings } from "../lib/registry/scanGate";

const TODAY = new Date("2026-11-23T10:00:00Z");
const DIGEST = "sha256:2f6c4a1e0b7d9c3a5e8f1b2c4d6e8a0b1c3d5e7f9a2b4c6d8e0f1a3b5c7d9e1f";
const settings = (over: Partial<ScanGateSettings> = {}): ScanGateSettings => ({ maxSeverity: "CRITICAL", allowlist: [], ...over });

// Typed as the SDK's response, so a field name that ECR does not send fails to compile.
/** BASIC scanning, the shape of the AWS CLI reference example for describe-image-scan-findings. */
function basic(findings: { name: string; severity: "CRITICAL" | "HIGH" | "MEDIUM" | "LOW" | "INFORMATIONAL" | "UNDEFINED"; pkg: string; version: string }[]): DescribeImageScanFindingsResponse {
    const counts: Record<string, number> = {};
    for (const f of findings) counts[f.severity] = (counts[f.severity] ?? 0) + 1;
    return {
        registryId: "123456789012",
        repositoryName: "ml-ci/nightly",
        imageId: { imageDigest: DIGEST, imageTag: "cuda13.2-py3.12-h2f6c4a1e0b7d" },
        imageScanStatus: { status: "COMPLETE", description: "The scan was completed successfully." },
        imageScanFindings: {
            imageScanCompletedAt: new Date("2026-11-23T02:41:07Z"),
            vulnerabilitySourceUpdatedAt: new Date("2026-11-22T18:03:12Z"),
            findingSeverityCounts: counts,
            findings: findings.map((f) => ({
                name: f.name,
                description: `${f.pkg} vulnerability`,
                uri: `https://ubuntu.com/security/${f.name}`,
                severity: f.severity,
                attributes: [
                    { key: "package_version", value: f.version },
                    { key: "package_name", value: f.pkg },
                    { key: "CVSS3_SCORE", value: "9.8" },
                ],
            })),
        },
    };
}

/** ENHANCED scanning (Amazon Inspector): findings under enhancedFindings with packageVulnerabilityDetails. */
function enhanced(findings: { id: string; severity: string; pkg: string; version: string }[], status = "ACTIVE"): DescribeImageScanFindingsResponse {
    return {
        registryId: "123456789012",
        repositoryName: "ml-ci/stable",
        imageId: { imageDigest: DIGEST },
        imageScanStatus: { status: status as "ACTIVE", description: "Continuous scan is selected for image." },
        imageScanFindings: {
            imageScanCompletedAt: new Date("2026-11-23T02:44:51Z"),
            vulnerabilitySourceUpdatedAt: new Date("2026-11-23T02:44:51Z"),
            findingSeverityCounts: { HIGH: 1 },
            enhancedFindings: findings.map((f, i) => ({
                awsAccountId: "123456789012",
                description: `${f.pkg} vulnerability`,
                findingArn: `arn:aws:inspector2:us-east-1:123456789012:finding/${i}f3c2a1b`,
                firstObservedAt: new Date("2026-11-23T02:44:51Z"),
                lastObservedAt: new Date("2026-11-23T02:44:51Z"),
                packageVulnerabilityDetails: {
                    cvss: [{ baseScore: 7.5, scoringVector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", source: "NVD", version: "3.1" }],
                    referenceUrls: [`https://nvd.nist.gov/vuln/detail/${f.id}`],
                    source: "NVD",
                    sourceUrl: `https://nvd.nist.gov/vuln/detail/${f.id}`,
                    vendorSeverity: f.severity,
                    vulnerabilityId: f.id,
                    vulnerablePackages: [{ arch: "X86_64", epoch: 0, name: f.pkg, packageManager: "PYTHONPKG", version: f.version, fixedInVersion: "NotAvailable" }],
                },
                remediation: { recommendation: { text: "None Provided" } },
                resources: [],
                score: 7.5,
                severity: f.severity,
                status: "ACTIVE",
                title: `${f.id} - ${f.pkg}`,
                type: "PACKAGE_VULNERABILITY",
                updatedAt: new Date("2026-11-23T02:44:51Z"),
                fixAvailable: "NO",
                exploitAvailable: "NO",
            })),
        },
    };
}

describe("scan gate: findings at or above maxSeverity block promotion, named", () => {
    it("a CRITICAL basic finding blocks at the default threshold; the error names the CVE and the package", () => {
        const d = decideScan([basic([{ name: "CVE-2024-3094", severity: "CRITICAL", pkg: "xz-utils", version: "5.6.0-0.2" }, { name: "CVE-2019-5188", severity: "MEDIUM", pkg: "e2fsprogs", version: "1.44.1" }])], settings(), TODAY);
        assert.strictEqual(d.verdict, "block");
        assert.deepStrictEqual(d.blocking.map((f) => f.id), ["CVE-2024-3094"]);
        assert.strictEqual(d.below, 1);
        assert.strictEqual(d.message, "1 finding at or above CRITICAL: CVE-2024-3094 (CRITICAL in xz-utils@5.6.0-0.2)");
    });

    it("maxSeverity HIGH blocks HIGH and CRITICAL, most severe first", () => {
        const d = decideScan([basic([{ name: "CVE-2025-0002", severity: "HIGH", pkg: "openssl", version: "3.0.2" }, { name: "CVE-2025-0001", severity: "CRITICAL", pkg: "zlib", version: "1.2.11" }, { name: "CVE-2025-0003", severity: "LOW", pkg: "tar", version: "1.34" }])], settings({ maxSeverity: "HIGH" }), TODAY);
        assert.deepStrictEqual(d.blocking.map((f) => `${f.id}:${f.severity}`), ["CVE-2025-0001:CRITICAL", "CVE-2025-0002:HIGH"]);
    });

    it("enhanced findings are read from packageVulnerabilityDetails, and ACTIVE (continuous scanning) carries a verdict", () => {
        const d = decideScan([enhanced([{ id: "CVE-2025-32434", severity: "CRITICAL", pkg: "torch", version: "2.5.1" }, { id: "CVE-2024-6345", severity: "HIGH", pkg: "setuptools", version: "69.5.1" }])], settings(), TODAY);
        assert.strictEqual(d.status, "ACTIVE");
        assert.strictEqual(d.verdict, "block");
        assert.deepStrictEqual(d.blocking.map((f) => [f.id, f.packages, f.source]), [["CVE-2025-32434", ["torch@2.5.1"], "enhanced"]]);
    });

    it("findings spread over several pages (nextToken) are all counted, one entry per CVE", () => {
        const p1 = { ...basic([{ name: "CVE-2025-1000", severity: "LOW", pkg: "a", version: "1" }]), nextToken: "page-2" };
        const p2 = basic([{ name: "CVE-2025-1001", severity: "CRITICAL", pkg: "b", version: "2" }, { name: "CVE-2025-1000", severity: "LOW", pkg: "c", version: "3" }]);
        assert.deepStrictEqual(scanFindings([p1, p2]).map((f) => [f.id, f.packages]), [["CVE-2025-1000", ["a@1", "c@3"]], ["CVE-2025-1001", ["b@2"]]]);
        assert.strictEqual(decideScan([p1, p2], settings(), TODAY).verdict, "block");
    });

    it("a clean image passes, and UNDEFINED/UNTRIAGED severities rank lowest", () => {
        const d = decideScan([enhanced([{ id: "CVE-2025-2000", severity: "UNTRIAGED", pkg: "x", version: "1" }], "COMPLETE")], settings({ maxSeverity: "LOW" }), TODAY);
        assert.strictEqual(d.verdict, "pass");
        assert.strictEqual(d.message, "no finding at or above LOW (1 below)");
    });
});

describe("scan gate: the allowlist", () => {
    const xz = basic([{ name: "CVE-2024-3094", severity: "CRITICAL", pkg: "xz-utils", version: "5.6.0-0.2" }]);

    it("an unexpired entry lets its CVE through and the decision says why and until when", () => {
        const d = decideScan([xz], settings({ allowlist: [{ id: "CVE-2024-3094", reason: "sshd not installed", expires: "2026-11-23" }] }), TODAY);
        assert.strictEqual(d.verdict, "pass");
        assert.strictEqual(d.message, "no finding at or above CRITICAL (0 below); allowlisted: CVE-2024-3094 (until 2026-11-23: sshd not installed)");
    });

    it("an expired entry no longer applies, and is a config problem with a fix", () => {
        const allowlist = [{ id: "CVE-2024-3094", reason: "sshd not installed", expires: "2026-11-22" }];
        assert.strictEqual(decideScan([xz], settings({ allowlist }), TODAY).verdict, "block");
        const problems = scanGateProblems(settings({ allowlist }), TODAY);
        assert.deepStrictEqual(problems.map((p) => p.path), ["promotion.allowlist[0].expires"]);
        assert.match(problems[0].message, /the exception for CVE-2024-3094 expired on 2026-11-22/);
        assert.match(problems[0].fix!, /remove the entry/);
    });

    it("malformed ids, duplicates, empty reasons and non-dates are config problems", () => {
        const problems = scanGateProblems(
            settings({
                allowlist: [
                    { id: "cve 2024", reason: "x", expires: "2027-01-01" },
                    { id: "CVE-2024-1", reason: " ", expires: "2027-01-01" },
                    { id: "CVE-2024-1", reason: "y", expires: "next year" },
                ],
            }),
            TODAY,
        );
        assert.deepStrictEqual(problems.map((p) => p.path), ["promotion.allowlist[0].id", "promotion.allowlist[1].reason", "promotion.allowlist[2].id", "promotion.allowlist[2].expires"]);
    });
});

describe("scan gate: scan status", () => {
    it("PENDING and IN_PROGRESS wait; no response status waits", () => {
        for (const status of ["PENDING", "IN_PROGRESS"] as const) {
            const page: DescribeImageScanFindingsResponse = { imageScanStatus: { status, description: "Pending start of the image scan." }, imageScanFindings: { findings: [], enhancedFindings: [] } };
            assert.strictEqual(decideScan([page], settings(), TODAY).verdict, "wait");
        }
        assert.strictEqual(decideScan([{}], settings(), TODAY).verdict, "wait");
    });

    it("FAILED, UNSUPPORTED_IMAGE, FINDINGS_UNAVAILABLE, SCAN_ELIGIBILITY_EXPIRED, LIMIT_EXCEEDED fail closed", () => {
        for (const status of ["FAILED", "UNSUPPORTED_IMAGE", "FINDINGS_UNAVAILABLE", "SCAN_ELIGIBILITY_EXPIRED", "LIMIT_EXCEEDED"] as const) {
            const d = decideScan([{ imageScanStatus: { status, description: "UnsupportedImageError: The operating system and/or package manager are not supported." } }], settings(), TODAY);
            assert.strictEqual(d.verdict, "no-verdict", status);
            assert.match(d.message, new RegExp(`scan status ${status} .*fail closed`));
        }
    });
});
