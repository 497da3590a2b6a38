// The ONE IAM wildcard linter: the tests and the policy pack (`iam-no-wildcards`) both use it.
import { hasWildcard, isWildcardOnly, toList } from "./documents";
import { ECR_LOGIN_ACTION } from "./ecrPolicies";

/**
 * Actions that AWS does not scope by resource ("Resource types: none" in the Service Authorization Reference), each
 * with the reason the deploy policy needs it. The wildcard linter accepts `Resource: "*"` for exactly these.
 */
export const STAR_RESOURCE_JUSTIFICATIONS: Readonly<Record<string, string>> = {
    [ECR_LOGIN_ACTION]: "registry login; the token covers the whole registry",
    "ecr:PutRegistryScanningConfiguration": "the account-wide scanning configuration (manageRegistrySettings)",
    "ecr:GetRegistryScanningConfiguration": "reads the account-wide scanning configuration (its owner; the scan gate tells a MANUAL repository)",
    "ecr:PutReplicationConfiguration": "the account-wide replication configuration (manageRegistrySettings)",
    "ecr:DescribeRegistry": "reads the account-wide replication configuration (manageRegistrySettings)",
    "ecr:CreateRepositoryCreationTemplate": "creation templates of replicas (manageRegistrySettings with replication)",
    "ecr:DescribeRepositoryCreationTemplates": "reads the creation templates",
    "ecr:UpdateRepositoryCreationTemplate": "updates the creation templates",
    "ecr:DeleteRepositoryCreationTemplate": "deletes the creation templates",
    "ecr:CreatePullThroughCacheRule": "the stack's pull-through cache rule (only the stack that owns it); AWS scopes cache rules by no resource",
    "ecr:DescribePullThroughCacheRules": "reads the pull-through cache rule (only the stack that owns it)",
    "ecr:UpdatePullThroughCacheRule": "updates the cache rule's credential (only the stack that owns it)",
    "ecr:DeletePullThroughCacheRule": "deletes the cache rule (only the stack that owns it)",
    "iam:ListOpenIDConnectProviders": "aws.iam.getOpenIdConnectProvider by URL (oidcProvider: lookup) lists the account's providers",
};
const STAR_RESOURCE_ACTIONS: ReadonlySet<string> = new Set(Object.keys(STAR_RESOURCE_JUSTIFICATIONS).map((a) => a.toLowerCase()));

function arnIsTooBroad(resource: string): string | undefined {
    const parts = resource.split(":");
    if (parts.length < 6 || parts[0] !== "arn") return undefined;
    const [, , service, region, account] = parts;
    const rest = parts.slice(5).join(":");
    if (hasWildcard(service) || hasWildcard(region) || hasWildcard(account)) return "wildcard service, region or account";
    if (service === "ecr" && /^repository\/[*?]*$/.test(rest)) return "every repository of the registry";
    if (isWildcardOnly(rest)) return "every resource of the service";
    return undefined;
}

/** Options of {@link findWildcardViolations}. */
export interface WildcardCheckOptions {
    /**
     * Recognizes a value not known yet (the policy pack's preview-time unknowns): an unknown document, statement,
     * effect or list is not reported, and known values next to it still are. @default nothing is unknown
     */
    isUnknown?: (value: unknown) => boolean;
}

/**
 * Allow-statements broader than this project permits, one message each with its fix: `Resource: "*"` except for
 * a statement whose every action is in STAR_RESOURCE_JUSTIFICATIONS (AWS scopes them by no resource), the actions `*`,
 * `<service>:*` and any ECR/IAM wildcard (`ecr:Put*`), NotAction/NotResource, registry-wide or wildcard-account
 * ARNs, `*` principals. Deny statements may be broad. The ONE IAM linter: the tests and the policy pack
 * (`iam-no-wildcards`) both use it.
 */
export function findWildcardViolations(document: unknown, opts: WildcardCheckOptions = {}): string[] {
    const unknown = opts.isUnknown ?? (() => false);
    if (document === undefined || document === null || unknown(document)) return [];
    let doc: unknown = document;
    if (typeof document === "string") {
        try {
            doc = JSON.parse(document);
        } catch (e) {
            return [`is not valid JSON (${(e as Error).message}), so it cannot be checked`];
        }
    }
    const get = (v: unknown, key: string): unknown => (unknown(v) ? v : v !== null && typeof v === "object" ? (v as Record<string, unknown>)[key] : undefined);
    /** The known strings of a string-or-list field, and whether the whole list is known. */
    const strings = (v: unknown): { values: string[]; complete: boolean } => {
        if (unknown(v)) return { values: [], complete: false };
        const list = v === undefined ? [] : Array.isArray(v) ? v : [v];
        return { values: list.filter((x): x is string => typeof x === "string"), complete: !list.some(unknown) };
    };
    const statements = get(doc, "Statement");
    if (unknown(statements)) return [];
    const violations: string[] = [];
    toList(statements ?? []).forEach((s, i) => {
        if (unknown(s) || s === null || typeof s !== "object") return;
        const effect = get(s, "Effect");
        if (effect !== "Allow") return;
        const sid = get(s, "Sid");
        const where = `Statement[${i}]${typeof sid === "string" ? ` (Sid "${sid}")` : ""}`;
        if (get(s, "NotAction") !== undefined) violations.push(`${where} uses NotAction in an Allow statement, which grants every other action: list the actions it needs`);
        if (get(s, "NotResource") !== undefined) violations.push(`${where} uses NotResource in an Allow statement, which grants every other resource: list the resources it needs`);
        const actions = strings(get(s, "Action"));
        for (const action of actions.values) {
            const [service, name] = action.toLowerCase().split(":", 2);
            if (action === "*" || name === "*" || (hasWildcard(action) && (service === "ecr" || service === "iam"))) {
                violations.push(`${where} allows the wildcard action "${action}": list the actions it needs`);
            }
        }
        for (const resource of strings(get(s, "Resource")).values) {
            if (resource === "*") {
                const broad = actions.values.filter((a) => !STAR_RESOURCE_ACTIONS.has(a.toLowerCase()));
                if (broad.length > 0) {
                    violations.push(`${where} allows Resource "*" for ${broad.join(", ")}: only actions AWS does not scope by resource (${ECR_LOGIN_ACTION}, the registry-wide settings: STAR_RESOURCE_JUSTIFICATIONS) may use Resource "*", in a statement of their own; scope the others to their ARNs`);
                } else if (actions.complete && actions.values.length === 0) {
                    violations.push(`${where} allows Resource "*" without a known action list: only actions listed in STAR_RESOURCE_JUSTIFICATIONS may use Resource "*"`);
                }
                continue;
            }
            const why = arnIsTooBroad(resource);
            if (why !== undefined) violations.push(`${where} allows resource "${resource}", which covers ${why}: name the stack's own resources`);
        }
        const principal = get(s, "Principal");
        if (principal === "*" || (principal !== null && typeof principal === "object" && !unknown(principal) && Object.values(principal).some((p) => toList(p).includes("*")))) {
            violations.push(`${where} trusts Principal "*", which lets anyone assume or use this: name the principals`);
        }
    });
    return violations;
}
