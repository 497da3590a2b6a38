/**
 * A Pulumi bulk-import file (`pulumi import --file`) for the GitHub Actions variables the program writes. Creating a
 * variable that already exists fails with 409 (terraform-provider-github v6.13 `resourceGithubActionsVariableCreate`
 * POSTs and does not upsert; pulumi-github 6.15 bundles it), so a repository where someone set a CI_IMAGES_* variable
 * by hand needs it imported once. Import IDs are the provider's: `<repo>:<name>` and `<repo>:<environment>:<name>`
 * (`buildID` in the provider's util.go). Pure: the resource names are those of `GithubActionsConfig`.
 */
import type { StackConfig } from "../config/schema";
import { actionsNames, actionsResourceName } from "./names";

/** The component name index.ts gives `GithubActionsConfig`. */
export const GITHUB_COMPONENT_NAME = "github";

/** One resource of a Pulumi import file. */
export interface ImportResource { type: string; name: string; id: string; parent: string; provider: string }
/** A Pulumi import file: https://www.pulumi.com/docs/iac/cli/commands/pulumi_import/ (`--file`). */
export interface ImportFile { nameTable: Record<string, string>; resources: ImportResource[] }

/**
 * The import file for the Actions variables of `config` (repository and environment level), optionally only the
 * named ones (those the failed `up` reported with 409). The component and its provider must be in the state already:
 * the first `up` creates them before it fails.
 */
export function githubImportFile(config: Pick<StackConfig, "github" | "access">, stack: string, imageNames: readonly string[], only?: readonly string[]): ImportFile {
    const project = "ml-ci-images";
    const component = `urn:pulumi:${stack}::${project}::mlci:github:GithubActionsConfig::${GITHUB_COMPONENT_NAME}`;
    const provider = `urn:pulumi:${stack}::${project}::mlci:github:GithubActionsConfig$pulumi:providers:github::${GITHUB_COMPONENT_NAME}-provider`;
    const resources: ImportResource[] = [];
    for (const target of config.github.repositories) {
        const scope = target.environment === undefined ? "repository" : "environment";
        const { variables } = actionsNames(imageNames, { pipelineRole: config.access.pipeline.enabled, secretRoleArn: config.github.secretRoleArn, previewRole: config.access.preview?.enabled ?? false, scope });
        for (const name of variables) {
            if (only !== undefined && !only.includes(name)) continue;
            resources.push({
                type: target.environment === undefined ? "github:index/actionsVariable:ActionsVariable" : "github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable",
                name: actionsResourceName(GITHUB_COMPONENT_NAME, target, name),
                id: target.environment === undefined ? `${target.name}:${name}` : `${target.name}:${target.environment.replace(/:/g, "??")}:${name}`,
                parent: "component",
                provider: "provider",
            });
        }
    }
    return { nameTable: { component, provider }, resources };
}
