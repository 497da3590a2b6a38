/**
 * ECR lifecycle policy of an image-family repository, built from the retention config, plus
 * checks of ECR's structural rules and of the retention config itself. Pure: no Pulumi resources.
 *
 * ECR has no "keep" action; rules only expire. What keeps an image is the documented rule
 * "an image that matches the tagging requirements of a rule cannot be expired by a rule with a
 * lower priority" (ECR User Guide, lifecycle policy evaluation rules): a high-priority
 * `imageCountMoreThan` rule with a count no repository reaches selects (claims) the images to
 * keep and expires none of them. Lower-priority rules still *count* claimed images
 * ("rules ... can still identify them as if they haven't been expired").
 */
import type { ConfigProblem } from "../config/problems";
import type { StackConfig } from "../config/schema";
import { familyCells } from "../images/matrix";
import { GENERATED_TAG_PREFIXES, TAG_EXAMPLES, TAG_PATTERNS, tagPatternMatches } from "../images/tags";

/** Retention settings of `mlci:registry.retention` (already validated). */
export interface RetentionSettings {
    /** Days a dated tag (`<cell>-YYYYMMDD`) of a date-rebuilt family is kept. */
    datedTagDays: number;
    /** Newest content-hash builds kept per repository, across all its cells. */
    keepHashBuilds: number;
    /** Days an untagged image (a superseded cache ref, an orphaned manifest) is kept. */
    untaggedDays: number;
    /** Release tag patterns (`*` wildcards) whose images never expire. @default ["release-*", "v*"] */
    protectedTagPatterns: string[];
}

/** One rule's image selection, as in ECR's lifecycle policy JSON. */
export interface EcrRuleSelection {
    tagStatus: "tagged" | "untagged" | "any";
    tagPrefixList?: string[];
    tagPatternList?: string[];
    countType: "imageCountMoreThan" | "sinceImagePushed";
    countUnit?: "days";
    countNumber: number;
}

/** One rule of an ECR lifecycle policy. */
export interface EcrLifecycleRule {
    rulePriority: number;
    description?: string;
    selection: EcrRuleSelection;
    action: { type: "expire" };
}

/** An ECR lifecycle policy document (`PutLifecyclePolicy` text, parsed). */
export interface EcrLifecyclePolicy {
    rules: EcrLifecycleRule[];
}

/** `countNumber` of the keep rules: more images than one tag pattern will ever select (the value AWS's CDK documentation uses for "keep"). */
export const KEEP_FOREVER_COUNT = 9999;

/** ECR allows at most this many `*` wildcards in one tag pattern. */
export const MAX_PATTERN_WILDCARDS = 4;

/** Characters of an image tag, plus the `*` wildcard. */
const TAG_PATTERN_CHARS = /^[A-Za-z0-9_.*-]+$/;

const GENERATED_TAG_EXAMPLES = Object.values(TAG_EXAMPLES).flat();

const RETENTION_PATH = "registry.retention";

/** Options of {@link lifecyclePolicy}. */
export interface LifecyclePolicyOptions {
    /** The family is date-rebuilt and pushes `<cell>-YYYYMMDD` tags that expire after `datedTagDays`. @default false */
    datedTags?: boolean;
}

function wildcardCount(pattern: string): number {
    return pattern.split("*").length - 1;
}

/**
 * The lifecycle policy of one family repository. Rules, in priority order:
 * keep every `-latest` alias, every layer-cache ref and every protected release tag (one rule per
 * pattern, since a pattern list is an AND); expire dated tags after `datedTagDays` (date-rebuilt
 * families only); keep the newest `keepHashBuilds` content-hash builds; expire untagged images
 * after `untaggedDays`. Throws when the retention settings are invalid.
 */
export function lifecyclePolicy(retention: RetentionSettings, opts: LifecyclePolicyOptions = {}): EcrLifecyclePolicy {
    const problems = validateRetention(retention);
    if (problems.length > 0) throw new Error(`invalid retention settings:\n  - ${problems.join("\n  - ")}`);

    const selections: { description: string; selection: EcrRuleSelection }[] = [
        { description: "Keep every moving <cell>-latest alias", selection: keep(TAG_PATTERNS.latest) },
        { description: "Keep every BuildKit layer-cache ref cache-<cell>", selection: keep(TAG_PATTERNS.cache) },
        ...retention.protectedTagPatterns.map((p) => ({ description: `Keep every protected release tag ${p}`, selection: keep(p) })),
    ];
    if (opts.datedTags ?? false) {
        selections.push({
            description: `Expire dated <cell>-YYYYMMDD images after ${days(retention.datedTagDays)}`,
            selection: { tagStatus: "tagged", tagPatternList: [TAG_PATTERNS.dated], countType: "sinceImagePushed", countUnit: "days", countNumber: retention.datedTagDays },
        });
    }
    selections.push(
        {
            description: `Keep the newest ${retention.keepHashBuilds} content-hash builds`,
            selection: { tagStatus: "tagged", tagPatternList: [TAG_PATTERNS.content], countType: "imageCountMoreThan", countNumber: retention.keepHashBuilds },
        },
        {
            description: `Keep the newest ${retention.keepHashBuilds} forced rebuilds`,
            selection: { tagStatus: "tagged", tagPatternList: [TAG_PATTERNS.forced], countType: "imageCountMoreThan", countNumber: retention.keepHashBuilds },
        },
        {
            description: `Expire untagged images after ${days(retention.untaggedDays)}`,
            selection: { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: retention.untaggedDays },
        },
    );
    return { rules: selections.map((s, i) => ({ rulePriority: i + 1, description: s.description, selection: s.selection, action: { type: "expire" } })) };
}

function days(n: number): string {
    return `${n} day${n === 1 ? "" : "s"}`;
}

function keep(pattern: string): EcrRuleSelection {
    return { tagStatus: "tagged", tagPatternList: [pattern], countType: "imageCountMoreThan", countNumber: KEEP_FOREVER_COUNT };
}

const RULE_KEYS = new Set(["rulePriority", "description", "selection", "action"]);
const SELECTION_KEYS = new Set(["tagStatus", "tagPrefixList", "tagPatternList", "countType", "countUnit", "countNumber"]);

function isPositiveInt(n: unknown): n is number {
    return typeof n === "number" && Number.isInteger(n) && n >= 1;
}

/**
 * Checks a lifecycle policy document against ECR's documented structural rules: unique integer
 * priorities, the `any` rule last, one `untagged` rule, `tagged` rules with exactly one non-empty
 * tag list of at most 4 wildcards per pattern, `countUnit` only with `sinceImagePushed`, positive
 * integer counts, action `expire`, and unique tag lists. Returns one message per problem.
 */
export function validateLifecyclePolicy(doc: unknown): string[] {
    const problems: string[] = [];
    if (typeof doc !== "object" || doc === null || !Array.isArray((doc as { rules?: unknown }).rules)) return ['the policy must be an object with a "rules" array'];
    const extra = Object.keys(doc).filter((k) => k !== "rules");
    if (extra.length > 0) problems.push(`unknown top-level properties ${extra.join(", ")}`);
    const rules = (doc as { rules: unknown[] }).rules;
    if (rules.length === 0) problems.push("the policy has no rules");

    const priorities = new Map<number, number>();
    const tagLists = new Map<string, number>();
    let untagged = 0;
    let anyPriority: number | undefined;
    let maxPriority = -Infinity;
    rules.forEach((raw, i) => {
        const at = `rules[${i}]`;
        if (typeof raw !== "object" || raw === null) {
            problems.push(`${at}: must be an object`);
            return;
        }
        const rule = raw as Record<string, unknown>;
        for (const k of Object.keys(rule)) if (!RULE_KEYS.has(k)) problems.push(`${at}: unknown property "${k}"`);
        const p = rule.rulePriority;
        if (!isPositiveInt(p)) problems.push(`${at}: rulePriority must be a positive integer, got ${JSON.stringify(p)}`);
        else {
            if (priorities.has(p)) problems.push(`${at}: rulePriority ${p} is also used by rules[${priorities.get(p)}]; priorities must be unique`);
            priorities.set(p, i);
            maxPriority = Math.max(maxPriority, p);
        }
        if (rule.description !== undefined && typeof rule.description !== "string") problems.push(`${at}: description must be a string`);
        const action = rule.action as Record<string, unknown> | undefined;
        if (typeof action !== "object" || action === null || action.type !== "expire" || Object.keys(action).length !== 1) problems.push(`${at}: action must be {"type":"expire"}`);

        const sel = rule.selection as Record<string, unknown> | undefined;
        if (typeof sel !== "object" || sel === null) {
            problems.push(`${at}: selection is required`);
            return;
        }
        for (const k of Object.keys(sel)) if (!SELECTION_KEYS.has(k)) problems.push(`${at}: unknown selection property "${k}"`);
        const status = sel.tagStatus;
        const lists = (["tagPrefixList", "tagPatternList"] as const).filter((k) => sel[k] !== undefined);
        if (status === "tagged") {
            if (lists.length !== 1) problems.push(`${at}: a tagged rule needs exactly one of tagPrefixList or tagPatternList, got ${lists.length === 0 ? "neither" : "both"}`);
            for (const k of lists) {
                const list = sel[k];
                if (!Array.isArray(list) || list.length === 0 || !list.every((s) => typeof s === "string" && s.length > 0)) {
                    problems.push(`${at}: ${k} must be a non-empty list of non-empty strings`);
                    continue;
                }
                for (const s of list as string[]) {
                    if (k === "tagPatternList" && wildcardCount(s) > MAX_PATTERN_WILDCARDS) problems.push(`${at}: tag pattern "${s}" has ${wildcardCount(s)} wildcards; ECR allows at most ${MAX_PATTERN_WILDCARDS}`);
                    if (k === "tagPrefixList" && s.includes("*")) problems.push(`${at}: tag prefix "${s}" contains "*"; use tagPatternList for wildcards`);
                    if (!TAG_PATTERN_CHARS.test(s)) problems.push(`${at}: "${s}" has characters an image tag cannot contain`);
                }
                const key = `${k}:${[...(list as string[])].sort().join("\u0000")}`;
                if (tagLists.has(key)) problems.push(`${at}: the same ${k} as rules[${tagLists.get(key)}]; the set of rules must have unique tag lists`);
                else tagLists.set(key, i);
            }
        } else if (status === "untagged" || status === "any") {
            if (lists.length > 0) problems.push(`${at}: a ${status} rule must not have ${lists.join(" or ")}`);
            if (status === "untagged") {
                untagged += 1;
                if (untagged === 2) problems.push(`${at}: only one rule may select untagged images`);
            } else if (isPositiveInt(p)) {
                if (anyPriority !== undefined) problems.push(`${at}: only one rule may have tagStatus "any"`);
                anyPriority = p;
            }
        } else problems.push(`${at}: tagStatus must be "tagged", "untagged" or "any", got ${JSON.stringify(status)}`);

        if (sel.countType === "sinceImagePushed") {
            if (sel.countUnit !== "days") problems.push(`${at}: a sinceImagePushed rule needs countUnit "days"`);
        } else if (sel.countType === "imageCountMoreThan") {
            if (sel.countUnit !== undefined) problems.push(`${at}: countUnit is only allowed with countType sinceImagePushed`);
        } else problems.push(`${at}: countType must be "imageCountMoreThan" or "sinceImagePushed", got ${JSON.stringify(sel.countType)}`);
        if (!isPositiveInt(sel.countNumber)) problems.push(`${at}: countNumber must be a positive integer (0 is not accepted), got ${JSON.stringify(sel.countNumber)}`);
    });
    if (anyPriority !== undefined && anyPriority !== maxPriority) problems.push(`the tagStatus "any" rule (priority ${anyPriority}) must have the highest rulePriority (${maxPriority} is higher)`);
    return problems;
}

function render(p: ConfigProblem): string {
    return `mlci:${p.path}: ${p.message}${p.fix ? `; ${p.fix}` : ""}`;
}

/** {@link validateRetention} as structured problems, for the config's `extraChecks`. */
export function retentionProblems(r: RetentionSettings): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    const counts: [keyof RetentionSettings, string, number][] = [
        ["datedTagDays", "days", 7],
        ["untaggedDays", "days", 1],
        ["keepHashBuilds", "images", 20],
    ];
    for (const [field, unit, example] of counts) {
        const v = r[field];
        if (!isPositiveInt(v)) {
            problems.push({ path: `${RETENTION_PATH}.${field}`, message: `${JSON.stringify(v)} is not a whole number of ${unit} of at least 1 (ECR rejects 0 and fractions)`, fix: `set it to a positive integer such as ${example}` });
        }
    }
    if (isPositiveInt(r.keepHashBuilds) && r.keepHashBuilds >= KEEP_FOREVER_COUNT) {
        problems.push({ path: `${RETENTION_PATH}.keepHashBuilds`, message: `${r.keepHashBuilds} is not below ${KEEP_FOREVER_COUNT}, the count the keep rules use`, fix: `set it below ${KEEP_FOREVER_COUNT}` });
    }
    const seen = new Map<string, number>();
    (r.protectedTagPatterns ?? []).forEach((pattern, i) => {
        const path = `${RETENTION_PATH}.protectedTagPatterns[${i}]`;
        if (typeof pattern !== "string" || pattern.length === 0) {
            problems.push({ path, message: "is empty", fix: 'remove it or give a release pattern such as "release-*"' });
            return;
        }
        if (wildcardCount(pattern) > MAX_PATTERN_WILDCARDS) {
            problems.push({ path, message: `"${pattern}" has ${wildcardCount(pattern)} wildcards; ECR allows at most ${MAX_PATTERN_WILDCARDS} per pattern`, fix: "use at most 4 \"*\"" });
        }
        if (!TAG_PATTERN_CHARS.test(pattern) || pattern.length > 128) {
            problems.push({ path, message: `"${pattern}" is not an image tag pattern (letters, digits, "_", ".", "-", "*"; at most 128 characters)`, fix: "use a pattern such as \"release-*\"" });
        }
        if (seen.has(pattern)) problems.push({ path, message: `"${pattern}" repeats protectedTagPatterns[${seen.get(pattern)}]`, fix: "remove the duplicate" });
        else seen.set(pattern, i);
        // Generated tags all start with "cuda", "py" or "cache-". A pattern whose literal prefix is
        // compatible with one of those (or empty) could match some hash or dated tag: reject it.
        const literalPrefix = pattern.split("*")[0];
        const clash = GENERATED_TAG_PREFIXES.find((g) => g.startsWith(literalPrefix) || literalPrefix.startsWith(g));
        const caught = GENERATED_TAG_EXAMPLES.find((t) => tagPatternMatches(pattern, t)) ?? (clash !== undefined ? `${clash}…` : undefined);
        if (caught !== undefined) {
            problems.push({
                path,
                message: `"${pattern}" also matches the generated tag "${caught}", so every build would be kept forever`,
                fix: 'protect release tags only, with a pattern that cannot match "<cell>-latest", "<cell>-<hash>", "<cell>-YYYYMMDD" or "cache-<cell>" (e.g. "release-*")',
            });
        }
    });
    return problems;
}

/** Problems in the retention settings (non-positive or fractional counts, bad or over-broad release patterns), each naming its config path and fix. */
export function validateRetention(r: RetentionSettings): string[] {
    return retentionProblems(r).map(render);
}

/** {@link validateKeepHashBuilds} as structured problems. */
export function keepHashBuildsProblems(r: Pick<RetentionSettings, "keepHashBuilds">, cellsByFamily: Record<string, number>): ConfigProblem[] {
    return Object.entries(cellsByFamily)
        .filter(([, cells]) => r.keepHashBuilds < cells)
        .map(([family, cells]) => ({
            path: `${RETENTION_PATH}.keepHashBuilds`,
            message: `${r.keepHashBuilds} is fewer than the ${cells} matrix cells of family "${family}"`,
            fix: `set it to at least ${cells}`,
        }));
}

/**
 * Problems when `keepHashBuilds` (counted per repository, across cells) is below a family's
 * cell count: the newest build of every cell is what the stack outputs reference.
 */
export function validateKeepHashBuilds(r: Pick<RetentionSettings, "keepHashBuilds">, cellsByFamily: Record<string, number>): string[] {
    return keepHashBuildsProblems(r, cellsByFamily).map(render);
}

/** A family's retention: the stack's, with the family's own `keepHashBuilds` when it sets one. */
export function familyRetention(retention: RetentionSettings, family: { keepHashBuilds?: number }): RetentionSettings {
    return family.keepHashBuilds === undefined ? retention : { ...retention, keepHashBuilds: family.keepHashBuilds };
}

/** Every retention check against a parsed stack config; pass it in `ParseOptions.extraChecks`. */
export function retentionConfigChecks(config: StackConfig): ConfigProblem[] {
    if (config.registry.backend !== "ecr") return [];
    const stackWide = config.families.filter((f) => f.keepHashBuilds === undefined);
    const cellsByFamily = Object.fromEntries(stackWide.map((f) => [f.name, familyCells(f, config.matrix).length]));
    const own = config.families
        .filter((f) => f.keepHashBuilds !== undefined && f.keepHashBuilds < familyCells(f, config.matrix).length)
        .map((f) => ({
            path: `families.${f.name}.keepHashBuilds`,
            message: `${f.keepHashBuilds} is fewer than the ${familyCells(f, config.matrix).length} matrix cells of family "${f.name}"`,
            fix: `set it to at least ${familyCells(f, config.matrix).length}`,
        }));
    return [...retentionProblems(config.registry.retention), ...keepHashBuildsProblems(config.registry.retention, cellsByFamily), ...own];
}
