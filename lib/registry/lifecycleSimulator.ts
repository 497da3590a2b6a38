/**
 * Offline model of one ECR lifecycle evaluation: which images of a repository a policy expires.
 * Implements the documented evaluation rules (ECR User Guide, "Lifecycle policy evaluation rules"):
 * - all rules are evaluated against all images, then applied in priority order (lowest first);
 * - an image is expired by at most one rule;
 * - an image that matches the tagging requirements of a rule cannot be expired by a lower-priority
 *   rule, yet lower-priority rules still count it ("identify them as if they haven't been expired");
 * - a tag list selects an image only if *every* entry matches one of the image's tags (prefix for
 *   `tagPrefixList`, whole-tag wildcard match for `tagPatternList`);
 * - `imageCountMoreThan` sorts the selection newest first by push time and expires all beyond the count;
 *   `sinceImagePushed` expires the selection pushed more than `countNumber` days ago;
 * - an image referenced by a manifest list cannot be expired while that manifest list exists.
 * Pure: no Pulumi, no AWS calls.
 */
import { tagPatternMatches } from "../images/tags";
import { EcrLifecyclePolicy, EcrLifecycleRule } from "./lifecyclePolicy";

/** One manifest in a repository, as `describe-images` reports it. */
export interface RegistryImage {
    /** Manifest digest `sha256:…`; unique within the repository. */
    digest: string;
    /** Tags on this manifest; empty for untagged images. */
    tags: string[];
    pushedAt: Date;
    /** For an image index (manifest list): the digests of the manifests it references. @default [] */
    childDigests?: string[];
}

/** An image the policy expires, and the rule that expires it. */
export interface ExpiredImage {
    image: RegistryImage;
    rulePriority: number;
}

/** An image the policy keeps, and why. */
export interface KeptImage {
    image: RegistryImage;
    /** Priority of the highest-priority rule whose tagging requirements the image matches (it shields the image from every lower rule); undefined if none. */
    claimedBy?: number;
    /** Digest of an existing manifest list that references this image (which blocks its expiry); undefined if none. */
    referencedBy?: string;
}

/** Outcome of one lifecycle evaluation; every input image is in exactly one list, in input order. */
export interface LifecycleOutcome {
    expired: ExpiredImage[];
    kept: KeptImage[];
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** True when the rule's tag requirements select the image (ignoring counts and ages). */
export function ruleSelects(rule: EcrLifecycleRule, image: RegistryImage): boolean {
    const s = rule.selection;
    if (s.tagStatus === "any") return true;
    if (s.tagStatus === "untagged") return image.tags.length === 0;
    if (image.tags.length === 0) return false;
    if (s.tagPrefixList !== undefined) return s.tagPrefixList.every((prefix) => image.tags.some((t) => t.startsWith(prefix)));
    if (s.tagPatternList !== undefined) return s.tagPatternList.every((pattern) => image.tags.some((t) => tagPatternMatches(pattern, t)));
    return false;
}

/** Newest first by push time; equal push times keep input order reversed (a later entry was pushed later). */
function newestFirst(images: { image: RegistryImage; index: number }[]) {
    return [...images].sort((a, b) => b.image.pushedAt.getTime() - a.image.pushedAt.getTime() || b.index - a.index);
}

/** Images the rule would mark on its own, before priorities are applied. */
function marked(rule: EcrLifecycleRule, selected: { image: RegistryImage; index: number }[], now: Date): Set<number> {
    const s = rule.selection;
    if (s.countType === "imageCountMoreThan") return new Set(newestFirst(selected).slice(s.countNumber).map((x) => x.index));
    const cutoff = now.getTime() - s.countNumber * DAY_MS;
    return new Set(selected.filter((x) => x.image.pushedAt.getTime() < cutoff).map((x) => x.index));
}

/**
 * Which images one evaluation of `policy` at time `now` expires, as ECR documents it.
 * Images referenced by a manifest list present in `images` are kept in this run; they become
 * eligible in a later run, after the list itself is gone.
 */
export function simulateLifecycle(policy: EcrLifecyclePolicy, images: RegistryImage[], now: Date): LifecycleOutcome {
    const digests = new Set<string>();
    for (const image of images) {
        if (digests.has(image.digest)) throw new Error(`image ${image.digest} is listed twice`);
        digests.add(image.digest);
    }
    const referencedBy = new Map<string, string>();
    for (const image of images) for (const child of image.childDigests ?? []) if (!referencedBy.has(child)) referencedBy.set(child, image.digest);

    const indexed = images.map((image, index) => ({ image, index }));
    const rules = [...policy.rules].sort((a, b) => a.rulePriority - b.rulePriority);
    const claimedBy = new Map<number, number>();
    const expiredBy = new Map<number, number>();
    for (const rule of rules) {
        const selected = indexed.filter((x) => ruleSelects(rule, x.image));
        for (const i of marked(rule, selected, now)) {
            if (!claimedBy.has(i) && !referencedBy.has(images[i].digest)) expiredBy.set(i, rule.rulePriority);
        }
        for (const x of selected) if (!claimedBy.has(x.index)) claimedBy.set(x.index, rule.rulePriority);
    }

    const outcome: LifecycleOutcome = { expired: [], kept: [] };
    indexed.forEach(({ image, index }) => {
        const by = expiredBy.get(index);
        if (by !== undefined) outcome.expired.push({ image, rulePriority: by });
        else outcome.kept.push({ image, claimedBy: claimedBy.get(index), referencedBy: referencedBy.get(image.digest) });
    });
    return outcome;
}
