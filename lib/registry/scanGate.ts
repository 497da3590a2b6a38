/**
 * The vulnerability gate of promotion: from ECR's DescribeImageScanFindings responses (basic
 * `findings[]` and enhanced `enhancedFindings[]`), decide whether a digest may be promoted
 * (`-latest`, marker, GitHub variables), must wait for its scan, or is blocked — naming the CVEs.
 * Also the config problems of the allowlist (`mlci:promotion`). Pure: no AWS calls, no clock
 * (callers pass `today`); the waiting loop with its timeout lives in `ci-images scan-gate`.
 *
 * Status handling follows FACTS §8: the SDK waiter only succeeds on COMPLETE and retries forever
 * on ACTIVE (continuous scanning), so the gate reads the status itself: COMPLETE and ACTIVE carry
 * a verdict, PENDING/IN_PROGRESS (and ScanNotFoundException, handled by the caller) mean wait, and
 * every other status fails closed.
 */
import type { DescribeImageScanFindingsResponse } from "@aws-sdk/client-ecr";
import type { ConfigProblem } from "../config/problems";

/** ECR's FindingSeverity values, lowest first (UNDEFINED and any unknown enhanced severity rank lowest). */
export const SEVERITIES = ["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"] as const;
export type Severity = (typeof SEVERITIES)[number];

/** One allowlisted vulnerability (`mlci:promotion.allowlist[]`). */
export interface AllowlistEntry {
    /** Vulnerability id as ECR reports it, e.g. `CVE-2024-3094`. */
    id: string;
    /** Why promoting an image with it is acceptable. */
    reason: string;
    /** Last day (YYYY-MM-DD, UTC) the entry applies; after it the entry is a config problem. */
    expires: string;
}

/** Gate settings (`mlci:promotion`). */
export interface ScanGateSettings {
    /** Findings at or above this severity block promotion (the config's default is CRITICAL). */
    maxSeverity: Severity;
    /** Vulnerabilities that never block while their entry has not expired. */
    allowlist: AllowlistEntry[];
}

/** One vulnerability of the scanned image. */
export interface ScanFinding {
    /** `CVE-…` (basic: `findings[].name`; enhanced: `packageVulnerabilityDetails.vulnerabilityId`). */
    id: string;
    /** ECR's severity string as reported (enhanced scanning may report `UNTRIAGED`). */
    severity: string;
    /** Affected package(s) `name@version`, when reported. */
    packages: string[];
    source: "basic" | "enhanced";
}

/** The verdict on one digest. */
export type ScanVerdict = "pass" | "block" | "wait" | "no-verdict";

/** What the gate decided and why. */
export interface ScanDecision {
    verdict: ScanVerdict;
    /** `imageScanStatus.status`, or undefined when the response had none. */
    status?: string;
    /** Findings at or above `maxSeverity`, not allowlisted: these block promotion. */
    blocking: ScanFinding[];
    /** Findings at or above `maxSeverity` that an unexpired allowlist entry lets through. */
    allowed: (ScanFinding & { reason: string; expires: string })[];
    /** Number of findings below `maxSeverity`. */
    below: number;
    /** One line for the CLI, the promotion error and the job summary. */
    message: string;
}

const WAIT_STATUSES = new Set(["PENDING", "IN_PROGRESS"]);
const VERDICT_STATUSES = new Set(["COMPLETE", "ACTIVE"]);

/** Rank of a severity string; anything ECR reports outside {@link SEVERITIES} (UNDEFINED, UNTRIAGED) ranks as INFORMATIONAL. */
export function severityRank(severity: string): number {
    return Math.max(0, SEVERITIES.indexOf(severity as Severity));
}

/** Every finding of one or more response pages (basic and enhanced), one entry per vulnerability id (highest severity kept). */
export function scanFindings(pages: DescribeImageScanFindingsResponse[]): ScanFinding[] {
    const byId = new Map<string, ScanFinding>();
    const add = (f: ScanFinding) => {
        const prev = byId.get(f.id);
        if (prev === undefined) byId.set(f.id, f);
        else {
            const packages = [...new Set([...prev.packages, ...f.packages])];
            byId.set(f.id, severityRank(f.severity) > severityRank(prev.severity) ? { ...f, packages } : { ...prev, packages });
        }
    };
    for (const page of pages) {
        for (const f of page.imageScanFindings?.findings ?? []) {
            const attr = (k: string) => f.attributes?.find((a) => a.key === k)?.value;
            const pkg = attr("package_name");
            add({ id: f.name ?? "(unnamed finding)", severity: f.severity ?? "UNDEFINED", packages: pkg ? [`${pkg}${attr("package_version") ? `@${attr("package_version")}` : ""}`] : [], source: "basic" });
        }
        for (const f of page.imageScanFindings?.enhancedFindings ?? []) {
            const details = f.packageVulnerabilityDetails;
            add({
                id: details?.vulnerabilityId ?? f.title ?? f.findingArn ?? "(unnamed finding)",
                severity: f.severity ?? "UNDEFINED",
                packages: (details?.vulnerablePackages ?? []).map((p) => `${p.name}${p.version ? `@${p.version}` : ""}`),
                source: "enhanced",
            });
        }
    }
    return [...byId.values()];
}

/** True when the allowlist entry still applies on `today` (its expiry day included). */
export function allowlistActive(entry: Pick<AllowlistEntry, "expires">, today: Date): boolean {
    return today.toISOString().slice(0, 10) <= entry.expires;
}

function describe(f: ScanFinding): string {
    return `${f.id} (${f.severity}${f.packages.length > 0 ? ` in ${f.packages.join(", ")}` : ""})`;
}

/**
 * Decides one digest from its DescribeImageScanFindings response pages (pass them all: findings
 * are paginated). Blocking findings are sorted by severity, then id, so the message is stable.
 */
export function decideScan(pages: DescribeImageScanFindingsResponse[], settings: ScanGateSettings, today: Date): ScanDecision {
    const status = pages[0]?.imageScanStatus?.status;
    const description = pages[0]?.imageScanStatus?.description;
    const empty = { blocking: [], allowed: [], below: 0 };
    if (status === undefined || WAIT_STATUSES.has(status)) return { verdict: "wait", status, ...empty, message: `scan ${status ?? "not started"}${description ? `: ${description}` : ""}` };
    if (!VERDICT_STATUSES.has(status)) {
        return { verdict: "no-verdict", status, ...empty, message: `scan status ${status}${description ? ` (${description})` : ""}: no verdict, promotion refused (fail closed)` };
    }
    const threshold = SEVERITIES.indexOf(settings.maxSeverity);
    const active = new Map(settings.allowlist.filter((e) => allowlistActive(e, today)).map((e) => [e.id, e]));
    const decision: ScanDecision = { verdict: "pass", status, blocking: [], allowed: [], below: 0, message: "" };
    for (const f of scanFindings(pages)) {
        if (severityRank(f.severity) < threshold) decision.below += 1;
        else if (active.has(f.id)) decision.allowed.push({ ...f, reason: active.get(f.id)!.reason, expires: active.get(f.id)!.expires });
        else decision.blocking.push(f);
    }
    decision.blocking.sort((a, b) => severityRank(b.severity) - severityRank(a.severity) || a.id.localeCompare(b.id));
    const allowedNote = decision.allowed.length > 0 ? `; allowlisted: ${decision.allowed.map((a) => `${a.id} (until ${a.expires}: ${a.reason})`).join(", ")}` : "";
    if (decision.blocking.length > 0) {
        decision.verdict = "block";
        decision.message = `${decision.blocking.length} finding${decision.blocking.length === 1 ? "" : "s"} at or above ${settings.maxSeverity}: ${decision.blocking.map(describe).join(", ")}${allowedNote}`;
    } else {
        decision.message = `no finding at or above ${settings.maxSeverity} (${decision.below} below)${allowedNote}`;
    }
    return decision;
}

const ID = /^[A-Z][A-Z0-9]*-[A-Za-z0-9][A-Za-z0-9._:-]*$/;

/** Config problems of `mlci:promotion`: malformed or duplicate ids, empty reasons, bad dates, and expired entries. */
export function scanGateProblems(settings: ScanGateSettings, today: Date): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    const seen = new Map<string, number>();
    settings.allowlist.forEach((e, i) => {
        const at = `promotion.allowlist[${i}]`;
        if (!ID.test(e.id)) problems.push({ path: `${at}.id`, message: `"${e.id}" is not a vulnerability id as ECR reports it`, fix: 'use the id from the scan findings, e.g. "CVE-2024-3094"' });
        if (seen.has(e.id)) problems.push({ path: `${at}.id`, message: `"${e.id}" is already allowlisted by promotion.allowlist[${seen.get(e.id)}]`, fix: "keep one entry per id" });
        else seen.set(e.id, i);
        if (e.reason.trim().length === 0) problems.push({ path: `${at}.reason`, message: "is empty", fix: "say why promoting images with this vulnerability is acceptable (e.g. the vulnerable code path is not reachable)" });
        if (!/^\d{4}-\d{2}-\d{2}$/.test(e.expires) || Number.isNaN(Date.parse(`${e.expires}T00:00:00Z`))) {
            problems.push({ path: `${at}.expires`, message: `"${e.expires}" is not a date`, fix: 'write the last day the exception applies, e.g. "2027-01-31"' });
        } else if (!allowlistActive(e, today)) {
            problems.push({
                path: `${at}.expires`,
                message: `the exception for ${e.id} expired on ${e.expires}`,
                fix: `rebuild so the fixed package is picked up and remove the entry, or, if the reason still holds, review it and set a new expiry date`,
            });
        }
    });
    return problems;
}

/** One rule of the account's registry scanning configuration (ECR API `RegistryScanningRule`). */
export interface RegistryScanningRule {
    scanFrequency?: string;
    repositoryFilters?: { filter?: string; filterType?: string }[];
}

/**
 * The scan frequency a repository gets from the account-wide scanning configuration: the highest of the rules whose
 * WILDCARD filter matches its name (CONTINUOUS_SCAN over SCAN_ON_PUSH), else MANUAL. "Any repositories that don't match
 * a scan on push filter are set to the manual scan frequency" (ECR User Guide, scanning filters): the repository's own
 * scanOnPush does not count.
 */
export function effectiveScanFrequency(rules: readonly RegistryScanningRule[], repositoryName: string): "CONTINUOUS_SCAN" | "SCAN_ON_PUSH" | "MANUAL" {
    const matches = (f: { filter?: string; filterType?: string }) =>
        (f.filterType ?? "WILDCARD") === "WILDCARD" && new RegExp(`^${(f.filter ?? "").split("*").map((p) => p.replace(/[.+?^${}()|[\]\\/]/g, "\\$&")).join(".*")}$`).test(repositoryName);
    const frequencies = rules.filter((r) => (r.repositoryFilters ?? []).some(matches)).map((r) => r.scanFrequency);
    if (frequencies.includes("CONTINUOUS_SCAN")) return "CONTINUOUS_SCAN";
    if (frequencies.includes("SCAN_ON_PUSH")) return "SCAN_ON_PUSH";
    return "MANUAL";
}
