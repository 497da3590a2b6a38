import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { lifecyclePolicy, RetentionSettings } from "../../lib/registry/lifecyclePolicy";
import { MUTABLE_TAG_PATTERNS } from "../../lib/images/tags";
import { PROTECTION_TAG_KEY, repositoryPullPolicy } from "../../lib/registry/documents";

/** Repository encryption of `mlci:registry.encryption`. */
export type EncryptionSettings = { type: "AES256" } | { type: "KMS"; kmsKeyArn?: string };

/** Inputs of `FamilyRepository`. */
export interface FamilyRepositoryArgs {
    /** Repository name `<prefix>/<family>`, e.g. "ml-ci/nightly". */
    repositoryName: string;
    /** Retention that the lifecycle policy is generated from. */
    retention: RetentionSettings;
    /** The family is date-rebuilt: its `<cell>-YYYYMMDD` tags expire after `retention.datedTagDays`. @default false */
    datedTags?: boolean;
    /** Protect the repository and keep it (and its images) if removed from the program or destroyed (prod). @default false */
    protect?: boolean;
    /** Let `pulumi destroy` delete the repository with its images (dev); ignored when `protect` is set. @default false */
    forceDelete?: boolean;
    /** Encryption at rest; KMS without a key ARN uses the AWS-managed ECR key. Changing it replaces the repository. @default { type: "AES256" } */
    encryption?: EncryptionSettings;
    /** Scan every pushed image for CVEs. @default true */
    scanOnPush?: boolean;
    /** Accounts and/or organization granted pull through a repository policy. @default none */
    pullAccess?: { pullAccounts?: string[]; pullOrganizationId?: string };
    /** AWS partition for the account principals of the pull policy. @default "aws" */
    partition?: pulumi.Input<string>;
    /** Tags on the repository. @default {} */
    tags?: Record<string, string>;
}

/** Resource options of the repository itself: prod repositories are protected and retained on delete. */
export function repositoryOptions(args: Pick<FamilyRepositoryArgs, "protect">): { protect: boolean; retainOnDelete: boolean } {
    const protect = args.protect ?? false;
    return { protect, retainOnDelete: protect };
}

/**
 * The ECR repository of one image family: immutable content-hash and dated tags (only `-latest`
 * and `cache-` refs move), scan on push, the generated lifecycle policy, and an optional pull
 * policy for other accounts or an organization.
 */
export class FamilyRepository extends pulumi.ComponentResource {
    /** Repository name, e.g. "ml-ci/nightly". */
    public readonly name: pulumi.Output<string>;
    /** Repository URL `<account>.dkr.ecr.<region>.amazonaws.com/<name>`. */
    public readonly url: pulumi.Output<string>;
    /** Repository ARN. */
    public readonly arn: pulumi.Output<string>;
    /** Account ID of the registry. */
    public readonly registryId: pulumi.Output<string>;

    constructor(name: string, args: FamilyRepositoryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mlci:registry:FamilyRepository", name, {}, opts);
        const encryption = args.encryption ?? { type: "AES256" };
        const options = repositoryOptions(args);

        const repo = new aws.ecr.Repository(`${name}-repository`, {
            name: args.repositoryName,
            imageTagMutability: "IMMUTABLE_WITH_EXCLUSION",
            imageTagMutabilityExclusionFilters: MUTABLE_TAG_PATTERNS.map((filter) => ({ filter, filterType: "WILDCARD" })),
            imageScanningConfiguration: { scanOnPush: args.scanOnPush ?? true },
            encryptionConfigurations: [encryption.type === "KMS" ? { encryptionType: "KMS", kmsKey: encryption.kmsKeyArn } : { encryptionType: "AES256" }],
            forceDelete: (args.forceDelete ?? false) && !options.protect,
            // Records the protection the stack config asks for, so the policy pack checks it without knowing stacks.
            tags: { ...(args.tags ?? {}), [PROTECTION_TAG_KEY]: String(options.protect) },
        }, { parent: this, ...options });

        const lifecycle = JSON.stringify(lifecyclePolicy(args.retention, { datedTags: args.datedTags ?? false }));
        new aws.ecr.LifecyclePolicy(`${name}-lifecycle`, { repository: repo.name, policy: lifecycle }, { parent: this });

        const access = args.pullAccess ?? {};
        const pullPolicy = pulumi.output(args.partition ?? "aws").apply((partition) => {
            const doc = repositoryPullPolicy(access, partition);
            return doc === undefined ? undefined : JSON.stringify(doc);
        });
        if ((access.pullAccounts ?? []).length > 0 || access.pullOrganizationId !== undefined) {
            new aws.ecr.RepositoryPolicy(`${name}-pull-policy`, { repository: repo.name, policy: pullPolicy.apply((p) => p!) }, { parent: this });
        }

        this.name = repo.name;
        this.url = repo.repositoryUrl;
        this.arn = repo.arn;
        this.registryId = repo.registryId;
        this.registerOutputs({ name: this.name, url: this.url, arn: this.arn, registryId: this.registryId });
    }
}
