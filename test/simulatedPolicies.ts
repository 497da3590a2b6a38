/**
 * Unit tests ask iam-simulate (through the rehearsal's evaluator, test/rehearsal/iamEvaluator.ts; decision record
 * 0008) whether generated policy documents allow a call: conditions, explicit denies and actions without
 * resource-level permissions are evaluated as IAM does, where the old hand glob matcher (`documentsAllow`) ignored
 * conditions and matched unscopable actions on any ARN.
 */
import { PolicyDocument } from "../lib/access/documents";
import { evaluate } from "./rehearsal/iamEvaluator";

const ACCOUNT = "123456789012";
/** The default key policy: the account's IAM policies decide (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html). */
const DEFAULT_KEY_POLICY = { Version: "2012-10-17", Statement: [{ Sid: "Enable IAM User Permissions", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "kms:*", Resource: "*" }] };

/** The request context a call of the stack's `up` carries, as terraform-provider-aws sends it. */
export function upContext(action: string, stack = "prod", extra: Record<string, string> = {}): Record<string, string> {
    const ctx: Record<string, string> = { ...extra };
    if ((action === "iam:CreateRole" || action === "iam:PutRolePermissionsBoundary") && ctx["iam:PermissionsBoundary"] === undefined) ctx["iam:PermissionsBoundary"] = `arn:aws:iam::${ACCOUNT}:policy/ml-ci-images-boundary/ml-ci-images-${stack}-boundary`;
    if (action === "iam:PassRole" && ctx["iam:PassedToService"] === undefined) ctx["iam:PassedToService"] = "ec2.amazonaws.com";
    return ctx;
}

/** Whether the identity policies allow `action` on `resource` with `context`, by iam-simulate. */
export async function simulatedAllow(documents: readonly PolicyDocument[], action: string, resource: string, context: Record<string, string> = {}): Promise<boolean> {
    const d = await evaluate({
        principal: `arn:aws:sts::${ACCOUNT}:assumed-role/ml-ci-images-test/session`,
        action,
        resource,
        resourceAccount: ACCOUNT,
        identityPolicies: documents.map((policy, i) => ({ name: `policy-${i}`, policy })),
        resourcePolicy: action.startsWith("kms:") ? DEFAULT_KEY_POLICY : undefined,
        context,
    });
    if (d.result.startsWith("error:")) throw new Error(`iam-simulate refused ${action} on ${resource}: ${d.result}`);
    return d.allowed;
}
