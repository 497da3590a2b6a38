import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ec2TrustPolicy, runnerPullPolicy } from "../../lib/access/ecrPolicies";

/** Inputs of `RunnerPullAccess`. */
export interface RunnerPullAccessArgs {
    /** ARNs of this stack's ECR repositories, the only repositories the runners may pull from. */
    repositoryArns: pulumi.Input<string>[];
    /** ARN pattern of the pull-through cache's repositories (`…:repository/docker-hub/*`); unset grants no cache pulls. @default undefined */
    pullThroughCacheRepositoryArnPattern?: pulumi.Input<string>;
    /** Create a dedicated runner role (EC2 trust) and instance profile for launch templates. @default true */
    createRole?: boolean;
    /** Names of existing runner roles (e.g. from a github-runner module) that also get the pull policy. @default [] */
    existingRoleNames?: string[];
    /** IAM path of the role, policy and instance profile (`stackIamPath(stack)`): the policy attached to shared runner roles is then stack-scoped. @default "/" */
    iamPath?: string;
    /** ARN of the stack's permissions boundary (`stackBoundaryArn`), set on every role created; required when the pipeline runs `pulumi up`. @default undefined (none) */
    permissionsBoundary?: pulumi.Input<string>;
    /** Tags for the role, policy and instance profile. @default {} */
    tags?: Record<string, string>;
}

/**
 * Lets GPU CI runners pull this stack's images (and images through the pull-through cache) and nothing else:
 * one pull policy, attached to a new EC2 role with an instance profile and/or to existing runner roles.
 */
export class RunnerPullAccess extends pulumi.ComponentResource {
    /** ARN of the created runner role; undefined when `createRole` is false. */
    public readonly roleArn: pulumi.Output<string | undefined>;
    /** Name of the created runner role; undefined when `createRole` is false. */
    public readonly roleName: pulumi.Output<string | undefined>;
    /** Instance profile name for launch templates; undefined when `createRole` is false. */
    public readonly instanceProfileName: pulumi.Output<string | undefined>;
    /** Instance profile ARN for launch templates; undefined when `createRole` is false. */
    public readonly instanceProfileArn: pulumi.Output<string | undefined>;
    /** ARN of the pull policy (attach it elsewhere if needed). */
    public readonly policyArn: pulumi.Output<string>;

    constructor(name: string, args: RunnerPullAccessArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mlci:access:RunnerPullAccess", name, {}, opts);
        const tags = args.tags ?? {};
        const existingRoleNames = args.existingRoleNames ?? [];

        const policyDocument = pulumi
            .all([pulumi.all(args.repositoryArns), pulumi.output(args.pullThroughCacheRepositoryArnPattern)])
            .apply(([repositoryArns, pattern]) =>
                JSON.stringify(runnerPullPolicy({ repositoryArns, pullThroughCacheRepositoryArnPattern: pattern })));
        const policy = new aws.iam.Policy(`${name}-pull-policy`, {
            description: "Pull images from the ml-ci image repositories and the pull-through cache",
            policy: policyDocument,
            path: args.iamPath,
            tags,
        }, { parent: this });

        let role: aws.iam.Role | undefined;
        let profile: aws.iam.InstanceProfile | undefined;
        if (args.createRole ?? true) {
            role = new aws.iam.Role(`${name}-role`, {
                description: "GPU CI runner: pulls ml-ci images",
                assumeRolePolicy: JSON.stringify(ec2TrustPolicy()),
                path: args.iamPath,
                permissionsBoundary: args.permissionsBoundary,
                tags,
            }, { parent: this });
            new aws.iam.RolePolicyAttachment(`${name}-pull-attachment`, { role: role.name, policyArn: policy.arn }, { parent: this });
            profile = new aws.iam.InstanceProfile(`${name}-instance-profile`, { role: role.name, path: args.iamPath, tags }, { parent: this });
        }
        for (const roleName of existingRoleNames) {
            // Keyed by role name, not position, so reordering the config list replaces nothing.
            new aws.iam.RolePolicyAttachment(`${name}-pull-${roleName}`, { role: roleName, policyArn: policy.arn }, { parent: this });
        }

        this.roleArn = role === undefined ? pulumi.output(undefined) : role.arn;
        this.roleName = role === undefined ? pulumi.output(undefined) : role.name;
        this.instanceProfileName = profile === undefined ? pulumi.output(undefined) : profile.name;
        this.instanceProfileArn = profile === undefined ? pulumi.output(undefined) : profile.arn;
        this.policyArn = policy.arn;
        this.registerOutputs({
            roleArn: this.roleArn,
            roleName: this.roleName,
            instanceProfileName: this.instanceProfileName,
            instanceProfileArn: this.instanceProfileArn,
            policyArn: this.policyArn,
        });
    }
}
