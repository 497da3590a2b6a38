/**
 * Documents and names of the ECR registry: repository pull policy for other accounts, registry
 * scanning rules, replication rules, pull-through cache names, and the registry config checks.
 * Pure: no Pulumi resources; the `EcrRegistry` and `FamilyRepository` components consume it.
 */
import type { PolicyDocument, PolicyStatement } from "../access/documents";
import { ECR_PULL_ACTIONS } from "../access/ecrPolicies";
import type { ConfigProblem } from "../config/problems";

/** Repository tag that records `mlci:registry.protect`; the policy pack requires `protect: true` where it is "true". */
export const PROTECTION_TAG_KEY = "mlci:protected";

/** Upstream registry URL of Docker Hub for ECR pull-through cache rules. */
export const DOCKER_HUB_UPSTREAM = "registry-1.docker.io";

/** Name prefix ECR requires of pull-through cache credential secrets. */
export const PTC_SECRET_PREFIX = "ecr-pullthroughcache/";

/** Who may pull from the family repositories besides this account. */
export interface PullAccess {
    /** 12-digit account IDs whose principals may pull (their own IAM must allow it too). @default [] */
    pullAccounts?: string[];
    /** AWS Organizations ID whose principals may pull. @default undefined */
    pullOrganizationId?: string;
}

/**
 * Repository policy (the one IAM document model of lib/access/documents.ts) granting pull to the
 * listed accounts and/or every principal of an organization (GetAuthorizationToken is granted by the
 * puller's own IAM); undefined when nobody outside the account is granted anything.
 */
export function repositoryPullPolicy(access: PullAccess, partition = "aws"): PolicyDocument | undefined {
    const statements: PolicyStatement[] = [];
    const accounts = [...new Set(access.pullAccounts ?? [])].sort();
    if (accounts.length > 0) {
        statements.push({ Sid: "PullFromListedAccounts", Effect: "Allow", Principal: { AWS: accounts.map((a) => `arn:${partition}:iam::${a}:root`) }, Action: [...ECR_PULL_ACTIONS] });
    }
    if (access.pullOrganizationId !== undefined) {
        statements.push({ Sid: "PullFromOrganization", Effect: "Allow", Principal: "*", Action: [...ECR_PULL_ACTIONS], Condition: { StringEquals: { "aws:PrincipalOrgID": access.pullOrganizationId } } });
    }
    return statements.length > 0 ? { Version: "2012-10-17", Statement: statements } : undefined;
}

/** Registry scanning settings of `mlci:registry.scanning`. */
export interface ScanningSettings {
    /** BASIC (Clair-based, free) or ENHANCED (Amazon Inspector). */
    type: "BASIC" | "ENHANCED";
    /** Rescan continuously as new CVEs appear (ENHANCED only). @default false */
    continuous?: boolean;
    /**
     * Repository prefixes of the OTHER stacks (and their caches) in the account: the owner of the account-wide scanning
     * configuration must cover them too, since "any repositories that don't match a scan on push filter are set to the
     * manual scan frequency" (ECR User Guide, scanning filters), whatever their own scanOnPush says. @default []
     */
    accountPrefixes?: string[];
}

/** Inputs of `aws.ecr.RegistryScanningConfiguration` for the given repository prefixes. */
export function registryScanning(scanning: ScanningSettings, repositoryPrefixes: string[]) {
    return {
        scanType: scanning.type,
        rules: [
            {
                scanFrequency: scanning.type === "ENHANCED" && (scanning.continuous ?? false) ? "CONTINUOUS_SCAN" : "SCAN_ON_PUSH",
                repositoryFilters: [...new Set([...repositoryPrefixes, ...(scanning.accountPrefixes ?? [])])].map((p) => ({ filter: `${p}/*`, filterType: "WILDCARD" })),
            },
        ],
    };
}

/**
 * Inputs of `aws.ecr.ReplicationConfiguration`: the prefix's repositories to each region of this
 * account. The filter ends in "/" so that prefix "ml-ci" does not also replicate "ml-ci-dev/…".
 */
export function registryReplication(prefix: string, regions: string[], accountId: string) {
    return {
        rules: [
            {
                destinations: [...new Set(regions)].map((region) => ({ region, registryId: accountId })),
                repositoryFilters: [{ filter: `${prefix}/`, filterType: "PREFIX_MATCH" }],
            },
        ],
    };
}

/** The prefix ECR's creation templates use as the fallback for repositories no other template matches. */
export const ROOT_TEMPLATE_PREFIX = "ROOT";

/**
 * The creation template ECR applies to a new repository (a replica, a pull-through cache repository): ECR appends
 * "/" to every prefix, so prefix `p` matches repository `r` iff `r` starts with `p/` (`ml-ci` matches `ml-ci/base`,
 * `ml-ci/base` does NOT match `ml-ci/base`); `ROOT` matches what nothing else does. Which of two matching non-ROOT
 * prefixes wins is not documented: such overlaps are returned as an error. Undefined: ECR's defaults (mutable tags,
 * no lifecycle, no repository policy).
 */
export function creationTemplateFor(repositoryName: string, prefixes: readonly string[]): string | undefined {
    const matching = prefixes.filter((p) => p !== ROOT_TEMPLATE_PREFIX && repositoryName.startsWith(`${p}/`));
    if (matching.length > 1) throw new Error(`creation templates ${matching.join(", ")} all match ${repositoryName}; ECR does not document which applies`);
    return matching[0] ?? (prefixes.includes(ROOT_TEMPLATE_PREFIX) ? ROOT_TEMPLATE_PREFIX : undefined);
}

/** Registry host `<account>.dkr.ecr.<region>.amazonaws.com` (`.com.cn` in China regions). */
export function registryHost(accountId: string, region: string): string {
    return `${accountId}.dkr.ecr.${region}.amazonaws.com${region.startsWith("cn-") ? ".cn" : ""}`;
}

/**
 * BASE_REGISTRY of root images: `<registry host>/<cache prefix>` behind ECR's Docker Hub
 * pull-through cache, else `docker.io`.
 */
export function baseRegistryFor(registry: { backend: string; pullThroughCache: { enabled: boolean; prefix: string } }, host: string): string {
    return registry.backend === "ecr" && registry.pullThroughCache.enabled ? `${host}/${registry.pullThroughCache.prefix}` : "docker.io";
}

/** Name of the Docker Hub credential secret the stack creates: `ecr-pullthroughcache/<prefix>-docker-hub`. */
export function pullThroughCacheSecretName(prefix: string): string {
    return `${PTC_SECRET_PREFIX}${prefix.replace(/\//g, "-")}-docker-hub`;
}

/** Registry settings the checks below read (a subset of `mlci:registry`). */
export interface RegistryCheckInput {
    /** The stack owns the account-wide scanning and replication configurations. @default false */
    manageRegistrySettings?: boolean;
    protect: boolean;
    forceDelete: boolean;
    scanning: ScanningSettings;
    replicationRegions: string[];
    pullThroughCache: { enabled: boolean; prefix: string; credentialSecretArn?: string; dockerHubUsername?: string };
}

/**
 * Problems in the ECR registry settings that the schema alone cannot see: contradictory
 * protect/forceDelete, continuous BASIC scanning, replication to the home region, and a Docker Hub
 * pull-through cache without credentials (Docker Hub rules require them).
 */
export function registryProblems(r: RegistryCheckInput, opts: { hasDockerHubAccessToken: boolean; region?: string }): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    if (r.protect && r.forceDelete) {
        problems.push({ path: "registry.forceDelete", message: "is true while registry.protect is true: a protected repository must never be deleted with its images", fix: "set forceDelete: false on protected (prod) stacks" });
    }
    if (r.scanning.type === "BASIC" && (r.scanning.continuous ?? false)) {
        problems.push({ path: "registry.scanning.continuous", message: "needs ENHANCED scanning (BASIC scans only on push or manually)", fix: "set registry.scanning.type: ENHANCED, or continuous: false" });
    }
    if (opts.region !== undefined && r.replicationRegions.includes(opts.region)) {
        problems.push({ path: "registry.replicationRegions", message: `lists the stack's own region ${opts.region}`, fix: "list only other regions" });
    }
    if (!(r.manageRegistrySettings ?? false)) {
        const fix = "set registry.manageRegistrySettings: true in the ONE stack of this account and region that owns the account-wide registry settings (they REPLACE what the account has), and leave them unset elsewhere";
        if (r.replicationRegions.length > 0) {
            problems.push({ path: "registry.replicationRegions", message: "needs the account-wide ReplicationConfiguration, which this stack does not own (registry.manageRegistrySettings is false)", fix });
        }
        if ((r.scanning.accountPrefixes ?? []).length > 0) {
            problems.push({ path: "registry.scanning.accountPrefixes", message: "names other stacks' prefixes for the account-wide RegistryScanningConfiguration, which this stack does not own (registry.manageRegistrySettings is false)", fix: "list them in the stack that owns the registry settings (prod), and remove them here" });
        }
        if (r.scanning.type !== "BASIC" || (r.scanning.continuous ?? false)) {
            problems.push({ path: "registry.scanning", message: "is set in the account-wide RegistryScanningConfiguration, which this stack does not own (registry.manageRegistrySettings is false)", fix });
        }
    }
    const ptc = r.pullThroughCache;
    if (ptc.enabled && ptc.credentialSecretArn === undefined) {
        if (!opts.hasDockerHubAccessToken || ptc.dockerHubUsername === undefined) {
            const missing = [ptc.dockerHubUsername === undefined ? "registry.pullThroughCache.dockerHubUsername" : undefined, opts.hasDockerHubAccessToken ? undefined : "the secret mlci:dockerHubAccessToken"].filter((x) => x !== undefined);
            problems.push({
                path: "registry.pullThroughCache",
                message: `a Docker Hub pull-through cache needs credentials, and ${missing.join(" and ")} ${missing.length > 1 ? "are" : "is"} not set`,
                fix: "set credentialSecretArn to an existing ecr-pullthroughcache/ secret, or dockerHubUsername plus `pulumi config set --secret mlci:dockerHubAccessToken <token>`, or enabled: false",
            });
        }
    }
    return problems;
}

/** One account-wide resource a stack would own: creating it replaces (or collides with) what the account has. */
export interface AccountWideResource {
    /** Pulumi type token. */
    type: string;
    /** What owning it means for the account. */
    effect: string;
}

/**
 * The account-wide resources a stack would own, for `ci-images check` (and docs/aws-apis.md): the registry scanning and
 * replication configurations (one per account and region: they REPLACE the account's) when the stack opts in with
 * `registry.manageRegistrySettings`, and the GitHub OIDC provider (one per URL and account) when the stack creates it.
 */
export function accountWideResources(config: {
    registry: { backend: string; prefix: string; manageRegistrySettings: boolean; replicationRegions: string[]; scanning: ScanningSettings };
    access: { pipeline: { enabled: boolean; oidcProvider?: "create" | "lookup"; oidcProviderArn?: string } };
}): AccountWideResource[] {
    const out: AccountWideResource[] = [];
    if (config.registry.backend === "ecr" && config.registry.manageRegistrySettings) {
        out.push({ type: "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration", effect: `replaces the account's registry scanning configuration in this region (${config.registry.scanning.type}, rules for ${config.registry.prefix}/* only)` });
        if (config.registry.replicationRegions.length > 0) {
            out.push({ type: "aws:ecr/replicationConfiguration:ReplicationConfiguration", effect: `replaces the account's replication configuration (${config.registry.prefix}/ to ${config.registry.replicationRegions.join(", ")}); other replication rules of the account are removed` });
        }
    }
    const pipeline = config.access.pipeline;
    if (config.registry.backend === "ecr" && pipeline.enabled && pipeline.oidcProviderArn === undefined && (pipeline.oidcProvider ?? "create") === "create") {
        out.push({ type: "aws:iam/openIdConnectProvider:OpenIdConnectProvider", effect: "creates the account's one GitHub Actions OIDC provider (token.actions.githubusercontent.com); every other stack of the account must look it up" });
    }
    return out;
}
