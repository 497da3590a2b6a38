/**
 * Which registry a command talks to, and with which login: one resolution for `publish`, `status`,
 * `wait` and `bake` (docs/cli.md, "The registry").
 * - Host: `--registry`, else `$CI_IMAGES_REGISTRY` (the GitHub variable the program writes), else the
 *   stack's: `localhost:<port>` for the local backend, the caller's ECR registry (the proxy endpoint
 *   of `ecr:GetAuthorizationToken`) for ECR.
 * - Login: `$MLCI_REGISTRY_AUTH` (`user:password`) when set, else an ECR token for an ECR host, else none.
 */
import { REGISTRY_VARIABLE } from "../lib/github/names";
import { basicAuthorization, RegistryHttpClient } from "../lib/registry/registryHttp";
import type { RetryContext } from "../lib/registry/retryPolicy";
import { readStackFileEntries, StackPlan } from "../lib/stackPlan";
import { CliError, CommandContext, EcrAuthorization } from "./context";

/** `<account>.dkr.ecr.<region>.amazonaws.com` (and the China/ISO partitions' suffixes). */
const ECR_HOST = /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/;

/** A registry a command talks to. */
export interface RegistryAccess {
    /** `localhost:5000`, `127.0.0.1:5000` or `<account>.dkr.ecr.<region>.amazonaws.com`. */
    host: string;
    kind: "ecr" | "local" | "other";
    client: RegistryHttpClient;
    /** `user:password` for docker logins and the smoke test (MLCI_REGISTRY_AUTH); `""` for none. */
    auth: string;
    /** `<host>/<repositoryName>`. */
    repositoryUrl(repositoryName: string): string;
}

/** `http://` for a registry on this machine (Docker trusts localhost without TLS), `https://` otherwise. */
export function registryBaseUrl(host: string): string {
    return /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/.test(host) ? `http://${host}` : `https://${host}`;
}

/** The region of an ECR registry host, or undefined for another registry. */
export function ecrRegion(host: string): string | undefined {
    return ECR_HOST.exec(host)?.[2];
}

/** The AWS region for ECR calls: AWS_REGION, AWS_DEFAULT_REGION, else the stack file's `aws:region`. */
function stackRegion(ctx: CommandContext): string | undefined {
    const fromEnv = ctx.env.AWS_REGION || ctx.env.AWS_DEFAULT_REGION;
    if (fromEnv) return fromEnv;
    const region = readStackFileEntries(ctx.root(), ctx.stack())["aws:region"];
    return typeof region === "string" ? region : undefined;
}

async function ecrLogin(ctx: CommandContext, region: string, host: string): Promise<EcrAuthorization> {
    try {
        return await ctx.services.ecrAuthorization(region);
    } catch (e) {
        if (e instanceof CliError) throw e;
        const message = (e as Error).message;
        const fix = /AccessDenied|not authorized/i.test(message)
            ? "grant ecr:GetAuthorizationToken (Resource \"*\": it has no resource-level permissions) to the role this job runs as"
            : /credential/i.test(message)
              ? "give the job AWS credentials (aws-actions/configure-aws-credentials, or the runner's instance profile)"
              : "check the region and the network, then retry";
        throw new CliError(`cannot log in to ECR ${host || `in ${region}`}: ${message}. Fix: ${fix}`);
    }
}

/**
 * How a command's registry calls retry (lib/registry/retryPolicy.ts): its clock, sleep and jitter,
 * one `ci-images: retrying … in Ns (503)` line on stderr per retry, and no wait past `deadline`
 * (ms since the epoch: the command's --timeout) when the command has one.
 */
export function registryRetry(ctx: Pick<CommandContext, "services" | "err" | "env">, deadline?: number): RetryContext {
    const { now, sleep, random } = ctx.services;
    // CI_IMAGES_REGISTRY_ATTEMPTS: attempts per request, the first included (default 8; 1 = no retry).
    const attempts = Number(ctx.env.CI_IMAGES_REGISTRY_ATTEMPTS);
    return {
        settings: Number.isInteger(attempts) && attempts >= 1 ? { maxAttempts: attempts } : undefined,
        now: () => now().getTime(),
        sleep,
        random: random ?? Math.random,
        deadline: deadline === undefined ? undefined : () => deadline,
        onRetry: (line) => ctx.err.write(`ci-images: ${line}\n`),
    };
}

/**
 * Retry settings of the AWS SDK clients the CLI makes (ECR GetAuthorizationToken, scan-gate's
 * DescribeImageScanFindings): the SDK's own retry strategy, never a loop around it. With neither
 * AWS_RETRY_MODE nor AWS_MAX_ATTEMPTS set this returns `{}`: the SDK resolves them itself, from the
 * profile's `retry_mode` / `max_attempts` in ~/.aws/config, else its defaults (standard mode, 3
 * attempts; @smithy/core util-retry config.js), so a profile's settings are never overridden.
 * When set, they are validated here: the AWS SDK for JavaScript v3 knows only `standard` and
 * `adaptive` (RETRY_MODES); it would silently run `legacy` (the other SDKs' default) or a typo as
 * standard, so those are refused with the fix, as is an AWS_MAX_ATTEMPTS that is not a whole number ≥ 1.
 */
export function ecrSdkRetryConfig(env: NodeJS.ProcessEnv): { retryMode?: "standard" | "adaptive"; maxAttempts?: number } {
    const config: { retryMode?: "standard" | "adaptive"; maxAttempts?: number } = {};
    const mode = env.AWS_RETRY_MODE?.trim();
    if (mode) {
        if (mode !== "standard" && mode !== "adaptive") {
            throw new CliError(`AWS_RETRY_MODE=${mode}: the AWS SDK for JavaScript v3 has only the standard and adaptive retry modes${mode === "legacy" ? " (legacy is the other SDKs' old default)" : ""}. Fix: export AWS_RETRY_MODE=standard, or unset it`);
        }
        config.retryMode = mode;
    }
    const raw = env.AWS_MAX_ATTEMPTS?.trim();
    if (raw) {
        const attempts = Number(raw);
        if (!Number.isInteger(attempts) || attempts < 1) throw new CliError(`AWS_MAX_ATTEMPTS=${raw} is not a whole number of attempts ≥ 1. Fix: export AWS_MAX_ATTEMPTS=5, or unset it`);
        config.maxAttempts = attempts;
    }
    return config;
}

/** Resolves the registry of a command (see the module comment). `deadline` bounds its retries (ms since the epoch). */
export async function registryAccess(ctx: CommandContext, plan: StackPlan, opts: { registry?: string; deadline?: number } = {}): Promise<RegistryAccess> {
    const backend = plan.config.registry.backend;
    let host = (opts.registry ?? ctx.env[REGISTRY_VARIABLE] ?? "").trim().replace(/^https?:\/\//, "").replace(/\/+$/, "");
    let ecr: EcrAuthorization | undefined;
    if (host === "") {
        if (backend === "local") host = `localhost:${plan.config.registry.local.port}`;
        else {
            const region = stackRegion(ctx);
            if (!region) throw new CliError(`no registry for stack ${ctx.stack()}: its ECR region is unknown. Fix: pass --registry <account>.dkr.ecr.<region>.amazonaws.com, set ${REGISTRY_VARIABLE}, or set AWS_REGION`);
            ecr = await ecrLogin(ctx, region, "");
            host = ecr.proxyEndpoint.replace(/^https?:\/\//, "").replace(/\/+$/, "");
        }
    }
    if (/[/\s@]/.test(host)) throw new CliError(`registry "${host}" is not a host[:port]. Fix: pass --registry <host>, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com or localhost:5000`);
    const region = ecrRegion(host);
    let auth = ctx.env.MLCI_REGISTRY_AUTH;
    if (auth === undefined && region !== undefined) {
        ecr ??= await ecrLogin(ctx, region, host);
        auth = `${ecr.user}:${ecr.password}`;
    }
    auth ??= "";
    const colon = auth.indexOf(":");
    if (auth !== "" && colon < 0) throw new CliError("MLCI_REGISTRY_AUTH must be user:password (or empty). Fix: export MLCI_REGISTRY_AUTH=AWS:$(aws ecr get-login-password)");
    const client = new RegistryHttpClient({
        baseUrl: registryBaseUrl(host),
        fetch: ctx.services.fetch,
        authorization: auth === "" ? undefined : basicAuthorization(auth.slice(0, colon), auth.slice(colon + 1)),
        retry: registryRetry(ctx, opts.deadline),
    });
    return {
        host,
        kind: region !== undefined ? "ecr" : /^(localhost|127\.|\[::1\])/.test(host) ? "local" : "other",
        client,
        auth,
        repositoryUrl: (repositoryName) => `${host}/${repositoryName}`,
    };
}

/** The real ECR login: GetAuthorizationToken through @aws-sdk/client-ecr, loaded only when needed. */
export async function ecrAuthorization(region: string, env: NodeJS.ProcessEnv = process.env): Promise<EcrAuthorization> {
    const sdk = require("@aws-sdk/client-ecr") as typeof import("@aws-sdk/client-ecr");
    const client = new sdk.ECRClient({ region, ...ecrSdkRetryConfig(env) });
    const res = await client.send(new sdk.GetAuthorizationTokenCommand({}));
    const data = res.authorizationData?.[0];
    if (!data?.authorizationToken || !data.proxyEndpoint) throw new Error("GetAuthorizationToken returned no authorization data");
    const decoded = Buffer.from(data.authorizationToken, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    return { proxyEndpoint: data.proxyEndpoint, user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
