import * as github from "@pulumi/github";
import * as pulumi from "@pulumi/pulumi";
import { ACTIONS_VARIABLE_MAX_BYTES, imagesJsonValue, variableBytes } from "../../lib/github/imagesJson";
import { actionsNames, actionsResourceName, ActionsTarget, AWS_REGION_VARIABLE, IMAGES_JSON_VARIABLE, PIPELINE_ROLE_NAME, PIPELINE_SESSION_VARIABLE, PREVIEW_ROLE_VARIABLE, REGISTRY_VARIABLE } from "../../lib/github/names";

/** Inputs of {@link GithubActionsConfig}; build them with `resolveGithubAccess` plus the stack's outputs. */
export interface GithubActionsConfigArgs {
    /** Organization or user owning the repositories (`mlci:github.owner`). */
    owner: string;
    /**
     * Repositories to write to; an entry with `environment` gets environment-scoped values instead, and the environment
     * is created (with a deployment-branch policy when `deploymentBranches` is set).
     */
    repositories: ActionsTarget[];
    /** Registry URL, published as CI_IMAGES_REGISTRY. */
    registryUrl: pulumi.Input<string>;
    /** Image name → digest-pinned ref (`<repo>:<tag>@sha256:…`): all in CI_IMAGES_JSON, and one CI_IMAGE_<NAME> variable each where they fit the scope's limit. */
    imageRefs: Record<string, pulumi.Input<string>>;
    /** OIDC pipeline role ARN, published as CI_IMAGES_PIPELINE_ROLE_ARN. @default undefined (not published) */
    pipelineRoleArn?: pulumi.Input<string>;
    /** Session length (seconds) of the pipeline role, published as CI_IMAGES_PIPELINE_SESSION_SECONDS with its ARN; required with pipelineRoleArn. @default undefined */
    pipelineSessionSeconds?: number;
    /** Read-only preview role ARN, published as the variable CI_IMAGES_PREVIEW_ROLE_ARN. @default undefined (not published) */
    previewRoleArn?: pulumi.Input<string>;
    /** Publish the pipeline role ARN as an Actions secret; false publishes it as a plain variable. @default true */
    secretRoleArn?: boolean;
    /** AWS region of the registry, published as CI_IMAGES_AWS_REGION. @default undefined (not published) */
    awsRegion?: pulumi.Input<string>;
}

/**
 * GitHub Actions variables and secrets that tell CI where the images are: per repository (or
 * environment), the registry URL, each image's digest-pinned ref, and the pipeline role ARN.
 * Each targeted environment is created here (the REST endpoints of environment variables and secrets
 * answer 404 for a missing one), with its deployment-branch policy; its variables and secrets depend on it.
 * The provider gets NO token input: it reads GITHUB_TOKEN from the environment (terraform-provider-github
 * provider.go, `EnvDefaultFunc("GITHUB_TOKEN")`), a GitHub App installation token minted per run.
 */
export class GithubActionsConfig extends pulumi.ComponentResource {
    /** Variable names written to every target. */
    public readonly variableNames: string[];
    /** Secret names written to every target. */
    public readonly secretNames: string[];

    constructor(name: string, args: GithubActionsConfigArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mlci:github:GithubActionsConfig", name, {}, opts);
        const secretRoleArn = args.secretRoleArn ?? true;
        const imageNames = Object.keys(args.imageRefs);
        const nameOptions = { pipelineRole: args.pipelineRoleArn !== undefined, secretRoleArn, awsRegion: args.awsRegion !== undefined, previewRole: args.previewRoleArn !== undefined };
        if (args.pipelineRoleArn !== undefined && args.pipelineSessionSeconds === undefined) {
            throw new pulumi.ResourceError("GithubActionsConfigArgs.pipelineSessionSeconds: required with pipelineRoleArn (the role's maxSessionDuration, for role-duration-seconds)", this);
        }
        const names = actionsNames(imageNames, nameOptions);
        const targets = new Set<string>();
        // What each target gets: past its scope's variable limit, CI_IMAGES_JSON without the per-image variables.
        const writtenTo = new Map<ActionsTarget, Set<string>>();
        for (const target of args.repositories) {
            const where = actionsResourceName(name, target, "");
            if (targets.has(where)) throw new pulumi.ResourceError(`GithubActionsConfigArgs.repositories: repository "${target.name}"${target.environment === undefined ? "" : ` environment "${target.environment}"`} is listed twice`, this);
            targets.add(where);
            const scoped = actionsNames(imageNames, { ...nameOptions, scope: target.environment === undefined ? "repository" : "environment" });
            if (scoped.jsonOnly !== undefined) pulumi.log.warn(`GitHub ${target.name}${target.environment === undefined ? "" : ` environment ${target.environment}`}: ${scoped.jsonOnly}`, this);
            writtenTo.set(target, new Set(scoped.variables));
        }

        const provider = new github.Provider(`${name}-provider`, { owner: args.owner }, { parent: this });
        const childOpts = { parent: this, provider };

        const variables: [string, pulumi.Input<string>][] = [[REGISTRY_VARIABLE, args.registryUrl]];
        if (args.awsRegion !== undefined) variables.push([AWS_REGION_VARIABLE, args.awsRegion]);
        variables.push([IMAGES_JSON_VARIABLE, pulumi.all(args.imageRefs).apply((refs) => imagesJsonOfSize(imageNames.map((i) => [i, refs[i]])))]);
        for (const [image, variable] of names.images) variables.push([variable, args.imageRefs[image]]);
        const secrets: [string, pulumi.Input<string>][] = [];
        if (args.pipelineRoleArn !== undefined) {
            if (secretRoleArn) secrets.push([PIPELINE_ROLE_NAME, pulumi.secret(args.pipelineRoleArn)]);
            else variables.push([PIPELINE_ROLE_NAME, args.pipelineRoleArn]);
            variables.push([PIPELINE_SESSION_VARIABLE, String(args.pipelineSessionSeconds)]);
        }
        if (args.previewRoleArn !== undefined) variables.push([PREVIEW_ROLE_VARIABLE, args.previewRoleArn]);

        for (const target of args.repositories) {
            let environment: pulumi.Input<string> | undefined;
            if (target.environment !== undefined) {
                const branches = target.deploymentBranches;
                const env = new github.RepositoryEnvironment(actionsResourceName(name, target, "environment"), {
                    repository: target.name,
                    environment: target.environment,
                    // Custom policy: only the listed branches may run a job in the environment (prod: main).
                    deploymentBranchPolicy: branches !== undefined ? { protectedBranches: false, customBranchPolicies: true } : undefined,
                    // The environment's protection is the program's: the provider's create/update is one PUT that sends
                    // null for whatever is unset, clearing reviewers an admin set by hand (terraform-provider-github
                    // resource_github_repository_environment.go; go-github: "API expects null values for reviewers and
                    // deployment_branch_policy to clear them"). Admins never bypass the protection.
                    reviewers: target.reviewers !== undefined ? [{ teams: target.reviewers.teams, users: target.reviewers.users }] : undefined,
                    preventSelfReview: target.preventSelfReview ?? false,
                    canAdminsBypass: false,
                    // Retained: the environment holds what admins set by hand (the App key, reviewers), and dropping the
                    // GitHub block must never delete it. Set from the first create: retainOnDelete is read from state.
                }, { ...childOpts, retainOnDelete: true });
                for (const branch of branches ?? []) {
                    new github.RepositoryEnvironmentDeploymentPolicy(actionsResourceName(name, target, `branch-${branch}`), {
                        repository: target.name,
                        environment: env.environment,
                        branchPattern: branch,
                    }, { ...childOpts, retainOnDelete: true });
                }
                environment = env.environment;
            }
            for (const [variableName, value] of variables) {
                if (!writtenTo.get(target)!.has(variableName)) continue;
                const resourceName = actionsResourceName(name, target, variableName);
                if (environment === undefined) new github.ActionsVariable(resourceName, { repository: target.name, variableName, value }, childOpts);
                else new github.ActionsEnvironmentVariable(resourceName, { repository: target.name, environment, variableName, value }, childOpts);
            }
            for (const [secretName, value] of secrets) {
                const resourceName = actionsResourceName(name, target, secretName);
                if (environment === undefined) new github.ActionsSecret(resourceName, { repository: target.name, secretName, value }, childOpts);
                else new github.ActionsEnvironmentSecret(resourceName, { repository: target.name, environment, secretName, value }, childOpts);
            }
        }

        this.variableNames = variables.map(([n]) => n).filter((n) => [...writtenTo.values()].some((w) => w.has(n)));
        this.secretNames = secrets.map(([n]) => n);
        this.registerOutputs({ variableNames: this.variableNames, secretNames: this.secretNames });
    }
}

/** CI_IMAGES_JSON's value, in the plan's order; over GitHub's 48 KB per variable the update fails (the config check bounds it first). */
function imagesJsonOfSize(entries: [string, string][]): string {
    const value = imagesJsonValue(Object.fromEntries(entries));
    if (variableBytes(value) > ACTIONS_VARIABLE_MAX_BYTES) throw new Error(`${IMAGES_JSON_VARIABLE} is ${variableBytes(value)} bytes, over GitHub's ${ACTIONS_VARIABLE_MAX_BYTES} bytes per variable`);
    return value;
}
