// The one IAM document model: policy documents and statements as IAM's JSON grammar spells them, and the small
// helpers every builder of lib/access/ shares. Pure data, no Pulumi resources.

/** A condition block: operator → condition key → value(s). */
export type PolicyCondition = Record<string, Record<string, string | string[]>>;

/** One IAM policy statement, as IAM's JSON grammar spells it. */
export interface PolicyStatement {
    Sid?: string;
    Effect: "Allow" | "Deny";
    Principal?: "*" | Record<string, string | string[]>;
    Action?: string | string[];
    NotAction?: string | string[];
    Resource?: string | string[];
    NotResource?: string | string[];
    Condition?: PolicyCondition;
}

/** An IAM policy document (identity policy or role trust policy). */
export interface PolicyDocument {
    Version: "2012-10-17";
    Statement: PolicyStatement[];
}

/** A string-or-list field as a list. */
export const toList = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);
/** Sorted, deduplicated strings (stable documents, so a reordering never changes a policy). */
export const unique = (xs: readonly string[]): string[] => [...new Set(xs)].sort();
/** Whether an IAM value holds a wildcard (`*` or `?`). */
export const hasWildcard = (s: string): boolean => /[*?]/.test(s);
/** Whether an IAM value is nothing but wildcards and slashes, such as a lone `*`. */
export const isWildcardOnly = (s: string): boolean => /^[*?/]+$/.test(s);

const globMatches = (pattern: string, value: string, caseInsensitive: boolean): boolean => {
    const re = new RegExp(`^${pattern.split("").map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\/]/g, "\\$&"))).join("")}$`, caseInsensitive ? "i" : "");
    return re.test(value);
};

/**
 * Whether the documents allow `action` on `resource` (IAM wildcards; an explicit Deny wins; NotAction/NotResource and
 * Conditions are not evaluated, so a conditional Allow counts as an allow). Enough to tell whether managed policies
 * grant the state backend, not a full IAM evaluator.
 */
export function documentsAllow(documents: readonly (PolicyDocument | string)[], action: string, resource: string): boolean {
    const statements = documents.flatMap((d) => toList((typeof d === "string" ? (JSON.parse(d) as PolicyDocument) : d).Statement ?? []));
    const matches = (s: PolicyStatement) =>
        toList(s.Action ?? []).some((a) => globMatches(a, action, true)) && toList(s.Resource ?? []).some((r) => globMatches(r, resource, false));
    return !statements.some((s) => s.Effect === "Deny" && matches(s)) && statements.some((s) => s.Effect === "Allow" && matches(s));
}
