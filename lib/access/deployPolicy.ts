// The pipeline's DEPLOY policy (#27 seam 1): what `pulumi up` of ONE stack needs, generated from the validated stack
// config, in the spirit of `cdk bootstrap`. Least privilege over exactly the resource types and names the stack
// manages; a `Resource: "*"` only for actions AWS does not scope by resource (STAR_RESOURCE_JUSTIFICATIONS).
import { pullThroughCacheSecretName } from "../registry/documents";
import { PolicyDocument, PolicyStatement, unique } from "./documents";
import { oidcProviderSource } from "./githubOidc";
import type { StateBackendSettings } from "./settings";
import { stateBackendStatements } from "./stateBackend";

/**
 * IAM path of every role, managed policy and instance profile a stack creates: `/ml-ci-images/<stack>/`. The deploy
 * policy is scoped to it, so one stack's pipeline can never change another stack's (or anybody's) IAM resources.
 */
export function stackIamPath(stack: string): string {
    return `/ml-ci-images/${stack}/`;
}


/** ECR actions on the stack's own repositories (`aws.ecr.Repository`, `LifecyclePolicy`, `RepositoryPolicy`). */
export const ECR_REPOSITORY_MANAGE_ACTIONS: readonly string[] = [
    "ecr:CreateRepository", "ecr:DescribeRepositories", "ecr:DeleteRepository",
    "ecr:TagResource", "ecr:UntagResource", "ecr:ListTagsForResource",
    "ecr:PutImageTagMutability", "ecr:PutImageScanningConfiguration",
    "ecr:PutLifecyclePolicy", "ecr:GetLifecyclePolicy", "ecr:DeleteLifecyclePolicy",
    "ecr:SetRepositoryPolicy", "ecr:GetRepositoryPolicy", "ecr:DeleteRepositoryPolicy",
];
/** ECR actions of the pull-through cache rule, on `repository/<cache prefix>`. */
export const ECR_CACHE_RULE_ACTIONS: readonly string[] = ["ecr:CreatePullThroughCacheRule", "ecr:DescribePullThroughCacheRules", "ecr:UpdatePullThroughCacheRule", "ecr:DeletePullThroughCacheRule"];
/** Account-wide ECR settings, only for the stack that owns them. */
export const ECR_REGISTRY_SETTINGS_ACTIONS: readonly string[] = ["ecr:PutRegistryScanningConfiguration"];
/** Replication and its creation templates, only with manageRegistrySettings and replicationRegions. */
export const ECR_REPLICATION_ACTIONS: readonly string[] = [
    "ecr:PutReplicationConfiguration", "ecr:DescribeRegistry",
    "ecr:CreateRepositoryCreationTemplate", "ecr:DescribeRepositoryCreationTemplates", "ecr:UpdateRepositoryCreationTemplate", "ecr:DeleteRepositoryCreationTemplate",
];
/** IAM actions on the stack's own roles (under its IAM path). */
export const IAM_ROLE_MANAGE_ACTIONS: readonly string[] = [
    "iam:CreateRole", "iam:GetRole", "iam:UpdateRole", "iam:UpdateAssumeRolePolicy", "iam:TagRole", "iam:UntagRole",
    "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole", "iam:DeleteRole",
    "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:PassRole",
];
/** IAM actions on the stack's own managed policies (under its IAM path). */
export const IAM_POLICY_MANAGE_ACTIONS: readonly string[] = [
    "iam:CreatePolicy", "iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListPolicyVersions",
    "iam:CreatePolicyVersion", "iam:DeletePolicyVersion", "iam:TagPolicy", "iam:UntagPolicy", "iam:DeletePolicy",
];
/** IAM actions on the stack's runner instance profile (under its IAM path). */
export const IAM_INSTANCE_PROFILE_ACTIONS: readonly string[] = [
    "iam:CreateInstanceProfile", "iam:GetInstanceProfile", "iam:AddRoleToInstanceProfile",
    "iam:RemoveRoleFromInstanceProfile", "iam:TagInstanceProfile", "iam:UntagInstanceProfile", "iam:DeleteInstanceProfile",
];
/** Secrets Manager actions on the Docker Hub credential secret the stack creates itself. */
export const CACHE_SECRET_MANAGE_ACTIONS: readonly string[] = [
    "secretsmanager:CreateSecret", "secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy", "secretsmanager:PutSecretValue",
    "secretsmanager:GetSecretValue", "secretsmanager:TagResource", "secretsmanager:DeleteSecret",
];

/** What {@link deployPolicy} needs to know: the stack's config, where it runs, and how it gets the OIDC provider. */
export interface DeployPolicyArgs {
    stack: string;
    accountId: string;
    region: string;
    /** @default "aws" */
    partition?: string;
    /** `registry.prefix`: the stack's repositories are `<prefix>/*`. */
    registryPrefix: string;
    /** `registry.manageRegistrySettings`. */
    manageRegistrySettings: boolean;
    /** `registry.replicationRegions` is not empty (with manageRegistrySettings). */
    replicates: boolean;
    /** The pull-through cache: its prefix, and the secret it references (`credentialSecretArn`) or creates (`createdSecretName`). */
    pullThroughCache?: { prefix: string; credentialSecretArn?: string; createdSecretName?: string };
    /** `access.runner.existingRoleNames`: existing roles the stack attaches its pull policy to. @default [] */
    existingRunnerRoleNames?: readonly string[];
    /** How the stack gets the account's GitHub OIDC provider: creates it, looks it up by URL, or is given its ARN. */
    oidcProvider: "create" | "lookup" | "arn";
    /** `access.stateBackend`; Pulumi Cloud needs no AWS rights. */
    stateBackend?: StateBackendSettings;
    /** `access.secretsKeyArn`: the KMS key of the stack's awskms secrets provider. */
    secretsKeyArn?: string;
}

/**
 * The deploy policy of one stack's pipeline role: state backend (list the prefix; get/put/delete its objects, lock
 * files included), the stack's repositories `<prefix>/*` and their lifecycle/repository policies, the pull-through
 * cache rule and its secret, the registry-wide settings only when the stack owns them, the stack's roles, policies
 * and instance profile under its IAM path (iam:PassRole only to those roles), its pull policy onto the existing runner
 * roles (attach/detach only of its own policies), the OIDC provider (create only when this stack creates it), and the
 * secrets key. GitHub needs no AWS right.
 */
export function deployPolicy(args: DeployPolicyArgs): PolicyDocument {
    const p = args.partition ?? "aws";
    const iam = (kind: string, rest: string) => `arn:${p}:iam::${args.accountId}:${kind}/${rest}`;
    const ecrRepo = (name: string) => `arn:${p}:ecr:${args.region}:${args.accountId}:repository/${name}`;
    const path = stackIamPath(args.stack).replace(/^\//, "");
    const ownPolicies = iam("policy", `${path}*`);
    const statements: PolicyStatement[] = [...stateBackendStatements(args.stateBackend, "write", p)];
    statements.push({ Sid: "StackRepositories", Effect: "Allow", Action: unique(ECR_REPOSITORY_MANAGE_ACTIONS), Resource: ecrRepo(`${args.registryPrefix}/*`) });
    const cache = args.pullThroughCache;
    if (cache !== undefined) {
        statements.push({ Sid: "PullThroughCacheRule", Effect: "Allow", Action: unique(ECR_CACHE_RULE_ACTIONS), Resource: ecrRepo(cache.prefix) });
        if (cache.credentialSecretArn !== undefined) {
            // A referenced secret's ARN ends in Secrets Manager's random 6-character suffix.
            statements.push({ Sid: "PullThroughCacheSecretRead", Effect: "Allow", Action: ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"], Resource: `${cache.credentialSecretArn}-??????` });
        }
        if (cache.createdSecretName !== undefined) {
            statements.push({ Sid: "PullThroughCacheSecret", Effect: "Allow", Action: unique(CACHE_SECRET_MANAGE_ACTIONS), Resource: `arn:${p}:secretsmanager:${args.region}:${args.accountId}:secret:${cache.createdSecretName}-??????` });
        }
    }
    if (args.manageRegistrySettings) {
        statements.push({ Sid: "RegistrySettings", Effect: "Allow", Action: unique([...ECR_REGISTRY_SETTINGS_ACTIONS, ...(args.replicates ? ECR_REPLICATION_ACTIONS : [])]), Resource: "*" });
        if (args.replicates) {
            statements.push({
                Sid: "EcrReplicationServiceRole",
                Effect: "Allow",
                Action: "iam:CreateServiceLinkedRole",
                Resource: iam("role", "aws-service-role/replication.ecr.amazonaws.com/AWSServiceRoleForECRReplication"),
                Condition: { StringEquals: { "iam:AWSServiceName": "replication.ecr.amazonaws.com" } },
            });
        }
    }
    statements.push({ Sid: "StackRoles", Effect: "Allow", Action: unique(IAM_ROLE_MANAGE_ACTIONS), Resource: iam("role", `${path}*`) });
    statements.push({ Sid: "StackPolicies", Effect: "Allow", Action: unique(IAM_POLICY_MANAGE_ACTIONS), Resource: ownPolicies });
    statements.push({ Sid: "StackInstanceProfiles", Effect: "Allow", Action: unique(IAM_INSTANCE_PROFILE_ACTIONS), Resource: iam("instance-profile", `${path}*`) });
    const existing = unique(args.existingRunnerRoleNames ?? []);
    if (existing.length > 0) {
        // A role's path is not in its name: match the name at any path. Attach/detach only this stack's own policies.
        const roles = existing.flatMap((n) => [iam("role", n), iam("role", `*/${n}`)]);
        statements.push({ Sid: "RunnerRolesAttachOwnPolicy", Effect: "Allow", Action: ["iam:AttachRolePolicy", "iam:DetachRolePolicy"], Resource: roles, Condition: { ArnLike: { "iam:PolicyARN": [ownPolicies] } } });
        statements.push({ Sid: "RunnerRolesRead", Effect: "Allow", Action: ["iam:ListAttachedRolePolicies"], Resource: roles });
    }
    const provider = iam("oidc-provider", "token.actions.githubusercontent.com");
    const oidcActions = args.oidcProvider === "create"
        ? ["iam:CreateOpenIDConnectProvider", "iam:GetOpenIDConnectProvider", "iam:TagOpenIDConnectProvider", "iam:UntagOpenIDConnectProvider", "iam:UpdateOpenIDConnectProviderThumbprint", "iam:AddClientIDToOpenIDConnectProvider", "iam:RemoveClientIDFromOpenIDConnectProvider"]
        : ["iam:GetOpenIDConnectProvider"];
    statements.push({ Sid: "GithubOidcProvider", Effect: "Allow", Action: unique(oidcActions), Resource: provider });
    if (args.oidcProvider === "lookup") statements.push({ Sid: "GithubOidcProviderLookup", Effect: "Allow", Action: "iam:ListOpenIDConnectProviders", Resource: "*" });
    if (args.secretsKeyArn !== undefined) {
        statements.push({ Sid: "StateSecretsKey", Effect: "Allow", Action: ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"], Resource: args.secretsKeyArn });
    }
    return { Version: "2012-10-17", Statement: statements };
}

/** The config sections {@link deployPolicyArgsFor} reads (lib/config's `StackConfig` satisfies it). */
export interface DeployPolicyConfig {
    region?: string;
    registry: { prefix: string; manageRegistrySettings: boolean; replicationRegions: string[]; pullThroughCache: { enabled: boolean; prefix: string; credentialSecretArn?: string } };
    access: {
        runner: { enabled: boolean; existingRoleNames: string[] };
        pipeline: { oidcProvider?: "create" | "lookup"; oidcProviderArn?: string };
        stateBackend?: StateBackendSettings;
        secretsKeyArn?: string;
    };
}

/** The deploy policy's arguments from a validated stack config: the ONE mapping the program and `ci-images check` share. */
export function deployPolicyArgsFor(config: DeployPolicyConfig, where: { stack: string; accountId: string; region?: string; partition?: string }): DeployPolicyArgs {
    const ptc = config.registry.pullThroughCache;
    const source = oidcProviderSource(config.access.pipeline);
    return {
        stack: where.stack,
        accountId: where.accountId,
        region: where.region ?? config.region ?? "",
        partition: where.partition,
        registryPrefix: config.registry.prefix,
        manageRegistrySettings: config.registry.manageRegistrySettings,
        replicates: config.registry.replicationRegions.length > 0,
        pullThroughCache: ptc.enabled
            ? { prefix: ptc.prefix, credentialSecretArn: ptc.credentialSecretArn, createdSecretName: ptc.credentialSecretArn === undefined ? pullThroughCacheSecretName(config.registry.prefix) : undefined }
            : undefined,
        existingRunnerRoleNames: config.access.runner.enabled ? config.access.runner.existingRoleNames : [],
        oidcProvider: "arn" in source ? "arn" : source.mode,
        stateBackend: config.access.stateBackend,
        secretsKeyArn: config.access.secretsKeyArn,
    };
}
