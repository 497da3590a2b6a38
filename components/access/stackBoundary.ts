import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { BOUNDARY_IAM_PATH } from "../../lib/access/deployPolicy";

/** Inputs of `StackBoundary`. */
export interface StackBoundaryArgs {
    /** The policy's name (`stackBoundaryPolicyName(stack)`): fixed, because the deploy policy names it before it exists. */
    policyName: string;
    /** The boundary document (JSON, `stackPermissionsBoundary` of lib/access/deployPolicy.ts). */
    policy: pulumi.Input<string>;
    /** Tags for the policy. @default {} */
    tags?: Record<string, string>;
}

/**
 * The stack's permissions boundary (cdk-bootstrap style, decision record 0007): a managed policy under
 * BOUNDARY_IAM_PATH, outside the stack's IAM path, so only the admin's `up` can create or change it; every role
 * the stack creates carries it.
 */
export class StackBoundary extends pulumi.ComponentResource {
    /** ARN of the boundary policy, for the roles' `permissionsBoundary`. */
    public readonly policyArn: pulumi.Output<string>;

    constructor(name: string, args: StackBoundaryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mlci:access:StackBoundary", name, {}, opts);
        const policy = new aws.iam.Policy(`${name}-policy`, {
            name: args.policyName,
            path: BOUNDARY_IAM_PATH,
            description: "Permissions boundary of the ml-ci-images stack's roles: its own rights, no privilege escalation",
            policy: args.policy,
            tags: args.tags ?? {},
        }, { parent: this });
        this.policyArn = policy.arn;
        this.registerOutputs({ policyArn: this.policyArn });
    }
}
