// `mlci:access` as parsed from config: the settings types every access module reads, and the pipeline's session bounds.

/**
 * A GitHub repository whose workflows may assume the pipeline role, on the named branches and/or environments.
 * A job that names an environment gets only the `environment:` claim (not `ref:`), so list its environment.
 */
export interface GithubSubject {
    /** "owner/name", e.g. "pytorch/rl". */
    repo: string;
    /** Branch names (a `*` pattern such as "release/*" is allowed). */
    branches?: string[];
    /** GitHub deployment environment names. */
    environments?: string[];
    /** Also trust `pull_request` workflows of the repository (`repo:<owner>/<repo>:pull_request`). */
    pullRequests?: boolean;
}

/** `mlci:access.runner` as parsed from config. */
export interface RunnerAccessSettings {
    enabled: boolean;
    /** Create a dedicated role + instance profile; false attaches the policy only to `existingRoleNames`. */
    createRole?: boolean;
    /** Names (not ARNs) of existing runner roles that also get the pull policy. */
    existingRoleNames?: string[];
}

/**
 * How a stack gets the account's GitHub OIDC provider. IAM holds ONE provider per URL and account (a second create
 * fails with EntityAlreadyExists), so exactly one stack per account creates it and the others look it up.
 */
export type OidcProviderMode = "create" | "lookup";

/** `mlci:access.pipeline` as parsed from config. */
export interface PipelineAccessSettings {
    enabled: boolean;
    /** `create` the account's GitHub OIDC provider or `lookup` the one another stack created. @default "create" unless oidcProviderArn is set */
    oidcProvider?: OidcProviderMode;
    /** ARN of an existing GitHub OIDC provider: neither created nor looked up. */
    oidcProviderArn?: string;
    subjects?: GithubSubject[];
    /** Managed policies that let the pipeline run `pulumi up` (state backend, manage ECR/IAM); chosen by admins. */
    deployPolicyArns?: string[];
    /** A workflow runs `pulumi up` of this stack through the pipeline role (prod's weekly rebuild). @default false */
    runsPulumiUp?: boolean;
}

/** `mlci:access.preview`: the read-only role of the PR preview (`pulumi preview` on `pull_request`). */
export interface PreviewAccessSettings {
    enabled: boolean;
    /** "owner/name" repositories whose `pull_request` workflows may assume the role. */
    repositories?: string[];
}

/** Where the stack's Pulumi state lives: an S3 bucket (DIY backend) or Pulumi Cloud (no AWS rights). */
export type StateBackendSettings = { type: "pulumi-cloud" } | { type: "s3"; bucket: string; prefix?: string };

/** `mlci:access` as parsed from config. */
export interface AccessSettings {
    runner?: RunnerAccessSettings;
    pipeline?: PipelineAccessSettings;
    preview?: PreviewAccessSettings;
    stateBackend?: StateBackendSettings;
    /** KMS key of the stack's awskms secrets provider (`pulumi stack init --secrets-provider awskms://…`): the deploy policy may use it. */
    secretsKeyArn?: string;
}

/**
 * Session length (seconds) of the pipeline role: its `maxSessionDuration`, and the value the program writes to GitHub
 * as `CI_IMAGES_PIPELINE_SESSION_SECONDS` for the weekly job's `role-duration-seconds`. One value, so STS never sees
 * a request longer than the role allows. 6 hours: the weekly job's timeout (360 min) fits inside it.
 */
export const PIPELINE_SESSION_SECONDS = 21600;
/** IAM's bounds of a role's `maxSessionDuration` (1 to 12 hours). */
export const IAM_SESSION_BOUNDS = { min: 3600, max: 43200 } as const;
