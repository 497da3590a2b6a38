import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { pipelinePushPolicy } from "../../lib/access/ecrPolicies";
import { GITHUB_OIDC_AUDIENCE, GITHUB_OIDC_URL, githubOidcTrustPolicy, githubSubjectProblems } from "../../lib/access/githubOidc";
import { GithubSubject, IAM_SESSION_BOUNDS, OidcProviderMode, PIPELINE_SESSION_SECONDS } from "../../lib/access/settings";

/** Inputs of `PipelinePushAccess`. */
export interface PipelinePushAccessArgs {
    /** ARNs of this stack's ECR repositories, the only repositories the pipeline may push to. */
    repositoryArns: pulumi.Input<string>[];
    /** ARN pattern of the pull-through cache's repositories, so builds can pull base images through it. @default undefined */
    pullThroughCacheRepositoryArnPattern?: pulumi.Input<string>;
    /** GitHub repositories/branches/environments whose workflows may assume the role. */
    subjects: GithubSubject[];
    /** ARN of an existing GitHub Actions OIDC provider (one per account): neither created nor looked up. @default undefined */
    oidcProviderArn?: pulumi.Input<string>;
    /** Without oidcProviderArn: `create` the account's provider (one stack per account) or `lookup` the existing one by URL. @default "create" */
    oidcProvider?: OidcProviderMode;
    /** The role's maxSessionDuration (seconds), also published for the workflows' role-duration-seconds. @default PIPELINE_SESSION_SECONDS */
    maxSessionSeconds?: number;
    /** Managed policies granting what `pulumi up` needs (ECR/IAM management), chosen by admins. @default [] */
    deployPolicyArns?: string[];
    /** The generated deploy policy document (JSON, `deployPolicy` of lib/access/deployPolicy.ts), attached when the pipeline runs `pulumi up`. @default undefined (none) */
    deployPolicy?: pulumi.Input<string>;
    /** IAM path of the role and policies (`stackIamPath(stack)`), the scope of the deploy policy. @default "/" */
    iamPath?: string;
    /** ARN of the stack's permissions boundary (`stackBoundaryArn`), set on every role created; required when the pipeline runs `pulumi up`. @default undefined (none) */
    permissionsBoundary?: pulumi.Input<string>;
    /** Tags for the provider, role and policy. @default {} */
    tags?: Record<string, string>;
}

/**
 * Lets GitHub Actions workflows of the configured subjects assume a role (OIDC, audience `sts.amazonaws.com`) that
 * can push and pull images of exactly this stack's repositories. With `deployPolicy` (a stack whose pipeline runs
 * `pulumi up`), the role also gets the generated least-privilege deploy policy; `deployPolicyArns` add admin-chosen ones.
 */
export class PipelinePushAccess extends pulumi.ComponentResource {
    /** ARN of the role for aws-actions/configure-aws-credentials `role-to-assume`. */
    public readonly roleArn: pulumi.Output<string>;
    /** ARN of the OIDC provider the role trusts (created or referenced). */
    public readonly oidcProviderArn: pulumi.Output<string>;
    /** ARN of the push policy. */
    public readonly policyArn: pulumi.Output<string>;
    /** ARN of the generated deploy policy; undefined when the pipeline does not run `pulumi up`. */
    public readonly deployPolicyArn?: pulumi.Output<string>;
    /** The role's maxSessionDuration in seconds. */
    public readonly maxSessionSeconds: number;

    constructor(name: string, args: PipelinePushAccessArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mlci:access:PipelinePushAccess", name, {}, opts);
        // Fail at construction, not later inside an apply, when the subjects would trust nothing or everything.
        const problems = githubSubjectProblems(args.subjects, "subjects");
        if (problems.length > 0) {
            throw new pulumi.ResourceError(`PipelinePushAccessArgs: ${problems.map((p) => `${p.path}: ${p.message}; ${p.fix ?? ""}`).join("\n")}`, this);
        }
        const tags = args.tags ?? {};
        const maxSessionSeconds = args.maxSessionSeconds ?? PIPELINE_SESSION_SECONDS;
        if (!Number.isInteger(maxSessionSeconds) || maxSessionSeconds < IAM_SESSION_BOUNDS.min || maxSessionSeconds > IAM_SESSION_BOUNDS.max) {
            throw new pulumi.ResourceError(`PipelinePushAccessArgs.maxSessionSeconds: ${maxSessionSeconds} is outside IAM's ${IAM_SESSION_BOUNDS.min}-${IAM_SESSION_BOUNDS.max} seconds`, this);
        }

        // One provider per URL and account: created by one stack, looked up by the others (or given by ARN).
        // No thumbprints: for GitHub, IAM validates against its own trusted CAs and ignores them.
        const providerArn = args.oidcProviderArn !== undefined
            ? pulumi.output(args.oidcProviderArn)
            : (args.oidcProvider ?? "create") === "lookup"
              ? aws.iam.getOpenIdConnectProviderOutput({ url: GITHUB_OIDC_URL }, { parent: this }).arn
              : new aws.iam.OpenIdConnectProvider(`${name}-github-oidc`, {
                  url: GITHUB_OIDC_URL,
                  clientIdLists: [GITHUB_OIDC_AUDIENCE],
                  tags,
                  // The account's ONE provider: other stacks' roles trust it, so removing it from this stack never deletes it.
              }, { parent: this, retainOnDelete: true }).arn;

        const subjects = args.subjects;
        const role = new aws.iam.Role(`${name}-role`, {
            description: "GitHub Actions image pipeline: pushes ml-ci images",
            assumeRolePolicy: providerArn.apply((arn) => JSON.stringify(githubOidcTrustPolicy({ providerArn: arn, subjects }))),
            maxSessionDuration: maxSessionSeconds,
            path: args.iamPath,
            permissionsBoundary: args.permissionsBoundary,
            tags,
        }, { parent: this });

        const policy = new aws.iam.Policy(`${name}-push-policy`, {
            description: "Push and pull images of the ml-ci image repositories",
            policy: pulumi
                .all([pulumi.all(args.repositoryArns), pulumi.output(args.pullThroughCacheRepositoryArnPattern)])
                .apply(([repositoryArns, pattern]) =>
                    JSON.stringify(pipelinePushPolicy({ repositoryArns, pullThroughCacheRepositoryArnPattern: pattern }))),
            path: args.iamPath,
            tags,
        }, { parent: this });
        new aws.iam.RolePolicyAttachment(`${name}-push-attachment`, { role: role.name, policyArn: policy.arn }, { parent: this });

        let deployPolicyArn: pulumi.Output<string> | undefined;
        if (args.deployPolicy !== undefined) {
            const deploy = new aws.iam.Policy(`${name}-deploy-policy`, {
                description: "Run pulumi up of this ml-ci-images stack: its state, repositories, roles and policies only",
                policy: args.deployPolicy,
                path: args.iamPath,
                tags,
            }, { parent: this });
            new aws.iam.RolePolicyAttachment(`${name}-deploy-attachment`, { role: role.name, policyArn: deploy.arn }, { parent: this });
            deployPolicyArn = deploy.arn;
        }

        for (const arn of args.deployPolicyArns ?? []) {
            new aws.iam.RolePolicyAttachment(`${name}-deploy-${deployAttachmentSuffix(arn)}`, { role: role.name, policyArn: arn }, { parent: this });
        }

        this.roleArn = role.arn;
        this.oidcProviderArn = providerArn;
        this.policyArn = policy.arn;
        this.deployPolicyArn = deployPolicyArn;
        this.maxSessionSeconds = maxSessionSeconds;
        this.registerOutputs({ roleArn: this.roleArn, oidcProviderArn: this.oidcProviderArn, policyArn: this.policyArn });
    }
}

/** Stable, order-independent name part for a policy ARN: `<account|aws>-<path-and-name>`. */
function deployAttachmentSuffix(policyArn: string): string {
    const match = /^arn:[^:]+:iam::([^:]*):policy\/(.+)$/.exec(policyArn);
    const raw = match === null ? policyArn : `${match[1]}-${match[2]}`;
    return raw.replace(/[^A-Za-z0-9_.+=@-]+/g, "-");
}
