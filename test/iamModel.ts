/**
 * The IAM/STS world of the mocks (FACTS.md §6, §7): the account's OIDC providers (one per URL: a second create fails
 * with EntityAlreadyExists; a lookup by URL of a missing one fails with the provider's not-found text) and STS's
 * session-length rule for AssumeRoleWithWebIdentity. Errors are thrown the way a mock must throw them to reach the
 * program with their text: `Object.assign(new Error(m), { details: m })`.
 */
import { createHash } from "crypto";

const fail = (message: string): never => {
    throw Object.assign(new Error(message), { details: message });
};

/** A role as recorded from the program (`aws.iam.Role` inputs). */
export interface RecordedRole {
    /** Seconds; IAM's default is 3600 when unset. */
    maxSessionDuration?: number;
}

/** IAM's default maxSessionDuration (TF `aws_iam_role` schema: Default 3600). */
export const IAM_DEFAULT_MAX_SESSION_SECONDS = 3600;

/**
 * STS AssumeRoleWithWebIdentity's session-length rule as aws-actions/configure-aws-credentials meets it: 900 s minimum,
 * at most the role's maxSessionDuration (3600 when unset); else the real ValidationError text behind the action's
 * `Could not assume role with OIDC: ` prefix. Returns the granted session length.
 */
export function assumeRoleWithWebIdentity(role: RecordedRole, durationSeconds: number): { durationSeconds: number } {
    const max = role.maxSessionDuration ?? IAM_DEFAULT_MAX_SESSION_SECONDS;
    if (!Number.isInteger(durationSeconds) || durationSeconds < 900) {
        fail(`Could not assume role with OIDC: 1 validation error detected: Value '${durationSeconds}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900`);
    }
    if (durationSeconds > max) fail("Could not assume role with OIDC: The requested DurationSeconds exceeds the MaxSessionDuration set for this role.");
    return { durationSeconds };
}

/** The account's IAM OIDC providers. */
export class IamModel {
    private readonly providers = new Set<string>();

    constructor(
        readonly accountId: string,
        existingProviderUrls: string[] = [],
    ) {
        existingProviderUrls.forEach((u) => this.providers.add(u));
    }

    /** ARN IAM gives a provider: the URL without its scheme. */
    providerArn(url: string): string {
        return `arn:aws:iam::${this.accountId}:oidc-provider/${url.replace(/^https:\/\//, "")}`;
    }

    /** `aws.iam.OpenIdConnectProvider` create: the URL is matched literally; a second one fails with IAM's 409. */
    createOidcProvider(url: string): string {
        if (this.providers.has(url)) {
            const requestId = createHash("md5").update(url).digest("hex").replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, "$1-$2-$3-$4-$5");
            fail(`creating IAM OIDC Provider: operation error IAM: CreateOpenIDConnectProvider, https response error StatusCode: 409, RequestID: ${requestId}, EntityAlreadyExists: Provider with url ${url} already exists.`);
        }
        this.providers.add(url);
        return this.providerArn(url);
    }

    /** `aws.iam.getOpenIdConnectProvider({ url })` (TF data source: ListOpenIDConnectProviders, then Get). */
    getOpenIdConnectProvider(args: { url?: string; arn?: string }): Record<string, unknown> {
        const url = args.url ?? [...this.providers].find((u) => this.providerArn(u) === args.arn);
        if (url === undefined || !this.providers.has(url)) {
            fail(args.url !== undefined ? `finding IAM OIDC Provider by url (${args.url}): not found` : `reading IAM OIDC Provider (${args.arn}): couldn't find resource`);
        }
        const arn = this.providerArn(url!);
        return { arn, id: arn, url: url!.replace(/^https:\/\//, ""), clientIdLists: ["sts.amazonaws.com"], thumbprintLists: [], tags: {} };
    }
}
