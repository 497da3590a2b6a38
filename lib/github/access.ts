/**
 * Whether and how the program writes GitHub Actions variables: the `mlci:github` section plus the
 * GitHub token, checked before any resource is registered. Registers no resources.
 */
import * as pulumi from "@pulumi/pulumi";
import { ConfigProblem, stackImageNames, StackConfig } from "../config/config";
import { actionsNames, ActionsScope, ActionsTarget } from "./names";

/** The `mlci:github` config section (lib/config's `GithubConfig` satisfies it). */
export interface GithubSettings {
    enabled: boolean;
    owner?: string;
    repositories: ActionsTarget[];
    secretRoleArn: boolean;
}

/** Where the GitHub token may come from, in order of preference. */
export interface GithubTokenSources {
    /** `github:token` stack config, read by the program with `getSecret`. */
    configToken?: pulumi.Input<string>;
    /** Process environment, for `GITHUB_TOKEN`. @default process.env */
    env?: Record<string, string | undefined>;
}

/** Everything `GithubActionsConfig` needs besides the values it publishes. */
export interface GithubAccess {
    owner: string;
    /** Secret token for the GitHub provider. */
    token: pulumi.Input<string>;
    repositories: ActionsTarget[];
    secretRoleArn: boolean;
}

/**
 * The GitHub access for an enabled `mlci:github` section, or undefined when it is disabled (then no
 * token is needed and nothing GitHub is registered). Throws one message naming every missing piece.
 */
export function resolveGithubAccess(github: GithubSettings, sources: GithubTokenSources = {}): GithubAccess | undefined {
    if (!github.enabled) return undefined;
    const envToken = (sources.env ?? process.env).GITHUB_TOKEN;
    const token = sources.configToken ?? (envToken ? pulumi.secret(envToken) : undefined);
    const problems: string[] = [];
    if (!github.owner) problems.push("mlci:github.owner is not set. Fix: pulumi config set --path mlci:github.owner <organization or user>");
    if (token === undefined) {
        problems.push(
            "no GitHub token: neither the github:token config nor the GITHUB_TOKEN environment variable is set. " +
                "Fix: pulumi config set --secret github:token <token with Actions variables and secrets write access to the repositories>, or export GITHUB_TOKEN",
        );
    }
    if (github.repositories.length === 0) problems.push("mlci:github.repositories is empty. Fix: list the repositories to write Actions variables to");
    if (problems.length > 0 || token === undefined || !github.owner) {
        throw new Error(`GitHub wiring is enabled (mlci:github.enabled: true) but cannot run:\n${problems.map((p) => `  - ${p}`).join("\n")}\nOr set mlci:github.enabled: false to skip the GitHub part.`);
    }
    return { owner: github.owner, token, repositories: github.repositories, secretRoleArn: github.secretRoleArn };
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
            actionsNames(imageNames, { pipelineRole: config.access.pipeline.enabled, secretRoleArn: config.github.secretRoleArn, scope });
        } catch (e) {
            problems.push({ path: "github", message: (e as Error).message.replace(/\n\s*/g, " "), fix: "rename the colliding families or narrow the matrix" });
        }
    }
    return problems;
}
