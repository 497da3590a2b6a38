/**
 * Documents and names of the ECR registry: repository pull policy for other accounts, registry
 * scanning rules, replication rules, pull-through cache names, and the registry config checks.
 * Pure: no Pulumi resources; the `EcrRegistry` and `FamilyRepository` components consume it.
 */
import { ECR_PULL_ACTIONS, PolicyDocument, PolicyStatement } from "../access/policies";
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
 * Repository policy (the one IAM document model of lib/access/policies.ts) granting pull to the
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
}

/** Inputs of `aws.ecr.RegistryScanningConfiguration` for the given repository prefixes. */
export function registryScanning(scanning: ScanningSettings, repositoryPrefixes: string[]) {
    return {
        scanType: scanning.type,
        rules: [
            {
                scanFrequency: scanning.type === "ENHANCED" && (scanning.continuous ?? false) ? "CONTINUOUS_SCAN" : "SCAN_ON_PUSH",
                repositoryFilters: repositoryPrefixes.map((p) => ({ filter: `${p}/*`, filterType: "WILDCARD" })),
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

/** Registry host `<account>.dkr.ecr.<region>.amazonaws.com` (`.com.cn` in China regions). */
export function registryHost(accountId: string, region: string): string {
    return `${accountId}.dkr.ecr.${region}.amazonaws.com${region.startsWith("cn-") ? ".cn" : ""}`;
}

/** Name of the Docker Hub credential secret the stack creates: `ecr-pullthroughcache/<prefix>-docker-hub`. */
export function pullThroughCacheSecretName(prefix: string): string {
    return `${PTC_SECRET_PREFIX}${prefix.replace(/\//g, "-")}-docker-hub`;
}

/** Registry settings the checks below read (a subset of `mlci:registry`). */
export interface RegistryCheckInput {
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
