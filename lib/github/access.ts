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
    problems.push(...workflowRepositoryProblems(config));
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
 * The repository whose workflows run this program (#27 seam 4) must be wired: every environment the pipeline role
 * trusts in it is a target (so the environment exists and gets the CI_IMAGES_* values), restricted to branches when
 * that role runs `pulumi up`; with the preview role, the repository itself is a target (the preview job has no
 * environment) and its pull requests are trusted.
 */
export function workflowRepositoryProblems(config: Pick<StackConfig, "github" | "access">): ConfigProblem[] {
    const name = config.github.workflowRepository;
    if (name === undefined || !config.github.enabled) return [];
    const full = `${config.github.owner}/${name}`;
    const problems: ConfigProblem[] = [];
    const targets = config.github.repositories;
    const pipeline = config.access.pipeline;
    if (pipeline.enabled) {
        const environments = pipeline.subjects.filter((s) => s.repo === full).flatMap((s) => s.environments);
        if (environments.length === 0) {
            problems.push({ path: "access.pipeline.subjects", message: `trusts no environment of the workflow repository ${full}, so its workflows could not assume the pipeline role`, fix: `add { repo: ${full}, environments: [${pipeline.runsPulumiUp ? "prod" : "dev"}] }` });
        }
        for (const environment of environments) {
            const target = targets.find((t) => t.name === name && t.environment === environment);
            if (target === undefined) {
                problems.push({ path: "github.repositories", message: `has no entry for environment "${environment}" of the workflow repository ${name}: the environment would not exist and its jobs would read empty CI_IMAGES_* values`, fix: `add { name: ${name}, environment: ${environment}${pipeline.runsPulumiUp ? ", deploymentBranches: [main]" : ""} }` });
            } else if (pipeline.runsPulumiUp && target.deploymentBranches === undefined) {
                problems.push({ path: `github.repositories[${targets.indexOf(target)}].deploymentBranches`, message: `is not set, so a workflow on any branch that names environment "${environment}" gets the role that runs \`pulumi up\``, fix: "set deploymentBranches: [main]" });
            }
        }
    }
    if (config.access.preview?.enabled === true) {
        if (!(config.access.preview.repositories ?? []).includes(full)) {
            problems.push({ path: "access.preview.repositories", message: `does not list the workflow repository ${full}, whose pull requests run the preview`, fix: `add "${full}"` });
        }
        if (!targets.some((t) => t.name === name && t.environment === undefined)) {
            problems.push({ path: "github.repositories", message: `has no repository-level entry for the workflow repository ${name}: the preview job (no environment) would read an empty CI_IMAGES_PREVIEW_ROLE_ARN`, fix: `add { name: ${name} }` });
        }
    }
    return problems;
}
