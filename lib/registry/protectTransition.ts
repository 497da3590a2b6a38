/**
 * Pulumi reads `protect` and `retainOnDelete` from the STATE (pulumi/pulumi#13428): turning `registry.protect` on in
 * the same update as a change that replaces or deletes a repository still deletes it, with its images. This finds
 * that combination between two plans of a stack (the previous revision's and the working tree's), for `ci-images
 * check --since`. Pure.
 */
import type { ConfigProblem } from "../config/problems";

/** What a plan says about the stack's repositories. */
export interface RepositoryPlan {
    registry: { prefix: string; protect: boolean; encryption: unknown };
    families: { name: string }[];
}

const repositoryNames = (p: RepositoryPlan) => p.families.map((f) => `${p.registry.prefix}/${f.name}`);

/** The repositories an update from `before` to `after` deletes or replaces: gone names, or all on an encryption change (ForceNew). */
export function replacedRepositories(before: RepositoryPlan, after: RepositoryPlan): string[] {
    const now = new Set(repositoryNames(after));
    const encryptionChanged = JSON.stringify(before.registry.encryption) !== JSON.stringify(after.registry.encryption);
    return repositoryNames(before).filter((n) => encryptionChanged || !now.has(n));
}

/** A problem when `protect` turns on in the same update that deletes or replaces repositories. */
export function protectTransitionProblems(before: RepositoryPlan, after: RepositoryPlan): ConfigProblem[] {
    if (before.registry.protect || !after.registry.protect) return [];
    const replaced = replacedRepositories(before, after);
    if (replaced.length === 0) return [];
    return [{
        path: "registry.protect",
        message: `turns on in the same update that deletes or replaces ${replaced.join(", ")}: Pulumi reads protect and retainOnDelete from the state (pulumi/pulumi#13428), so this update would still delete them with their images`,
        fix: "make two updates: first turn protect on alone (pulumi up), then the change that replaces the repositories, which protect then refuses",
    }];
}
