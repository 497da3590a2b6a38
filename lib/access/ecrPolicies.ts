// ECR identity policies of CI access to the image registry (runner pull, pipeline push, preview read) and the EC2
// trust policy. Shared by the access components, the tests (which also send every document to moto) and the policy pack.
import { hasWildcard, PolicyDocument, PolicyStatement, unique } from "./documents";
import type { StateBackendSettings } from "./settings";
import { stateBackendStatements } from "./stateBackend";

/** The one ECR action that has no resource-level permissions and so must be granted on `*`. */
export const ECR_LOGIN_ACTION = "ecr:GetAuthorizationToken";
/** Actions needed to pull an image from a repository. */
export const ECR_PULL_ACTIONS: readonly string[] = [
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
];
/** Extra actions the first pull through a cache rule needs: create the cached repository and import the upstream image. */
export const ECR_PULL_THROUGH_CACHE_ACTIONS: readonly string[] = ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"];
/** Actions needed to push images (and registry build caches), read them back, list them and read their scan findings (the promotion's scan gate). */
export const ECR_PUSH_ACTIONS: readonly string[] = [
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:CompleteLayerUpload",
    "ecr:DescribeImageScanFindings",
    "ecr:DescribeImages",
    "ecr:GetDownloadUrlForLayer",
    "ecr:InitiateLayerUpload",
    "ecr:ListImages",
    "ecr:PutImage",
    "ecr:StartImageScan",
    "ecr:UploadLayerPart",
];
/** The scan gate reads the account's scanning rules to tell a MANUAL repository (no resource-level permission). */
export const ECR_SCAN_GATE_REGISTRY_ACTION = "ecr:GetRegistryScanningConfiguration";


/** Trust policy letting EC2 instances (the GPU runners) assume a role via their instance profile. */
export function ec2TrustPolicy(): PolicyDocument {
    return {
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
    };
}

/**
 * ARN pattern matching every repository a pull-through cache rule creates under `prefix`,
 * e.g. `arn:aws:ecr:us-east-1:123456789012:repository/docker-hub/*`.
 */
export function pullThroughCacheRepositoryArnPattern(args: { region: string; accountId: string; prefix: string; partition?: string }): string {
    const prefix = args.prefix.replace(/^\/+|\/+$/g, "");
    if (prefix === "" || hasWildcard(prefix)) {
        throw new Error(`pull-through cache prefix "${args.prefix}" must be a literal repository prefix such as "docker-hub"`);
    }
    return `arn:${args.partition ?? "aws"}:ecr:${args.region}:${args.accountId}:repository/${prefix}/*`;
}

/** Arguments of the ECR identity policies. */
export interface RepositoryPolicyArgs {
    /** ARNs of this stack's repositories; nothing else is granted. */
    repositoryArns: readonly string[];
    /** Pattern of the pull-through cache's repositories (see `pullThroughCacheRepositoryArnPattern`). */
    pullThroughCacheRepositoryArnPattern?: string;
}

function pullThroughCacheStatement(pattern: string | undefined): PolicyStatement[] {
    if (pattern === undefined) return [];
    return [{
        Sid: "PullThroughCache",
        Effect: "Allow",
        Action: unique([...ECR_PULL_ACTIONS, ...ECR_PULL_THROUGH_CACHE_ACTIONS]),
        Resource: pattern,
    }];
}

const loginStatement = (): PolicyStatement => ({ Sid: "EcrLogin", Effect: "Allow", Action: ECR_LOGIN_ACTION, Resource: "*" });

/**
 * Pull-only policy for CI runners: `ecr:GetAuthorizationToken` on `*` (it has no resource-level permissions),
 * image pulls on exactly `repositoryArns`, and pulls through the cache (which may create the cached repository).
 */
export function runnerPullPolicy(args: RepositoryPolicyArgs): PolicyDocument {
    const repos = unique(args.repositoryArns);
    const statements: PolicyStatement[] = [loginStatement()];
    if (repos.length > 0) {
        statements.push({ Sid: "PullStackRepositories", Effect: "Allow", Action: unique(ECR_PULL_ACTIONS), Resource: repos });
    }
    statements.push(...pullThroughCacheStatement(args.pullThroughCacheRepositoryArnPattern));
    return { Version: "2012-10-17", Statement: statements };
}

/**
 * Push policy for the image pipeline: image push/pull/list on exactly `repositoryArns` (plus pulls through the cache
 * for base images). It deliberately grants nothing to manage repositories or IAM: the permissions `pulumi up` needs
 * are the admin-chosen managed policies of `mlci:access.pipeline.deployPolicyArns`.
 */
export function pipelinePushPolicy(args: RepositoryPolicyArgs): PolicyDocument {
    const repos = unique(args.repositoryArns);
    const statements: PolicyStatement[] = [loginStatement()];
    if (repos.length > 0) {
        statements.push({ Sid: "PushStackRepositories", Effect: "Allow", Action: unique(ECR_PUSH_ACTIONS), Resource: repos });
    }
    statements.push({ Sid: "ScanGateRegistryRules", Effect: "Allow", Action: ECR_SCAN_GATE_REGISTRY_ACTION, Resource: "*" });
    statements.push(...pullThroughCacheStatement(args.pullThroughCacheRepositoryArnPattern));
    return { Version: "2012-10-17", Statement: statements };
}

/** ECR reads of the read-only preview role on the stack's repositories: describe and list, never pull layers or push. */
export const ECR_PREVIEW_READ_ACTIONS: readonly string[] = [
    "ecr:DescribeImages",
    "ecr:DescribeRepositories",
    "ecr:GetLifecyclePolicy",
    "ecr:GetRepositoryPolicy",
    "ecr:ListImages",
    "ecr:ListTagsForResource",
];
/** IAM reads of the read-only preview role on the stack's roles. */
export const IAM_PREVIEW_ROLE_READ_ACTIONS: readonly string[] = ["iam:GetRole", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies", "iam:ListRolePolicies"];
/** IAM reads of the read-only preview role on the stack's managed policies and OIDC provider. */
export const IAM_PREVIEW_POLICY_READ_ACTIONS: readonly string[] = ["iam:GetPolicy", "iam:GetPolicyVersion"];


/** Arguments of {@link previewReadPolicy}. */
export interface PreviewReadPolicyArgs {
    /** ARNs of this stack's repositories. */
    repositoryArns: readonly string[];
    /** ARNs of this stack's IAM roles (runner, pipeline). */
    roleArns: readonly string[];
    /** ARNs of this stack's managed policies and its OIDC provider. */
    policyArns: readonly string[];
    /** Where the state lives. @default Pulumi Cloud (no statements) */
    stateBackend?: StateBackendSettings;
    /** The stack whose checkpoint the preview reads (nothing else of the state). @default every object under `.pulumi/` */
    checkpoint?: { project: string; stack: string };
    /**
     * KMS key of the awskms secrets provider: the preview decrypts the state's data key with it (a `pulumi preview`
     * cannot load a state with secrets otherwise). Safe because validation keeps every long-lived secret out of the
     * state of a stack that runs in CI (`ciSecretProblems`). @default undefined (no KMS right)
     */
    secretsKeyArn?: string;
    partition?: string;
}

/**
 * Read-only policy of the PR preview role: read the state, log in to ECR (the program's getAuthorizationToken invoke
 * runs in a preview too), list and describe this stack's repositories, read its roles and policies. No push, no
 * writes of any kind, no secrets.
 */
export function previewReadPolicy(args: PreviewReadPolicyArgs): PolicyDocument {
    const statements: PolicyStatement[] = [...stateBackendStatements(args.stateBackend, "read", args.partition, args.checkpoint), loginStatement()];
    const repos = unique(args.repositoryArns);
    if (repos.length > 0) statements.push({ Sid: "DescribeStackRepositories", Effect: "Allow", Action: unique(ECR_PREVIEW_READ_ACTIONS), Resource: repos });
    const roles = unique(args.roleArns);
    if (roles.length > 0) statements.push({ Sid: "ReadStackRoles", Effect: "Allow", Action: unique(IAM_PREVIEW_ROLE_READ_ACTIONS), Resource: roles });
    const policies = unique(args.policyArns);
    if (args.secretsKeyArn !== undefined) statements.push({ Sid: "DecryptStateSecrets", Effect: "Allow", Action: "kms:Decrypt", Resource: args.secretsKeyArn });
    if (policies.length > 0) statements.push({ Sid: "ReadStackPolicies", Effect: "Allow", Action: unique([...IAM_PREVIEW_POLICY_READ_ACTIONS, "iam:GetOpenIDConnectProvider"]), Resource: policies });
    return { Version: "2012-10-17", Statement: statements };
}
