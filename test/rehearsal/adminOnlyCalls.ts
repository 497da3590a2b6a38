/**
 * The calls of an `up` that only the admin's `up` makes (decision record 0007, "Permissions boundary"): the
 * pipeline role's deploy policy denies them on purpose, so a pipeline can never raise its own rights. They
 * are the escalation denies of lib/access/deployPolicy.ts, restated here from the design, not imported, so a
 * change of the policy cannot silently change what the rehearsal expects.
 */
import { AwsCall } from "./actors";
import { ACCOUNT_ID } from "./awsAccount";

const iam = (kind: string, rest: string) => `arn:aws:iam::${ACCOUNT_ID}:${kind}/${rest}`;

/** Why only the admin may make the call, or undefined when the pipeline makes it too. */
export function adminOnlyReason(stack: string, call: AwsCall): string | undefined {
    const path = `ml-ci-images/${stack}/`;
    if (call.resource.startsWith(iam("policy", "ml-ci-images-boundary/")) && !/^iam:(Get|List)/.test(call.action)) return "the permissions boundary lives outside the stack path";
    if (call.resource.startsWith(iam("role", `${path}pipeline-access-role`)) && /^iam:(AttachRolePolicy|DetachRolePolicy|PutRolePolicy|DeleteRolePolicy|UpdateAssumeRolePolicy)$/.test(call.action)) {
        return "the pipeline role's own trust and policies";
    }
    if (call.resource.startsWith(iam("policy", `${path}pipeline-access-deploy-policy`)) && /^iam:(CreatePolicyVersion|SetDefaultPolicyVersion|DeletePolicyVersion|DeletePolicy)$/.test(call.action)) {
        return "the pipeline's own deploy policy";
    }
    if (call.resource.startsWith(iam("policy", `${path}runner-access-pull-policy`)) && /^iam:(CreatePolicy|CreatePolicyVersion|SetDefaultPolicyVersion)$/.test(call.action)) {
        return "the pull policy attached to the shared, boundary-less runner role";
    }
    return undefined;
}

/** The calls the pipeline role must be allowed: all but the admin-only ones. */
export function pipelineCalls(stack: string, calls: AwsCall[]): AwsCall[] {
    return calls.filter((c) => adminOnlyReason(stack, c) === undefined);
}

/** The request context of a call as the provider sends it: a stack role is created with the stack's boundary, the runner role passed to EC2. */
export function withStackContext(stack: string, call: AwsCall): AwsCall {
    if (call.action === "iam:CreateRole" || call.action === "iam:PutRolePermissionsBoundary") return { ...call, context: { ...call.context, "iam:PermissionsBoundary": iam("policy", `ml-ci-images-boundary/ml-ci-images-${stack}-boundary`) } };
    if (call.action === "iam:PassRole") return { ...call, context: { ...call.context, "iam:PassedToService": "ec2.amazonaws.com" } };
    return call;
}
