/**
 * Semantic checks across config keys that the schema cannot express: paths inside the project,
 * parents and cycles, family restrictions against the matrix, forced images, GitHub and local-backend
 * consistency, and credentials. Each pushes config problems; none throws.
 */
import * as fs from "fs";
import * as path from "path";
import { cudaShort, familyCells, stackImageNames } from "../images/matrix";
import { CONFIG_NAMESPACE, ConfigProblem, closest } from "./problems";
import { buildArgName, ECR_NAME_PART, FamilyConfig, MatrixConfig, RESERVED_BUILD_ARGS, ResolvedFamily, StackConfig } from "./schema";

/** What the composition root knows about credentials, without their values. */
export interface CredentialFacts {
    /** A GitHub token is in the environment (GITHUB_TOKEN), where the GitHub provider reads it. */
    githubToken: boolean;
    /** The stack config sets `github:token` (refused: it would be stored in state). @default false */
    githubTokenInConfig?: boolean;
    /** Credential keys (full keys, from {@link CREDENTIAL_KEYS}) stored in plaintext in the stack file. */
    plaintext: string[];
}

export function credentialProblems(cfg: StackConfig, facts: CredentialFacts | undefined): ConfigProblem[] {
    if (!facts) return [];
    const problems: ConfigProblem[] = [];
    if (facts.githubTokenInConfig === true) {
        problems.push({
            path: "github:token",
            message: "is set in the stack config: a provider token input is stored in the Pulumi state, where every reader of the state (a pull request's preview) could decrypt it",
            fix: "pulumi config rm github:token (and rotate it); the workflow mints a GitHub App installation token per run and passes it as GITHUB_TOKEN (docs/pipelines.md, \"Roles and secrets\")",
        });
    }
    problems.push(...facts.plaintext.filter((key) => key !== "github:token" || facts.githubTokenInConfig !== true).map((key) => ({
        path: key,
        message: "is stored in plaintext in the stack file",
        fix: `pulumi config rm ${key} && pulumi config set --secret ${key} <value> (and rotate the exposed credential)`,
    })));
    if (cfg.github.enabled && cfg.registry.backend !== "local" && !facts.githubToken) {
        problems.push({
            path: "github.enabled",
            message: "is true but the GITHUB_TOKEN environment variable is not set (the GitHub provider reads its token from there)",
            fix: "export GITHUB_TOKEN=<a GitHub App installation token with Actions variables, secrets and environments write> (the weekly workflow mints one with actions/create-github-app-token), or set mlci:github.enabled: false",
        });
    }
    return problems;
}

export function resolveFamilies(raw: Record<string, FamilyConfig>, root: string, problems: ConfigProblem[]): ResolvedFamily[] {
    const out: ResolvedFamily[] = [];
    for (const [name, f] of Object.entries(raw)) {
        const at = `families.${name}`;
        if (!ECR_NAME_PART.test(name)) {
            problems.push({ path: at, message: `"${name}" is not a valid image family name (ECR would reject the repository name)`, fix: 'use lowercase letters and digits separated by ".", "_" or "-", e.g. "nightly"' });
        }
        const dockerfile = toPosix(f.dockerfile ?? `docker/${name}/Dockerfile`);
        const context = toPosix(f.context ?? path.posix.dirname(dockerfile));
        const dockerfilePath = path.resolve(root, dockerfile);
        const contextPath = path.resolve(root, context);
        for (const [key, rel, abs] of [["dockerfile", dockerfile, dockerfilePath], ["context", context, contextPath]] as const) {
            if (path.isAbsolute(rel) || !isInside(root, abs)) {
                problems.push({ path: `${at}.${key}`, message: `"${rel}" is outside the project`, fix: "use a path relative to the project root, inside it (e.g. docker/<family>/)" });
            }
        }
        if (isInside(root, dockerfilePath) && !isFile(dockerfilePath)) {
            problems.push({ path: `${at}.dockerfile`, message: `Dockerfile "${dockerfile}" does not exist`, fix: `create it, or set ${CONFIG_NAMESPACE}:${at}.dockerfile to an existing Dockerfile` });
        }
        if (isInside(root, contextPath) && !isDirectory(contextPath)) {
            problems.push({ path: `${at}.context`, message: `build context "${context}" is not a directory`, fix: `create it, or set ${CONFIG_NAMESPACE}:${at}.context` });
        }
        for (const key of Object.keys(f.buildArgs)) {
            if ((RESERVED_BUILD_ARGS as readonly string[]).includes(key)) {
                problems.push({ path: `${at}.buildArgs.${key}`, message: `${key} is computed by the program (matrix cell / parent) and cannot be set`, fix: "remove it; use mlci:matrix or the family's parent instead" });
            } else if (!buildArgName.test(key)) {
                problems.push({ path: `${at}.buildArgs.${key}`, message: `"${key}" is not a valid build arg name`, fix: "use letters, digits and underscores" });
            }
        }
        out.push({ ...f, name, dockerfile, context, dockerfilePath, contextPath });
    }
    return out;
}

export function checkParents(families: ResolvedFamily[], problems: ConfigProblem[]): void {
    const byName = new Map(families.map((f) => [f.name, f]));
    for (const f of families) {
        const at = `families.${f.name}`;
        if (f.parent !== undefined) {
            if (f.parent === f.name) {
                problems.push({ path: `${at}.parent`, message: `family "${f.name}" is its own parent`, fix: "remove parent or name another family" });
            } else if (!byName.has(f.parent)) {
                const hint = closest(f.parent, [...byName.keys()]);
                problems.push({ path: `${at}.parent`, message: `"${f.parent}" is not a family${hint ? ` (did you mean "${hint}"?)` : ""}`, fix: `name one of: ${[...byName.keys()].join(", ")}` });
            }
        }
    }
    // Cycles: follow parents from every family.
    const reported = new Set<string>();
    for (const f of families) {
        const seen: string[] = [];
        let cur: ResolvedFamily | undefined = f;
        while (cur && cur.parent !== undefined && cur.parent !== cur.name) {
            if (seen.includes(cur.name)) {
                const cycle = seen.slice(seen.indexOf(cur.name));
                const key = [...cycle].sort().join(",");
                if (!reported.has(key)) {
                    reported.add(key);
                    problems.push({ path: `families.${cycle[0]}.parent`, message: `parent cycle: ${[...cycle, cycle[0]].join(" -> ")}`, fix: "one family of the cycle must have no parent (a root built FROM a public base image)" });
                }
                break;
            }
            seen.push(cur.name);
            cur = byName.get(cur.parent);
        }
    }
}

export function checkFamilyMatrix(families: ResolvedFamily[], matrix: MatrixConfig, problems: ConfigProblem[]): void {
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

export function checkMatrix(matrix: MatrixConfig, problems: ConfigProblem[]): void {
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


export function checkBuildAndGithub(cfg: StackConfig, problems: ConfigProblem[]): void {
    const imageNames = new Set(stackImageNames(cfg));
    if (Array.isArray(cfg.build.forceRebuild)) {
        cfg.build.forceRebuild.forEach((n, i) => {
            if (!imageNames.has(n)) {
                const hint = closest(n, [...imageNames]);
                problems.push({ path: `build.forceRebuild[${i}]`, message: `"${n}" is not an image of this stack${hint ? ` (did you mean "${hint}"?)` : ""}`, fix: "name an image from `npx ci-images tags`, or use true for all" });
            }
        });
    }
    if (cfg.github.enabled) {
        if (!cfg.github.owner) problems.push({ path: "github.owner", message: "is required when github.enabled is true", fix: "set the GitHub organization or user that owns the repositories, or set github.enabled: false" });
        if (cfg.github.repositories.length === 0) problems.push({ path: "github.repositories", message: "is empty while github.enabled is true", fix: "list the repositories to write Actions variables to, or set github.enabled: false" });
        if (cfg.github.secretRoleArn && !cfg.access.pipeline.enabled) problems.push({ path: "github.secretRoleArn", message: "needs access.pipeline.enabled (there is no pipeline role to publish)", fix: "enable access.pipeline or set github.secretRoleArn: false" });
    }
    if (cfg.registry.backend === "local") {
        for (const [key, on] of [["access.runner.enabled", cfg.access.runner.enabled], ["access.pipeline.enabled", cfg.access.pipeline.enabled], ["github.enabled", cfg.github.enabled]] as const) {
            if (on) problems.push({ path: key, message: "must be false with registry.backend local (no cloud account)", fix: `set ${CONFIG_NAMESPACE}:${key} to false` });
        }
    }
}

function toPosix(p: string): string {
    return p.split(path.sep).join("/");
}
function isInside(root: string, abs: string): boolean {
    const rel = path.relative(root, abs);
    return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}
function isFile(p: string): boolean {
    try {
        return fs.statSync(p).isFile();
    } catch {
        return false;
    }
}
function isDirectory(p: string): boolean {
    try {
        return fs.statSync(p).isDirectory();
    } catch {
        return false;
    }
}
