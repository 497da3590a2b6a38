/**
 * Config checks that need the build matrix: duplicate axis labels, family restrictions against the
 * stack matrix, children built only on their parent's cells, and `build.forceRebuild` naming real
 * images. Contributed to config validation through `GATE_CHECKS` (lib/stackPlan.ts), so lib/config
 * never imports lib/images.
 */
import { CONFIG_NAMESPACE, ConfigProblem, closest } from "../config/problems";
import { MatrixConfig, ResolvedFamily, StackConfig } from "../config/schema";
import { cudaShort, familyCells, stackImageNames } from "./matrix";

/** Every matrix problem of a validated stack config. For `GATE_CHECKS`: reported alone, before the checks that count cells. */
export function matrixConfigChecks(config: Pick<StackConfig, "families" | "matrix" | "build">): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    checkMatrix(config.matrix, problems);
    checkFamilyMatrix(config.families, config.matrix, problems);
    checkForceRebuild(config, problems);
    return problems;
}

/** The upstream image pins (`baseImages`) of a validated stack config. For `STACK_CHECKS`. */
export function baseImageConfigChecks(config: Pick<StackConfig, "families" | "matrix">): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    checkBaseImages(config.families, config.matrix, problems);
    return problems;
}

/** A family that pins upstream images pins one for each of its cells, and only as a root. */
function checkBaseImages(families: ResolvedFamily[], matrix: MatrixConfig, problems: ConfigProblem[]): void {
    for (const f of families) {
        if (f.baseImages === undefined) continue;
        const at = `families.${f.name}.baseImages`;
        if (f.parent !== undefined) {
            problems.push({ path: at, message: "is set on a child family, which builds FROM its parent's digest ref (BASE_IMAGE)", fix: "remove it; pin the root family's upstream image instead" });
            continue;
        }
        const keys = [...new Set(familyCells(f, matrix).map((c) => c.cuda ?? c.python))];
        for (const key of keys) {
            if (f.baseImages[key] === undefined) problems.push({ path: `${at}["${key}"]`, message: `is missing: the family builds ${f.cpuOnly ? "Python" : "CUDA"} ${key}`, fix: `add the upstream image for ${key} pinned by digest (the digest-bump workflow, .github/workflows/digest-bump.yml, resolves tags to digests)` });
        }
        // The key is the cell's version, so the pinned tag must be that version's image
        // (`"13.2.1": nvidia/cuda:13.2.1-devel-…`, `"3.12": library/python:3.12-slim-…`).
        for (const [key, ref] of Object.entries(f.baseImages)) {
            const tag = ref.slice(ref.lastIndexOf(":", ref.indexOf("@")) + 1, ref.indexOf("@"));
            if (tag !== key && !tag.startsWith(`${key}-`)) {
                const what = f.cpuOnly ? "Python" : "CUDA";
                problems.push({ path: `${at}["${key}"]`, message: `points at ${ref.slice(0, ref.indexOf("@"))}, whose tag is not ${what} ${key} (the key is the cell's ${what} version)`, fix: `pin the ${key} image (tag ${key}-…) under "${key}", or move this pin under the key its tag names` });
            }
        }
    }
}

function checkMatrix(matrix: MatrixConfig, problems: ConfigProblem[]): void {
    const dup = (values: string[], key: string, label: (v: string) => string) => {
        const seen = new Map<string, string>();
        for (const v of values) {
            const l = label(v);
            if (seen.has(l)) problems.push({ path: `matrix.${key}`, message: `"${v}" duplicates "${seen.get(l)}" (both give image names with ${l})`, fix: "list each version once" });
            else seen.set(l, v);
        }
    };
    dup(matrix.cuda, "cuda", (v) => `cuda${cudaShort(v)}`);
    dup(matrix.python, "python", (v) => `py${v}`);
}

function checkFamilyMatrix(families: ResolvedFamily[], matrix: MatrixConfig, problems: ConfigProblem[]): void {
    const byName = new Map(families.map((f) => [f.name, f]));
    const matrixCuda = new Set(matrix.cuda);
    const matrixPython = new Set(matrix.python);
    for (const f of families) {
        const at = `families.${f.name}`;
        if (f.cpuOnly && f.matrix?.cuda) {
            problems.push({ path: `${at}.matrix.cuda`, message: "a cpuOnly family has no CUDA versions", fix: "remove matrix.cuda or cpuOnly" });
        }
        for (const v of f.matrix?.cuda ?? []) {
            if (!matrixCuda.has(v)) problems.push({ path: `${at}.matrix.cuda`, message: `CUDA ${v} is not in mlci:matrix.cuda (${matrix.cuda.join(", ") || "empty"})`, fix: "add it to mlci:matrix.cuda or remove it from the family's restriction" });
        }
        for (const v of f.matrix?.python ?? []) {
            if (!matrixPython.has(v)) problems.push({ path: `${at}.matrix.python`, message: `Python ${v} is not in mlci:matrix.python (${matrix.python.join(", ")})`, fix: "add it to mlci:matrix.python or remove it from the family's restriction" });
        }
        if (!f.cpuOnly && matrix.cuda.length === 0) {
            problems.push({ path: "matrix.cuda", message: `family "${f.name}" is a GPU family but the matrix lists no CUDA version`, fix: 'add versions like "12.4.1", or set cpuOnly: true on the family' });
        }
    }
    // A child must be built only on cells its parent is built for.
    for (const f of families) {
        const parent = f.parent !== undefined ? byName.get(f.parent) : undefined;
        if (!parent || parent === f) continue;
        const at = `families.${f.name}`;
        if (parent.cpuOnly !== f.cpuOnly) {
            problems.push({ path: `${at}.parent`, message: `"${f.name}" is ${f.cpuOnly ? "cpuOnly" : "a GPU family"} but its parent "${parent.name}" is ${parent.cpuOnly ? "cpuOnly" : "a GPU family"}`, fix: "parent and child must both be cpuOnly or both GPU" });
            continue;
        }
        const parentCells = new Set(familyCells(parent, matrix).map((c) => c.label));
        const missing = familyCells(f, matrix).filter((c) => !parentCells.has(c.label)).map((c) => c.label);
        if (missing.length > 0) {
            problems.push({ path: `${at}.matrix`, message: `cells ${missing.join(", ")} are not built for parent "${parent.name}"`, fix: `restrict ${CONFIG_NAMESPACE}:${at}.matrix to the parent's cells, or widen the parent's matrix` });
        }
    }
}

function checkForceRebuild(config: Pick<StackConfig, "families" | "matrix" | "build">, problems: ConfigProblem[]): void {
    if (!Array.isArray(config.build.forceRebuild)) return;
    const imageNames = new Set(stackImageNames(config));
    config.build.forceRebuild.forEach((n, i) => {
        if (!imageNames.has(n)) {
            const hint = closest(n, [...imageNames]);
            problems.push({ path: `build.forceRebuild[${i}]`, message: `"${n}" is not an image of this stack${hint ? ` (did you mean "${hint}"?)` : ""}`, fix: "name an image from `npx ci-images tags`, or use true for all" });
        }
    });
}
