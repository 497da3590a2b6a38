/**
 * `ci-images scan-gate <repository-url>@<digest>… [--stack S] [--max-severity X] [--timeout 30m]
 * [--interval 15s] [--json]`: waits for ECR's scan of each digest and decides promotion with
 * lib/registry/scanGate.ts. Exit 0 = every digest passes; 1 = blocked, no verdict, or timed out
 * (the message names the CVEs); 2 = usage. Run by the promotion Command before any retag.
 *
 * The wait is its own loop, not the SDK's `waitUntilImageScanComplete` (FACTS §8): that waiter
 * never succeeds under continuous scanning (status ACTIVE) and retries on ScanNotFoundException
 * until its own timeout. With enhanced scanning a COMPLETE status can come before the findings,
 * so a clean COMPLETE is read once more after `settle` before it passes.
 * Appends a section to $GITHUB_STEP_SUMMARY when set (the weekly job's summary).
 */
import * as fs from "fs";
import { CliError, CommandContext, UsageError } from "../context";
import type { DescribeImageScanFindingsRequest, DescribeImageScanFindingsResponse } from "@aws-sdk/client-ecr";
import { decideScan, effectiveScanFrequency, RegistryScanningRule, ScanDecision, ScanGateSettings, SEVERITIES, Severity } from "../../lib/registry/scanGate";

/** The one ECR call the gate makes (injected in tests). */
export interface ScanFindingsClient {
    describeImageScanFindings(input: DescribeImageScanFindingsRequest): Promise<DescribeImageScanFindingsResponse>;
    /** GetRegistryScanningConfiguration's rules (ecr:GetRegistryScanningConfiguration). @default unknown: no scan is started */
    registryScanningRules?(): Promise<RegistryScanningRule[]>;
    /** StartImageScan of one digest (ecr:StartImageScan). @default never started */
    startImageScan?(input: { registryId: string; repositoryName: string; imageId: { imageDigest: string } }): Promise<unknown>;
}

/** An ECR image reference taken apart. */
export interface EcrDigestRef {
    ref: string;
    registryId: string;
    region: string;
    repositoryName: string;
    digest: string;
    /** For an image manifest taken from an index: its platform and the index's digest. */
    fromIndex?: { index: string; platform: string };
}

/** Media types of an image index (OCI) or manifest list (Docker). */
const INDEX_MEDIA_TYPES = new Set(["application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"]);

/**
 * ECR scans image manifests, never an index ("An artifact with media type
 * 'application/vnd.oci.image.index.v1+json' cannot be scanned"; aws/containers-roadmap#1683): a
 * multi-platform build's digest is an index. Each index is replaced by its platform manifests
 * (BuildKit's attestation manifests, annotated `vnd.docker.reference.type`, are not images and are
 * skipped), so the gate asks ECR about what ECR scans.
 */
export async function imageManifestRefs(refs: EcrDigestRef[], getManifest: (ref: EcrDigestRef) => Promise<{ mediaType: string; bytes: Uint8Array } | undefined>): Promise<EcrDigestRef[]> {
    const out: EcrDigestRef[] = [];
    for (const ref of refs) {
        const manifest = await getManifest(ref);
        const json = manifest ? (JSON.parse(Buffer.from(manifest.bytes).toString("utf8")) as { mediaType?: string; manifests?: { digest: string; platform?: { os?: string; architecture?: string; variant?: string }; annotations?: Record<string, string> }[] }) : undefined;
        if (!manifest || !json || !(INDEX_MEDIA_TYPES.has(manifest.mediaType) || INDEX_MEDIA_TYPES.has(json.mediaType ?? "") || Array.isArray(json.manifests))) {
            out.push(ref);
            continue;
        }
        const images = (json.manifests ?? []).filter((m) => m.annotations?.["vnd.docker.reference.type"] === undefined);
        if (images.length === 0) throw new Error(`${ref.ref} is an index with no image manifest to scan`);
        for (const m of images) {
            const platform = [m.platform?.os, m.platform?.architecture, m.platform?.variant].filter(Boolean).join("/") || "unknown";
            out.push({ ...ref, ref: ref.ref.replace(/@sha256:[0-9a-f]{64}$/, `@${m.digest}`), digest: m.digest, fromIndex: { index: ref.digest, platform } });
        }
    }
    return out;
}

const ECR_REF = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([a-z0-9._\/-]+)@(sha256:[0-9a-f]{64})$/;

/** Parses `<account>.dkr.ecr.<region>.amazonaws.com/<repository>@sha256:<hex>`; throws a usage message otherwise. */
export function parseEcrDigestRef(ref: string): EcrDigestRef {
    const m = ECR_REF.exec(ref);
    if (!m) throw new Error(`"${ref}" is not an ECR image digest reference <account>.dkr.ecr.<region>.amazonaws.com/<repository>@sha256:<64 hex> (ECR scans digests, not tags)`);
    return { ref, registryId: m[1], region: m[2], repositoryName: m[3], digest: m[4] };
}

/** Parses `90m`, `30s`, `1h`, or plain seconds, into milliseconds. */
export function parseDuration(text: string): number {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
    if (!m) throw new Error(`"${text}" is not a duration like 30m, 15s or 1h`);
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? "s") as "ms" | "s" | "m" | "h"];
    return Number(m[1]) * unit;
}

/** Options of {@link gateDigest}. */
export interface GateOptions {
    settings: ScanGateSettings;
    timeoutMs: number;
    intervalMs: number;
    /** Second read of a clean COMPLETE after this long (0 = trust the first read). */
    settleMs: number;
    now: () => Date;
    sleep: (ms: number) => Promise<void>;
}

/** The gate's final word on one digest. */
export interface GateResult extends EcrDigestRef {
    decision: ScanDecision;
    /** True when the scan never reached a verdict before the timeout. */
    timedOut: boolean;
}

function isScanNotFound(e: unknown): boolean {
    return (e as { name?: string })?.name === "ScanNotFoundException";
}

async function readAllPages(client: ScanFindingsClient, ref: EcrDigestRef): Promise<DescribeImageScanFindingsResponse[]> {
    const pages: DescribeImageScanFindingsResponse[] = [];
    let nextToken: string | undefined;
    do {
        const page = await client.describeImageScanFindings({ registryId: ref.registryId, repositoryName: ref.repositoryName, imageId: { imageDigest: ref.digest }, maxResults: 1000, nextToken });
        pages.push(page);
        nextToken = page.nextToken ?? undefined;
    } while (nextToken !== undefined);
    return pages;
}

/**
 * Defence in depth for #27 seam 2: a digest without a scan in a repository whose EFFECTIVE frequency (the account-wide
 * filters) is MANUAL would never be scanned, so the gate starts the scan once. An unreadable configuration, or a
 * refused StartImageScan, leaves the gate waiting (it fails closed at its timeout), with the reason in its message.
 */
async function startScanIfManual(client: ScanFindingsClient, ref: EcrDigestRef): Promise<string> {
    if (client.registryScanningRules === undefined || client.startImageScan === undefined) return "";
    let rules: RegistryScanningRule[];
    try {
        rules = await client.registryScanningRules();
    } catch (e) {
        return `; the registry scanning configuration is unreadable (${(e as Error).message}), so no scan was started`;
    }
    const frequency = effectiveScanFrequency(rules, ref.repositoryName);
    if (frequency !== "MANUAL") return "";
    try {
        await client.startImageScan({ registryId: ref.registryId, repositoryName: ref.repositoryName, imageId: { imageDigest: ref.digest } });
        return `; ${ref.repositoryName} matches no scan-on-push filter (manual), so the gate started its scan`;
    } catch (e) {
        return `; ${ref.repositoryName} matches no scan-on-push filter (manual) and StartImageScan failed: ${(e as Error).message}`;
    }
}

/** Polls one digest's findings until a verdict or the timeout. */
export async function gateDigest(client: ScanFindingsClient, ref: EcrDigestRef, opts: GateOptions): Promise<GateResult> {
    const deadline = opts.now().getTime() + opts.timeoutMs;
    let settled = opts.settleMs <= 0;
    let last: ScanDecision = { verdict: "wait", blocking: [], allowed: [], below: 0, message: "no scan yet" };
    let started: string | undefined;
    for (;;) {
        let pages: DescribeImageScanFindingsResponse[] | undefined;
        try {
            pages = await readAllPages(client, ref);
        } catch (e) {
            if (!isScanNotFound(e)) throw e;
            started ??= await startScanIfManual(client, ref);
            last = { verdict: "wait", blocking: [], allowed: [], below: 0, message: `no scan yet (ScanNotFoundException)${started}` };
        }
        if (pages !== undefined) {
            last = decideScan(pages, opts.settings, opts.now());
            const clean = last.verdict === "pass" && last.blocking.length === 0 && last.allowed.length === 0 && last.below === 0;
            if (last.verdict !== "wait" && !(clean && !settled)) return { ...ref, decision: last, timedOut: false };
            if (clean) settled = true;
        }
        const wait = pages !== undefined && last.verdict === "pass" ? opts.settleMs : opts.intervalMs;
        if (opts.now().getTime() + wait > deadline) {
            if (last.verdict === "pass") return { ...ref, decision: last, timedOut: false };
            return { ...ref, decision: { ...last, verdict: "no-verdict", message: `scan not finished after ${Math.round(opts.timeoutMs / 60000)} min (last: ${last.message})` }, timedOut: true };
        }
        await opts.sleep(wait);
    }
}

/** One line per digest, as the promotion Command's error and the job summary show it. */
export function gateReport(results: GateResult[]): string {
    return results
        .map((r) => {
            const label = r.decision.verdict === "pass" ? "PASS" : r.decision.verdict === "block" ? "BLOCKED" : "NO VERDICT";
            return `${label} ${r.repositoryName}@${r.digest}${r.fromIndex ? ` (${r.fromIndex.platform} of ${r.fromIndex.index})` : ""}: ${r.decision.message}`;
        })
        .join("\n");
}

/** Markdown for $GITHUB_STEP_SUMMARY. */
export function gateSummaryMarkdown(results: GateResult[], settings: ScanGateSettings): string {
    const rows = results.map((r) => `| \`${r.repositoryName}@${r.digest.slice(0, 19)}…\` | ${r.decision.verdict} | ${r.decision.blocking.map((f) => `${f.id} (${f.severity})`).join(", ") || "—"} |`);
    return [`### Scan gate (max severity ${settings.maxSeverity})`, "", "| image | verdict | blocking findings |", "|---|---|---|", ...rows, ""].join("\n");
}

/** The real client: @aws-sdk/client-ecr, loaded only when the command runs (CLI start-up stays small). */
export function ecrScanFindingsClient(region: string): ScanFindingsClient {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const sdk = require("@aws-sdk/client-ecr") as typeof import("@aws-sdk/client-ecr");
    const client = new sdk.ECRClient({ region });
    return {
        describeImageScanFindings: (input) => client.send(new sdk.DescribeImageScanFindingsCommand(input)),
        registryScanningRules: async () => (await client.send(new sdk.GetRegistryScanningConfigurationCommand({}))).scanningConfiguration?.rules ?? [],
        startImageScan: (input) => client.send(new sdk.StartImageScanCommand(input)),
    };
}

/** Flags of `ci-images scan-gate`. */
export interface ScanGateFlags {
    maxSeverity?: string;
    timeout?: string;
    interval?: string;
    settle?: string;
    json?: boolean;
}

/**
 * `ci-images scan-gate`: `settings` come from the stack's `mlci:promotion` (or the defaults) with
 * `--max-severity` overriding. Returns the exit code.
 */
export async function runScanGate(
    refs: string[],
    settings: ScanGateSettings,
    flags: ScanGateFlags,
    io: {
        out: NodeJS.WritableStream;
        err: NodeJS.WritableStream;
        env: Record<string, string | undefined>;
        client?: (region: string) => ScanFindingsClient;
        now?: () => Date;
        sleep?: (ms: number) => Promise<void>;
        /** Reads a digest's manifest from the registry, to replace an index by its platform manifests. @default no expansion */
        manifest?: (ref: EcrDigestRef) => Promise<{ mediaType: string; bytes: Uint8Array } | undefined>;
    },
): Promise<number> {
    if (refs.length === 0) throw new Error("scan-gate needs at least one <repository-url>@<digest>");
    const parsed = refs.map(parseEcrDigestRef);
    if (flags.maxSeverity !== undefined) {
        const s = flags.maxSeverity.toUpperCase();
        if (!(SEVERITIES as readonly string[]).includes(s)) throw new Error(`--max-severity must be one of ${SEVERITIES.join(", ")}, got ${flags.maxSeverity}`);
        settings = { ...settings, maxSeverity: s as Severity };
    }
    const opts: GateOptions = {
        settings,
        timeoutMs: parseDuration(flags.timeout ?? "30m"),
        intervalMs: parseDuration(flags.interval ?? "15s"),
        settleMs: parseDuration(flags.settle ?? "20s"),
        now: io.now ?? (() => new Date()),
        sleep: io.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
    };
    const clients = new Map<string, ScanFindingsClient>();
    const clientFor = (region: string) => {
        if (!clients.has(region)) clients.set(region, (io.client ?? ecrScanFindingsClient)(region));
        return clients.get(region)!;
    };
    const images = io.manifest ? await imageManifestRefs(parsed, io.manifest) : parsed;
    const results = await Promise.all(images.map((ref) => gateDigest(clientFor(ref.region), ref, opts)));
    const failed = results.filter((r) => r.decision.verdict !== "pass");
    if (io.env.GITHUB_STEP_SUMMARY) fs.appendFileSync(io.env.GITHUB_STEP_SUMMARY, gateSummaryMarkdown(results, settings));
    if (flags.json) io.out.write(`${JSON.stringify({ maxSeverity: settings.maxSeverity, results: results.map((r) => ({ ref: r.ref, timedOut: r.timedOut, ...r.decision })) }, null, 2)}\n`);
    else io.out.write(`${gateReport(results)}\n`);
    if (failed.length > 0) {
        io.err.write(`ci-images: promotion refused by the scan gate: ${gateReport(failed).replace(/\n/g, "; ")}\n`);
        return 1;
    }
    return 0;
}

/**
 * Reads manifests from the ECR registry of a ref over the registry API, logged in with
 * MLCI_REGISTRY_AUTH (what the promotion Command passes) or an ECR token (needs ecr:BatchGetImage).
 */
function registryManifestReader(ctx: CommandContext): (ref: EcrDigestRef) => Promise<{ mediaType: string; bytes: Uint8Array } | undefined> {
    const { RegistryHttpClient, basicAuthorization } = require("../../lib/registry/registryHttp") as typeof import("../../lib/registry/registryHttp");
    const clients = new Map<string, Promise<InstanceType<typeof RegistryHttpClient>>>();
    const clientFor = (ref: EcrDigestRef) => {
        const host = ref.ref.slice(0, ref.ref.indexOf("/"));
        if (!clients.has(host)) {
            clients.set(
                host,
                (async () => {
                    let auth = ctx.env.MLCI_REGISTRY_AUTH;
                    if (!auth) {
                        const token = await ctx.services.ecrAuthorization(ref.region);
                        auth = `${token.user}:${token.password}`;
                    }
                    const colon = auth.indexOf(":");
                    return new RegistryHttpClient({ baseUrl: `https://${host}`, fetch: ctx.services.fetch, authorization: basicAuthorization(auth.slice(0, colon), auth.slice(colon + 1)) });
                })(),
            );
        }
        return clients.get(host)!;
    };
    return async (ref) => {
        try {
            return await (await clientFor(ref)).getManifest(ref.repositoryName, ref.digest);
        } catch (e) {
            throw new CliError(`reading ${ref.ref} from the registry failed: ${(e as Error).message}. Fix: the caller needs ecr:BatchGetImage on ${ref.repositoryName} (the pipeline role has it); the gate fails closed`);
        }
    };
}

/** `ci-images scan-gate`: the allowlist and threshold from the stack's mlci:promotion (validated as the program does), defaults without a stack. */
export async function run(ctx: CommandContext): Promise<number> {
    const named = ctx.flag("stack") ?? ctx.env.PULUMI_STACK;
    const { readStackConfigFile } = require("../../lib/stackPlan") as typeof import("../../lib/stackPlan");
    const { SECTION_SCHEMAS } = require("../../lib/config/schema") as typeof import("../../lib/config/schema");
    const raw = named !== undefined ? (readStackConfigFile(ctx.root(), named).promotion ?? {}) : {};
    const parsed = SECTION_SCHEMAS.promotion.safeParse(raw);
    if (!parsed.success) throw new CliError(`mlci:promotion of stack ${named} is invalid: ${parsed.error.issues.map((i) => i.message).join("; ")}. Fix: run ci-images check --stack ${named}`);
    try {
        return await runScanGate(
            ctx.positional,
            parsed.data,
            { maxSeverity: ctx.flag("max-severity"), timeout: ctx.flag("timeout"), interval: ctx.flag("interval"), settle: ctx.flag("settle"), json: ctx.json },
            { out: ctx.out, err: ctx.err, env: ctx.env, now: ctx.services.now, sleep: ctx.services.sleep, manifest: registryManifestReader(ctx) },
        );
    } catch (e) {
        const message = (e as Error).message;
        if (message.includes("is not an ECR image digest reference") || message.startsWith("--") || message.includes("needs at least one")) throw new UsageError(message);
        throw e;
    }
}
