/**
 * The invariants the fault suite (test/integration/faults.test.ts) checks after every faulted run,
 * over two snapshots of a registry (`<repository>:<tag>` → digest, before and after the run):
 * - a marker only on its build's digest, one that was pushed whole and that the smoke test ran
 *   (or that carried the marker already);
 * - `-latest` and dated tags only on a marked digest;
 * - no tag that existed before lost or moved, except `-latest`/dated moved onto a marked digest
 *   (a promotion).
 * Pure over the snapshots; `pushedWhole` reads the registry. Unit-tested in faultInvariants.test.ts.
 */
import { buildTag, parseTag } from "../lib/images/tags";

/** What broke the invariants: each entry names the tag and the digest. */
export interface InvariantFindings {
    imagesLost: string[];
    halfPromotions: string[];
}

function split(ref: string): [string, string] {
    const i = ref.lastIndexOf(":");
    return [ref.slice(0, i), ref.slice(i + 1)];
}

/** Checks the invariants of the module comment. */
export async function checkFaultInvariants(
    before: ReadonlyMap<string, string>,
    after: ReadonlyMap<string, string>,
    smokeTested: ReadonlySet<string>,
    pushedWhole: (repository: string, digest: string) => Promise<boolean>,
): Promise<InvariantFindings> {
    const imagesLost: string[] = [];
    const halfPromotions: string[] = [];
    const marked = new Set<string>();
    for (const [ref, digest] of after) {
        const [repo, tag] = split(ref);
        if (parseTag(tag)?.shape === "marker") marked.add(`${repo}@${digest}`);
    }
    for (const [ref, digest] of after) {
        const [repo, tag] = split(ref);
        const parsed = parseTag(tag);
        if (parsed?.shape === "marker") {
            const build = buildTag(parsed.cell, parsed.hash!, parsed.rebuild ?? 0);
            if (after.get(`${repo}:${build}`) !== digest) halfPromotions.push(`${ref} on ${digest}, not on its build ${build}`);
            if (before.get(ref) !== digest && !smokeTested.has(digest)) halfPromotions.push(`${ref} on ${digest}, which no smoke test ran`);
            if (!(await pushedWhole(repo, digest))) halfPromotions.push(`${ref} on ${digest}, which is not pushed whole`);
        }
        if ((parsed?.shape === "latest" || parsed?.shape === "dated") && !marked.has(`${repo}@${digest}`)) halfPromotions.push(`${ref} on unmarked ${digest}`);
    }
    for (const [ref, digest] of before) {
        const now = after.get(ref);
        if (now === digest) continue;
        const [repo, tag] = split(ref);
        const shape = parseTag(tag)?.shape;
        if ((shape === "latest" || shape === "dated") && now !== undefined && marked.has(`${repo}@${now}`)) continue; // a promotion
        imagesLost.push(`${ref} was ${digest}, now ${now ?? "gone"}`);
    }
    return { imagesLost, halfPromotions };
}

/**
 * Digests whose smoke test passed, from the fault suite's docker wrapper log: one line per docker
 * command, `exit=<status> <args>`, written after the command ran. A smoke test is
 * `run … <ref>@sha256:<hex> python -c …`; only exit 0 counts (a failed one must never excuse a marker).
 */
export function smokeTestedFromLog(log: string): Set<string> {
    return new Set([...log.matchAll(/^exit=0 run .*@(sha256:[0-9a-f]{64}) python -c/gm)].map((m) => m[1]));
}
