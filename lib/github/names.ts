/**
 * Names of the GitHub Actions variables and secrets the program writes, derived predictably from
 * image names, and checked against GitHub's naming rules and per-scope limits. Pure: shared by the
 * `GithubActionsConfig` component, config checks and the workflow tests.
 */
import { IMAGES_JSON_VARIABLE } from "./imagesJson";

/** Variable holding the registry URL (`<account>.dkr.ecr.<region>.amazonaws.com`). */
export const REGISTRY_VARIABLE = "CI_IMAGES_REGISTRY";
/** Variable holding the AWS region of the registry (for `aws-actions/configure-aws-credentials`). */
export const AWS_REGION_VARIABLE = "CI_IMAGES_AWS_REGION";
/** Secret (or variable, with `secretRoleArn: false`) holding the OIDC pipeline role ARN. */
export const PIPELINE_ROLE_NAME = "CI_IMAGES_PIPELINE_ROLE_ARN";
/** Variable holding the pipeline role's session length in seconds (its maxSessionDuration), for `role-duration-seconds`. */
export const PIPELINE_SESSION_VARIABLE = "CI_IMAGES_PIPELINE_SESSION_SECONDS";
/** Variable holding the read-only preview role's ARN (a plain variable: an ARN is not a secret). */
export const PREVIEW_ROLE_VARIABLE = "CI_IMAGES_PREVIEW_ROLE_ARN";
/** Prefix of the per-image variables, each holding the image's digest-pinned ref. */
export const IMAGE_VARIABLE_PREFIX = "CI_IMAGE_";
export { IMAGES_JSON_VARIABLE };

/**
 * GitHub's documented per-scope limits: 500 variables per repository, 100 per environment,
 * 100 secrets per repository or environment.
 */
export const ACTIONS_LIMITS = {
    repository: { variables: 500, secrets: 100 },
    environment: { variables: 100, secrets: 100 },
} as const;

/** Where a variable or secret lives: a repository, or one of its environments. */
export type ActionsScope = keyof typeof ACTIONS_LIMITS;

/** Why `name` is not a valid GitHub Actions variable/secret name, or undefined when it is. */
export function actionsNameProblem(name: string): string | undefined {
    if (name.length === 0) return "is empty";
    if (!/^[A-Z0-9_]+$/.test(name)) return "may contain only A-Z, 0-9 and _ (GitHub upper-cases names; this program writes them upper-case)";
    if (/^[0-9]/.test(name)) return "must not start with a digit";
    if (name.startsWith("GITHUB_")) return "must not start with GITHUB_ (reserved by GitHub)";
    return undefined;
}

/** `nightly-cuda12.4-py3.11` → `CI_IMAGE_NIGHTLY_CUDA12_4_PY3_11`: each run of non-alphanumerics becomes `_`. */
export function imageVariableName(imageName: string): string {
    const stem = imageName
        .toUpperCase()
        .replace(/[^A-Z0-9]+/g, "_")
        .replace(/^_+|_+$/g, "");
    if (stem === "") throw new Error(`image name "${imageName}" has no letters or digits to derive a GitHub variable name from`);
    return `${IMAGE_VARIABLE_PREFIX}${stem}`;
}

/** What the program writes besides the per-image variables. */
export interface ActionsNameOptions {
    /** A pipeline role ARN is published. @default true */
    pipelineRole?: boolean;
    /** Publish the pipeline role ARN as a secret; false publishes it as a plain variable. @default true */
    secretRoleArn?: boolean;
    /** The registry's AWS region is published. @default true */
    awsRegion?: boolean;
    /** The read-only preview role's ARN is published. @default false */
    previewRole?: boolean;
    /** Scope whose limits apply. @default "repository" */
    scope?: ActionsScope;
}

/** Every name written to one repository (or environment) for a set of images. */
export interface ActionsNames {
    /** Image name → its per-image variable, in input order; empty when they do not fit the scope's limit. */
    images: Map<string, string>;
    /**
     * Set when the per-image variables would exceed the scope's variable limit: only CI_IMAGES_JSON carries
     * the images there (the warning the program logs). Undefined when every per-image variable is written.
     */
    jsonOnly?: string;
    /** All variable names written, registry first. */
    variables: string[];
    /** All secret names written. */
    secrets: string[];
}

/**
 * The complete set of variable and secret names written for `imageNames` into one scope: the registry,
 * the region, CI_IMAGES_JSON, one CI_IMAGE_<NAME> per image while they all fit the scope's variable
 * limit (else none, with `jsonOnly` saying why), and the role names. Throws when two images map to the
 * same variable, a name breaks GitHub's rules, or the secrets exceed the scope's limit.
 */
export function actionsNames(imageNames: readonly string[], opts: ActionsNameOptions = {}): ActionsNames {
    const pipelineRole = opts.pipelineRole ?? true;
    const secretRoleArn = opts.secretRoleArn ?? true;
    const scope = opts.scope ?? "repository";
    const problems: string[] = [];

    const images = new Map<string, string>();
    const owner = new Map<string, string>();
    for (const image of imageNames) {
        const variable = imageVariableName(image);
        const taken = owner.get(variable);
        if (taken !== undefined && taken !== image) {
            problems.push(`images "${taken}" and "${image}" both map to the GitHub variable ${variable}; rename a family or matrix value so the names differ in more than punctuation`);
            continue;
        }
        owner.set(variable, image);
        images.set(image, variable);
    }

    const variables = [REGISTRY_VARIABLE, ...((opts.awsRegion ?? true) ? [AWS_REGION_VARIABLE] : []), IMAGES_JSON_VARIABLE];
    const secrets: string[] = [];
    if (pipelineRole) {
        (secretRoleArn ? secrets : variables).push(PIPELINE_ROLE_NAME);
        variables.push(PIPELINE_SESSION_VARIABLE);
    }
    if (opts.previewRole ?? false) variables.push(PREVIEW_ROLE_VARIABLE);

    for (const name of [...variables, ...secrets]) {
        const problem = actionsNameProblem(name);
        if (problem) problems.push(`${name} ${problem}`);
    }
    const limits = ACTIONS_LIMITS[scope];
    // Per-image variables while they fit; past the limit the scope degrades to CI_IMAGES_JSON alone.
    let jsonOnly: string | undefined;
    if (variables.length + images.size <= limits.variables) variables.splice(variables.indexOf(IMAGES_JSON_VARIABLE) + 1, 0, ...images.values());
    else {
        jsonOnly = `${images.size} per-image ${IMAGE_VARIABLE_PREFIX}* variables and ${variables.length} others exceed GitHub's limit of ${limits.variables} variables per ${scope}: only ${IMAGES_JSON_VARIABLE} is written there (read an image with fromJSON(vars.${IMAGES_JSON_VARIABLE})['<image>'])`;
        images.clear();
    }
    if (variables.length > limits.variables) problems.push(`${variables.length} variables exceed GitHub's limit of ${limits.variables} per ${scope}`);
    if (secrets.length > limits.secrets) problems.push(`${secrets.length} secrets exceed GitHub's limit of ${limits.secrets} per ${scope}`);
    if (problems.length > 0) throw new Error(`GitHub Actions names for ${imageNames.length} images are invalid:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    return { images, variables, secrets, ...(jsonOnly === undefined ? {} : { jsonOnly }) };
}

/** A repository to write to, optionally one of its environments. */
export interface ActionsTarget {
    /** Repository name without the owner, e.g. "rl". */
    name: string;
    /** Environment whose variables/secrets receive the values instead of the repository's; the program creates it. */
    environment?: string;
    /** Only these branches may run jobs in the environment (a custom deployment-branch policy). @default every branch */
    deploymentBranches?: string[];
    /** Required reviewers of the environment (team and user IDs). @default none (the PUT clears any set by hand) */
    reviewers?: { teams: number[]; users: number[] };
    /** Reviewers may not approve their own runs. @default false */
    preventSelfReview?: boolean;
}

/**
 * Pulumi name of the resource writing `actionsName` to `target`, derived from the component name.
 * `@` cannot occur in a repository name, so a repository and an environment never collide.
 */
export function actionsResourceName(component: string, target: ActionsTarget, actionsName: string): string {
    const where = target.environment === undefined ? target.name : `${target.name}@${target.environment}`;
    return `${component}-${where}-${actionsName}`;
}
