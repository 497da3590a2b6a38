/**
 * Config-time checks of the `mlci:github` section against the image graph. The composition root
 * (index.ts) finds the token; validation only learns whether one is present. Registers no resources.
 */
import { ConfigProblem } from "../config/problems";
import { stackImageNames } from "../images/matrix";
import { StackConfig } from "../config/schema";
import { expandImageGraph } from "../images/graph";
import { imagesJsonSizeProblem } from "./imagesJson";
import { actionsNames, ActionsScope, ActionsTarget, IMAGES_JSON_VARIABLE } from "./names";

/** The `mlci:github` config section (lib/config's `GithubConfig` satisfies it). */
export interface GithubSettings {
    enabled: boolean;
    owner?: string;
    repositories: ActionsTarget[];
    secretRoleArn: boolean;
}

/**
 * Config-time checks of the GitHub section against the image graph: variable-name collisions,
 * GitHub's naming rules and limits, and a repository/environment listed twice. For `STACK_CHECKS`.
 */
export function githubConfigProblems(config: Pick<StackConfig, "github" | "families" | "matrix" | "access">): ConfigProblem[] {
    if (!config.github.enabled) return [];
    const problems: ConfigProblem[] = [];
    const imageNames = stackImageNames(config);
    const seen = new Set<string>();
    config.github.repositories.forEach((target, i) => {
        const key = `${target.name}@${target.environment ?? ""}`;
        if (seen.has(key)) {
            problems.push({ path: `github.repositories[${i}]`, message: `repository "${target.name}"${target.environment ? ` environment "${target.environment}"` : ""} is listed twice`, fix: "remove the duplicate entry" });
        }
        seen.add(key);
    });
    for (const scope of new Set(config.github.repositories.map((t): ActionsScope => (t.environment === undefined ? "repository" : "environment")))) {
        try {
            actionsNames(imageNames, { pipelineRole: config.access.pipeline.enabled, secretRoleArn: config.github.secretRoleArn, previewRole: config.access.preview?.enabled ?? false, scope });
        } catch (e) {
            problems.push({ path: "github", message: (e as Error).message.replace(/\n\s*/g, " "), fix: "rename the colliding families or narrow the matrix" });
        }
    }
    return problems;
}

/**
 * CI_IMAGES_JSON must fit GitHub's 48 KB per variable with the longest refs the images can get (the
 * per-image variables may be dropped past 100 per environment; this one carries the catalog). For `STACK_CHECKS`.
 */
export function githubImagesJsonProblems(config: Pick<StackConfig, "github" | "families" | "matrix" | "registry">): ConfigProblem[] {
    if (!config.github.enabled) return [];
    let nodes: ReturnType<typeof expandImageGraph>;
    try {
        nodes = expandImageGraph(config);
    } catch {
        return []; // an invalid graph is reported by the family checks
    }
    const problem = imagesJsonSizeProblem(nodes.map((n) => ({ name: n.name, repositoryName: n.repositoryName, cellLabel: n.cell.label })));
    return problem ? [{ path: "github", message: problem, fix: `narrow the matrix or split the families across stacks, so that each stack's ${IMAGES_JSON_VARIABLE} stays under 48,000 bytes` }] : [];
}
