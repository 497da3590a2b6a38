/**
 * Config-time checks of the `mlci:github` section against the image graph. The composition root
 * (index.ts) finds the token; validation only learns whether one is present. Registers no resources.
 */
import { ConfigProblem } from "../config/problems";
import { stackImageNames } from "../images/matrix";
import { StackConfig } from "../config/schema";
import { actionsNames, ActionsScope, ActionsTarget } from "./names";

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
