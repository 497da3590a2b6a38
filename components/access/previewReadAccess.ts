import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { previewReadPolicy } from "../../lib/access/ecrPolicies";
import { githubOidcTrustPolicy } from "../../lib/access/githubOidc";
import type { StateBackendSettings } from "../../lib/access/settings";

/** Inputs of `PreviewReadAccess`. */
export interface PreviewReadAccessArgs {
    /** ARN of the account's GitHub Actions OIDC provider (the pipeline's). */
    oidcProviderArn: pulumi.Input<string>;
    /** "owner/name" repositories whose `pull_request` workflows may assume the role. */
    repositories: string[];
    /** ARNs of this stack's repositories (described and listed, never pulled or pushed). */
    repositoryArns: pulumi.Input<string>[];
    /** ARNs of this stack's roles (read). @default [] */
    roleArns?: pulumi.Input<string>[];
    /** ARNs of this stack's managed policies and OIDC provider (read). @default [] */
    policyArns?: pulumi.Input<string>[];
    /** Where the state lives; Pulumi Cloud needs no AWS rights. @default undefined (no state statements) */
    stateBackend?: StateBackendSettings;
    /** The project and stack whose checkpoint the preview reads: only that, never history or backups. @default the whole `.pulumi/` prefix */
    checkpoint?: { project: string; stack: string };
    /** KMS key of the state's awskms secrets provider (kms:Decrypt only). @default undefined */
    secretsKeyArn?: string;
    /** IAM path of the role and policy (`stackIamPath(stack)`). @default "/" */
    iamPath?: string;
    /** ARN of the stack's permissions boundary (`stackBoundaryArn`), set on every role created; required when the pipeline runs `pulumi up`. @default undefined (none) */
    permissionsBoundary?: pulumi.Input<string>;
    /** Tags for the role and policy. @default {} */
    tags?: Record<string, string>;
}

/**
 * The read-only role of the PR preview: trusted for `repo:<owner>/<repo>:pull_request` subjects only, it reads the
 * state and describes this stack's repositories, roles and policies. It cannot push images, change resources or
 * write GitHub variables or secrets.
 */
export class PreviewReadAccess extends pulumi.ComponentResource {
    /** ARN of the role for the preview's `role-to-assume` (published as CI_IMAGES_PREVIEW_ROLE_ARN). */
    public readonly roleArn: pulumi.Output<string>;
    /** ARN of the read policy. */
    public readonly policyArn: pulumi.Output<string>;

    constructor(name: string, args: PreviewReadAccessArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mlci:access:PreviewReadAccess", name, {}, opts);
        if (args.repositories.length === 0) throw new pulumi.ResourceError("PreviewReadAccessArgs.repositories: empty, so no pull request could assume the role", this);
        const tags = args.tags ?? {};
        const subjects = args.repositories.map((repo) => ({ repo, pullRequests: true }));
        const role = new aws.iam.Role(`${name}-role`, {
            description: "GitHub Actions PR preview: reads the ml-ci-images state and resources",
            assumeRolePolicy: pulumi.output(args.oidcProviderArn).apply((arn) => JSON.stringify(githubOidcTrustPolicy({ providerArn: arn, subjects }))),
            path: args.iamPath,
            permissionsBoundary: args.permissionsBoundary,
            tags,
        }, { parent: this });
        const policy = new aws.iam.Policy(`${name}-read-policy`, {
            description: "Read the ml-ci-images state, repositories, roles and policies",
            policy: pulumi
                .all([pulumi.all(args.repositoryArns), pulumi.all(args.roleArns ?? []), pulumi.all(args.policyArns ?? [])])
                .apply(([repositoryArns, roleArns, policyArns]) => JSON.stringify(previewReadPolicy({ repositoryArns, roleArns, policyArns, stateBackend: args.stateBackend, checkpoint: args.checkpoint, secretsKeyArn: args.secretsKeyArn }))),
            path: args.iamPath,
            tags,
        }, { parent: this });
        new aws.iam.RolePolicyAttachment(`${name}-read-attachment`, { role: role.name, policyArn: policy.arn }, { parent: this });
        this.roleArn = role.arn;
        this.policyArn = policy.arn;
        this.registerOutputs({ roleArn: this.roleArn, policyArn: this.policyArn });
    }
}
