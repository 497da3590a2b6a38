import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { lifecyclePolicy, RetentionSettings } from "../../lib/registry/lifecyclePolicy";
import { MUTABLE_TAG_PATTERNS } from "../../lib/images/tags";
import {
    DOCKER_HUB_UPSTREAM,
    pullThroughCacheSecretName,
    registryHost,
    registryReplication,
    registryScanning,
    repositoryPullPolicy,
    ScanningSettings,
} from "../../lib/registry/documents";
import { pullThroughCacheRepositoryArnPattern } from "../../lib/access/ecrPolicies";
import { EncryptionSettings, FamilyRepository } from "./familyRepository";

/** Docker Hub pull-through cache settings of `mlci:registry.pullThroughCache`, plus the secret token. */
export interface PullThroughCacheArgs {
    /** Create the Docker Hub pull-through cache rule. */
    enabled: boolean;
    /** Repository prefix of cached images: `<registry>/<prefix>/library/python:3.11`. @default "docker-hub" */
    prefix?: string;
    /** ARN of an existing `ecr-pullthroughcache/…` secret holding `{"username","accessToken"}`; no secret is created. @default undefined */
    credentialSecretArn?: string;
    /** Docker Hub user of the secret the stack creates (with `dockerHubAccessToken`). @default undefined */
    dockerHubUsername?: string;
    /** Docker Hub access token (a secret Output, from `mlci:dockerHubAccessToken`) of the secret the stack creates. @default undefined */
    dockerHubAccessToken?: pulumi.Input<string>;
}

/** Inputs of `EcrRegistry`. */
export interface EcrRegistryArgs {
    /** Repository name prefix: family repositories are `<prefix>/<family>`. */
    prefix: string;
    /** Image families; one repository each. */
    families: string[];
    /** Date-rebuilt families, whose dated tags expire after `retention.datedTagDays`. @default [] */
    datedFamilies?: string[];
    /** Retention the lifecycle policies are generated from. */
    retention: RetentionSettings;
    /** Protect repositories (and the credential secret) and retain them on delete (prod). @default false */
    protect?: boolean;
    /** Let `pulumi destroy` delete repositories with their images, and the secret without a recovery window (dev). @default false */
    forceDelete?: boolean;
    /** Encryption at rest of every repository. @default { type: "AES256" } */
    encryption?: EncryptionSettings;
    /** Registry scanning: BASIC on push, or ENHANCED (optionally continuous). @default { type: "BASIC" } */
    scanning?: ScanningSettings;
    /** Docker Hub pull-through cache for root images' BASE_REGISTRY. @default { enabled: false } */
    pullThroughCache?: PullThroughCacheArgs;
    /** Regions of this account to replicate the family repositories to (prod). @default [] */
    replicationRegions?: string[];
    /** Accounts granted pull on every family repository. @default [] */
    pullAccounts?: string[];
    /** AWS Organizations ID whose principals may pull every family repository. @default undefined */
    pullOrganizationId?: string;
    /** Own the account-wide singletons (scanning and replication configuration, which REPLACE the account's); true in ONE stack per account and region. @default false */
    manageRegistrySettings?: boolean;
    /** Tags on repositories and the secret. @default {} */
    tags?: Record<string, string>;
}

/**
 * The stack's ECR registry: one `FamilyRepository` per family, the Docker Hub pull-through cache
 * (credentials in a created or referenced `ecr-pullthroughcache/` secret), registry scanning and
 * optional cross-region replication.
 */
export class EcrRegistry extends pulumi.ComponentResource {
    /** Account ID of the registry. */
    public readonly registryId: pulumi.Output<string>;
    /** Registry host `<account>.dkr.ecr.<region>.amazonaws.com`. */
    public readonly registryUrl: pulumi.Output<string>;
    /** Repository per family (name, url, arn). */
    public readonly repositories: Record<string, FamilyRepository>;
    /** `<registry>/<cache prefix>`: BASE_REGISTRY for root images; undefined without a cache. */
    public readonly pullThroughCachePrefix?: pulumi.Output<string>;
    /** `arn:aws:ecr:<region>:<account>:repository/<cache prefix>/*`, for pull and push IAM; undefined without a cache. */
    public readonly pullThroughCacheRepositoryArnPattern?: pulumi.Output<string>;

    constructor(name: string, args: EcrRegistryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mlci:registry:EcrRegistry", name, {}, opts);
        const protect = args.protect ?? false;
        const forceDelete = args.forceDelete ?? false;
        const scanning = args.scanning ?? { type: "BASIC" };
        const ptc = args.pullThroughCache ?? { enabled: false };
        const cachePrefix = ptc.prefix ?? "docker-hub";
        const replicationRegions = args.replicationRegions ?? [];
        const tags = args.tags ?? {};

        // Only this component's own Args; config-level checks (with config paths and fixes) ran in validation.
        if (protect && forceDelete) throw new pulumi.ResourceError("EcrRegistryArgs: protect and forceDelete are both true; a protected repository is never deleted with its images", this);
        if (ptc.enabled && ptc.credentialSecretArn === undefined && (ptc.dockerHubUsername === undefined || ptc.dockerHubAccessToken === undefined)) {
            throw new pulumi.ResourceError("EcrRegistryArgs.pullThroughCache: enabled without credentials; give credentialSecretArn, or dockerHubUsername and dockerHubAccessToken", this);
        }

        const identity = aws.getCallerIdentityOutput({}, { parent: this });
        const region = aws.getRegionOutput({}, { parent: this }).region;
        const partition = identity.arn.apply((arn) => arn.split(":")[1] ?? "aws");
        this.registryId = identity.accountId;
        this.registryUrl = pulumi.all([identity.accountId, region]).apply(([account, r]) => registryHost(account, r));

        const dated = new Set(args.datedFamilies ?? []);
        this.repositories = {};
        for (const family of args.families) {
            this.repositories[family] = new FamilyRepository(`${name}-${family}`, {
                repositoryName: `${args.prefix}/${family}`,
                retention: args.retention,
                datedTags: dated.has(family),
                protect,
                forceDelete,
                encryption: args.encryption,
                scanOnPush: true,
                pullAccess: { pullAccounts: args.pullAccounts, pullOrganizationId: args.pullOrganizationId },
                partition,
                tags,
            }, { parent: this });
        }

        if (ptc.enabled) {
            let credentialArn: pulumi.Input<string>;
            const dependsOn: pulumi.Resource[] = [];
            if (ptc.credentialSecretArn !== undefined) {
                credentialArn = ptc.credentialSecretArn;
            } else {
                const secret = new aws.secretsmanager.Secret(`${name}-docker-hub-credentials`, {
                    name: pullThroughCacheSecretName(args.prefix),
                    description: `Docker Hub credentials of the ECR pull-through cache ${cachePrefix}/`,
                    recoveryWindowInDays: forceDelete ? 0 : 7,
                    tags,
                }, { parent: this, protect, retainOnDelete: protect });
                const value = new aws.secretsmanager.SecretVersion(`${name}-docker-hub-credentials-value`, {
                    secretId: secret.id,
                    secretString: pulumi.secret(pulumi.all([ptc.dockerHubUsername!, ptc.dockerHubAccessToken!]).apply(([username, accessToken]) => JSON.stringify({ username, accessToken }))),
                }, { parent: this });
                credentialArn = secret.arn;
                dependsOn.push(value);
            }
            const rule = new aws.ecr.PullThroughCacheRule(`${name}-docker-hub-cache`, {
                ecrRepositoryPrefix: cachePrefix,
                upstreamRegistryUrl: DOCKER_HUB_UPSTREAM,
                credentialArn,
            }, { parent: this, dependsOn });
            this.pullThroughCachePrefix = pulumi.interpolate`${this.registryUrl}/${rule.ecrRepositoryPrefix}`;
            this.pullThroughCacheRepositoryArnPattern = pulumi
                .all([partition, region, identity.accountId, rule.ecrRepositoryPrefix])
                .apply(([p, r, account, prefix]) => pullThroughCacheRepositoryArnPattern({ partition: p, region: r, accountId: account, prefix }));
        }

        if (args.manageRegistrySettings ?? false) {
            new aws.ecr.RegistryScanningConfiguration(`${name}-scanning`, registryScanning(scanning, ptc.enabled ? [args.prefix, cachePrefix] : [args.prefix]), { parent: this });
            if (replicationRegions.length > 0) {
                new aws.ecr.ReplicationConfiguration(`${name}-replication`, {
                    replicationConfiguration: identity.accountId.apply((account) => registryReplication(args.prefix, replicationRegions, account)),
                }, { parent: this });
                // A replica is created with ECR's defaults (mutable tags, no lifecycle: it would grow forever) unless a
                // REPLICATION creation template in its region matches. ECR appends "/" to a template prefix, so ONE
                // template with the stack prefix matches every `<prefix>/<family>` replica (creationTemplateFor).
                const pullPolicy = partition.apply((p) => {
                    const doc = repositoryPullPolicy({ pullAccounts: args.pullAccounts, pullOrganizationId: args.pullOrganizationId }, p);
                    return doc === undefined ? undefined : JSON.stringify(doc);
                });
                for (const region of [...new Set(replicationRegions)]) {
                    new aws.ecr.RepositoryCreationTemplate(`${name}-replica-${region}`, {
                        region,
                        prefix: args.prefix,
                        appliedFors: ["REPLICATION"],
                        description: `Replicas of ${args.prefix}/*: same tag mutability, lifecycle and pull policy as the source repositories`,
                        imageTagMutability: "IMMUTABLE_WITH_EXCLUSION",
                        imageTagMutabilityExclusionFilters: MUTABLE_TAG_PATTERNS.map((filter) => ({ filter, filterType: "WILDCARD" })),
                        // One policy for every family: the dated rule selects nothing in a family without dated tags.
                        lifecyclePolicy: JSON.stringify(lifecyclePolicy(args.retention, { datedTags: dated.size > 0 })),
                        repositoryPolicy: pullPolicy,
                    }, { parent: this });
                }
            }
        }

        this.registerOutputs({
            registryId: this.registryId,
            registryUrl: this.registryUrl,
            repositories: Object.fromEntries(Object.entries(this.repositories).map(([f, r]) => [f, { name: r.name, url: r.url, arn: r.arn }])),
            pullThroughCachePrefix: this.pullThroughCachePrefix,
            pullThroughCacheRepositoryArnPattern: this.pullThroughCacheRepositoryArnPattern,
        });
    }
}
