/**
 * The rehearsal's AWS account: moto_server (Python moto 5.2) for IAM, STS, ECR and S3, driven with the
 * AWS SDK v3, so EntityAlreadyExists, NoSuchEntity, MalformedPolicyDocument and ECR's own validation are
 * real errors. What moto does not model is held here, each rule with its source:
 * - ECR pull-through cache rules and repository creation templates (moto 5.2 has neither API): recorded
 *   as the provider sends them (terraform-provider-aws internal/service/ecr/pull_through_cache_rule.go,
 *   repository_creation_template.go).
 * - Scan on push: moto applies the registry's scan filters to each repository's effective scan frequency
 *   (moto/ecr/models.py put_registry_scanning_configuration, create_repository) but scans nothing on
 *   push. AWS: "Any repositories that don't match a scan on push filter are set to the manual scan
 *   frequency" (https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-scanning-basic.html,
 *   "Configuring basic scanning"); a repository whose effective frequency is SCAN_ON_PUSH (or continuous)
 *   is scanned when an image is pushed. So the world starts moto's scan for exactly those pushes.
 * - Tag immutability with exclusion filters (IMMUTABLE_WITH_EXCLUSION): moto 5.2.1 accepts the repository
 *   but compiles a wildcard filter such as `*-latest` as a Python regex on PutImage and answers 500
 *   ("re.error: nothing to repeat", moto/ecr/models.py put_image). The repository is created MUTABLE in
 *   moto and the world applies ECR's rule itself: an immutable tag cannot move to another digest
 *   (ImageTagAlreadyExistsException) unless it matches an exclusion filter, where `*` matches any
 *   characters. https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-tag-mutability.html
 * - Secrets Manager secrets that stacks reference by ARN: their ARNs only (no value is ever read here).
 */
import { ECRClient, BatchGetImageCommand, BatchGetRepositoryScanningConfigurationCommand, CreateRepositoryCommand, DescribeImageScanFindingsCommand, GetAuthorizationTokenCommand, GetRepositoryPolicyCommand, ListImagesCommand, PutImageCommand, PutLifecyclePolicyCommand, PutRegistryScanningConfigurationCommand, PutReplicationConfigurationCommand, SetRepositoryPolicyCommand, StartImageScanCommand, DescribeRepositoriesCommand } from "@aws-sdk/client-ecr";
import { IAMClient, AddRoleToInstanceProfileCommand, AttachRolePolicyCommand, CreateInstanceProfileCommand, CreateOpenIDConnectProviderCommand, CreatePolicyCommand, CreateRoleCommand, GetOpenIDConnectProviderCommand, GetPolicyCommand, GetPolicyVersionCommand, GetRoleCommand, GetRolePolicyCommand, ListAttachedRolePoliciesCommand, ListOpenIDConnectProvidersCommand, ListRolePoliciesCommand, PutRolePolicyCommand, UpdateAssumeRolePolicyCommand, ListInstanceProfilesForRoleCommand } from "@aws-sdk/client-iam";
import { S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand } from "@aws-sdk/client-s3";
import { STSClient, GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { createHash } from "crypto";
import { MotoIam } from "../motoIam";
import { NamedPolicy } from "./iamEvaluator";

export const ACCOUNT_ID = "123456789012"; // moto's default account, and the stacks' aws:allowedAccountIds
export const REGION = "us-east-1";
export const REGISTRY = `${ACCOUNT_ID}.dkr.ecr.${REGION}.amazonaws.com`;

/** The error shape that reaches the program with its message under @pulumi/pulumi 3.248 mocks (test/ecrModel.ts). */
export function providerError(message: string): Error {
    return Object.assign(new Error(message), { details: message });
}

function decode(doc: string | undefined): any {
    return doc === undefined ? undefined : JSON.parse(decodeURIComponent(doc));
}

/** One AWS account backed by a running moto_server. */
export class AwsAccount {
    readonly iam: IAMClient;
    readonly ecr: ECRClient;
    readonly s3: S3Client;
    readonly sts: STSClient;
    /** Pull-through cache rules by prefix (moto has no such API). */
    readonly pullThroughCacheRules = new Map<string, Record<string, unknown>>();
    /** Repository creation templates by prefix (moto has no such API). */
    readonly creationTemplates = new Map<string, Record<string, unknown>>();
    /** Images the world scanned on push (repository@digest), per the scan-on-push rule above. */
    readonly scannedOnPush: string[] = [];
    /** Tag mutability per repository when the world holds it (IMMUTABLE_WITH_EXCLUSION, see above). */
    private readonly immutability = new Map<string, { filters: string[] }>();

    private constructor(readonly moto: MotoIam) {
        const common = { endpoint: moto.endpoint, region: REGION, credentials: { accessKeyId: "testing", secretAccessKey: "testing" } };
        this.iam = new IAMClient(common);
        this.ecr = new ECRClient(common);
        this.s3 = new S3Client({ ...common, forcePathStyle: true });
        this.sts = new STSClient(common);
    }

    /** Starts moto_server on a free port of 127.0.0.1 (stop() ends it; so do the process's exit and SIGTERM/SIGINT, e.g. from `timeout`). */
    static async start(): Promise<AwsAccount> {
        const account = new AwsAccount(await MotoIam.start());
        const onSignal = (signal: NodeJS.Signals) => {
            account.stop();
            process.kill(process.pid, signal);
        };
        account.detach = () => {
            process.off("exit", account.stopListener);
            process.off("SIGTERM", onSignal);
            process.off("SIGINT", onSignal);
        };
        process.once("exit", account.stopListener);
        process.once("SIGTERM", onSignal);
        process.once("SIGINT", onSignal);
        return account;
    }

    private readonly stopListener = () => this.stop();
    private detach: () => void = () => undefined;
    private stopped = false;

    stop(): void {
        if (this.stopped) return;
        this.stopped = true;
        this.detach();
        for (const c of [this.iam, this.ecr, this.s3, this.sts]) c.destroy();
        this.moto.stop();
    }

    async callerAccount(): Promise<string> {
        return (await this.sts.send(new GetCallerIdentityCommand({}))).Account!;
    }

    // ---- IAM --------------------------------------------------------------------------------------

    /** Creates a role, then re-submits its trust policy through UpdateAssumeRolePolicy: moto validates trust documents only there (test/motoIam.ts). */
    async createRole(name: string, trustPolicy: string, extra: { description?: string; maxSessionDuration?: number; tags?: Record<string, string>; path?: string; permissionsBoundary?: string } = {}): Promise<{ arn: string; uniqueId: string }> {
        const out = await this.iam.send(new CreateRoleCommand({
            RoleName: name,
            Path: extra.path,
            AssumeRolePolicyDocument: trustPolicy,
            Description: extra.description,
            MaxSessionDuration: extra.maxSessionDuration,
            PermissionsBoundary: extra.permissionsBoundary,
            Tags: Object.entries(extra.tags ?? {}).map(([Key, Value]) => ({ Key, Value })),
        }));
        await this.iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: name, PolicyDocument: trustPolicy }));
        return { arn: out.Role!.Arn!, uniqueId: out.Role!.RoleId! };
    }

    async createPolicy(name: string, document: string, description?: string, path?: string): Promise<string> {
        return (await this.iam.send(new CreatePolicyCommand({ PolicyName: name, PolicyDocument: document, Description: description, Path: path }))).Policy!.Arn!;
    }

    async attachRolePolicy(role: string, policyArn: string): Promise<void> {
        await this.iam.send(new AttachRolePolicyCommand({ RoleName: role, PolicyArn: policyArn }));
    }

    async putRolePolicy(role: string, name: string, document: string): Promise<void> {
        await this.iam.send(new PutRolePolicyCommand({ RoleName: role, PolicyName: name, PolicyDocument: document }));
    }

    async createInstanceProfile(name: string, role: string, path?: string): Promise<string> {
        const out = await this.iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: name, Path: path }));
        await this.iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: name, RoleName: role }));
        return out.InstanceProfile!.Arn!;
    }

    async createOidcProvider(url: string, clientIds: string[], thumbprints?: string[]): Promise<string> {
        return (await this.iam.send(new CreateOpenIDConnectProviderCommand({ Url: url, ClientIDList: clientIds, ThumbprintList: thumbprints }))).OpenIDConnectProviderArn!;
    }

    /** The provider's ARN for a URL, or undefined (ListOpenIDConnectProviders + GetOpenIDConnectProvider, as the TF data source does). */
    async findOidcProvider(url: string): Promise<{ arn: string; url: string; clientIdLists: string[]; thumbprintLists: string[] } | undefined> {
        const host = url.replace(/^https:\/\//, "");
        for (const p of (await this.iam.send(new ListOpenIDConnectProvidersCommand({}))).OpenIDConnectProviderList ?? []) {
            const got = await this.iam.send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: p.Arn }));
            if ((got.Url ?? "").replace(/^https:\/\//, "") === host) return { arn: p.Arn!, url: `https://${host}`, clientIdLists: got.ClientIDList ?? [], thumbprintLists: got.ThumbprintList ?? [] };
        }
        return undefined;
    }

    /** The role's trust policy as IAM stores it. */
    async trustPolicy(roleName: string): Promise<unknown> {
        return decode((await this.iam.send(new GetRoleCommand({ RoleName: roleName }))).Role!.AssumeRolePolicyDocument);
    }

    /** Every identity policy of a role as IAM stores it: attached managed policies (default version) and inline policies. */
    async roleIdentityPolicies(roleName: string): Promise<NamedPolicy[]> {
        const out: NamedPolicy[] = [];
        const attached = (await this.iam.send(new ListAttachedRolePoliciesCommand({ RoleName: roleName }))).AttachedPolicies ?? [];
        for (const a of attached) {
            const p = (await this.iam.send(new GetPolicyCommand({ PolicyArn: a.PolicyArn }))).Policy!;
            const v = await this.iam.send(new GetPolicyVersionCommand({ PolicyArn: a.PolicyArn, VersionId: p.DefaultVersionId }));
            out.push({ name: a.PolicyArn!, policy: decode(v.PolicyVersion!.Document) });
        }
        for (const name of (await this.iam.send(new ListRolePoliciesCommand({ RoleName: roleName }))).PolicyNames ?? []) {
            const p = await this.iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: name }));
            out.push({ name: `${roleName}/inline/${name}`, policy: decode(p.PolicyDocument) });
        }
        return out;
    }

    /** The role behind an instance profile (the runner's EC2 identity). */
    async rolesOfInstanceProfile(roleName: string): Promise<string[]> {
        return ((await this.iam.send(new ListInstanceProfilesForRoleCommand({ RoleName: roleName }))).InstanceProfiles ?? []).map((p) => p.InstanceProfileName!);
    }

    // ---- ECR --------------------------------------------------------------------------------------

    async createRepository(inputs: Record<string, any>): Promise<{ arn: string; url: string; registryId: string }> {
        const withExclusion = inputs.imageTagMutability === "IMMUTABLE_WITH_EXCLUSION";
        const out = await this.ecr.send(new CreateRepositoryCommand({
            repositoryName: inputs.name,
            imageTagMutability: withExclusion ? "MUTABLE" : inputs.imageTagMutability,
            imageScanningConfiguration: inputs.imageScanningConfiguration ? { scanOnPush: inputs.imageScanningConfiguration.scanOnPush } : undefined,
            encryptionConfiguration: inputs.encryptionConfigurations?.[0] ? { encryptionType: inputs.encryptionConfigurations[0].encryptionType, kmsKey: inputs.encryptionConfigurations[0].kmsKey } : undefined,
            tags: Object.entries((inputs.tags ?? {}) as Record<string, string>).map(([Key, Value]) => ({ Key, Value })),
        }));
        const r = out.repository!;
        if (withExclusion) this.immutability.set(inputs.name, { filters: (inputs.imageTagMutabilityExclusionFilters ?? []).map((f: { filter: string }) => f.filter) });
        return { arn: r.repositoryArn!, url: r.repositoryUri!, registryId: r.registryId! };
    }

    async setRepositoryPolicy(repository: string, policy: string): Promise<void> {
        await this.ecr.send(new SetRepositoryPolicyCommand({ repositoryName: repository, policyText: policy }));
    }

    /** The repository's policy, or undefined when it has none. */
    async repositoryPolicy(repository: string): Promise<unknown> {
        try {
            return JSON.parse((await this.ecr.send(new GetRepositoryPolicyCommand({ repositoryName: repository }))).policyText!);
        } catch (e) {
            if ((e as Error).name === "RepositoryPolicyNotFoundException") return undefined;
            throw e;
        }
    }

    async putLifecyclePolicy(repository: string, policy: string): Promise<void> {
        await this.ecr.send(new PutLifecyclePolicyCommand({ repositoryName: repository, lifecyclePolicyText: policy }));
    }

    async putRegistryScanningConfiguration(inputs: Record<string, any>): Promise<void> {
        await this.ecr.send(new PutRegistryScanningConfigurationCommand({
            scanType: inputs.scanType,
            rules: (inputs.rules ?? []).map((r: any) => ({ scanFrequency: r.scanFrequency, repositoryFilters: r.repositoryFilters.map((f: any) => ({ filter: f.filter, filterType: f.filterType })) })),
        }));
    }

    async putReplicationConfiguration(inputs: Record<string, any>): Promise<void> {
        const rules = (inputs.replicationConfiguration?.rules ?? []).map((r: any) => ({
            destinations: (r.destinations ?? []).map((d: any) => ({ region: d.region, registryId: d.registryId })),
            repositoryFilters: r.repositoryFilters?.map((f: any) => ({ filter: f.filter, filterType: f.filterType })),
        }));
        await this.ecr.send(new PutReplicationConfigurationCommand({ replicationConfiguration: { rules } }));
    }

    /** Each repository's effective scan frequency, as ECR reports it after the registry's filters applied. */
    async effectiveScanFrequency(repositories: string[]): Promise<Record<string, string>> {
        const out = await this.ecr.send(new BatchGetRepositoryScanningConfigurationCommand({ repositoryNames: repositories }));
        return Object.fromEntries((out.scanningConfigurations ?? []).map((c) => [c.repositoryName!, c.scanFrequency!]));
    }

    async repositoryExists(name: string): Promise<boolean> {
        try {
            await this.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }));
            return true;
        } catch (e) {
            if ((e as Error).name === "RepositoryNotFoundException") return false;
            throw e;
        }
    }

    /**
     * A push: PutImage of a manifest under each tag (moto computes the digest from the manifest), then the
     * scan-on-push rule above. Returns the digest.
     */
    async push(repository: string, tags: string[], seed: string): Promise<string> {
        const manifest = JSON.stringify({
            schemaVersion: 2,
            mediaType: "application/vnd.oci.image.manifest.v1+json",
            config: { mediaType: "application/vnd.oci.image.config.v1+json", size: 2, digest: `sha256:${createHash("sha256").update(`config:${seed}`).digest("hex")}` },
            layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", size: 1024, digest: `sha256:${createHash("sha256").update(`layer:${seed}`).digest("hex")}` }],
        });
        let digest = `sha256:${createHash("sha256").update(manifest).digest("hex")}`;
        for (const tag of tags) await this.checkImmutable(repository, tag, digest);
        for (const tag of tags.length > 0 ? tags : [undefined]) {
            const out = await this.ecr.send(new PutImageCommand({ repositoryName: repository, imageManifest: manifest, imageManifestMediaType: "application/vnd.oci.image.manifest.v1+json", imageTag: tag }));
            digest = out.image!.imageId!.imageDigest!;
        }
        const frequency = (await this.effectiveScanFrequency([repository]))[repository];
        if (frequency === "SCAN_ON_PUSH" || frequency === "CONTINUOUS_SCAN") {
            await this.startScan(repository, digest);
            this.scannedOnPush.push(`${repository}@${digest}`);
        }
        return digest;
    }

    /** The world's immutability rule (see above): throws ECR's error when `tag` would move off its digest. */
    private async checkImmutable(repository: string, tag: string, digest: string): Promise<void> {
        const rule = this.immutability.get(repository);
        if (rule === undefined) return;
        if (rule.filters.some((f) => new RegExp(`^${f.split("*").map((x) => x.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`).test(tag))) return;
        const current = ((await this.ecr.send(new ListImagesCommand({ repositoryName: repository }))).imageIds ?? []).find((i) => i.imageTag === tag);
        if (current !== undefined && current.imageDigest !== digest) throw providerError(`ImageTagAlreadyExistsException: The image tag '${tag}' already exists in the '${repository}' repository and cannot be overwritten because the tag is immutable.`);
    }

    /** StartImageScan (moto refuses a second scan of the same image on one day: that is not an error here). */
    async startScan(repository: string, digest: string): Promise<void> {
        try {
            await this.ecr.send(new StartImageScanCommand({ repositoryName: repository, imageId: { imageDigest: digest } }));
        } catch (e) {
            if ((e as Error).name !== "LimitExceededException") throw e;
        }
    }

    /** Retag: the registry v2 GET of the manifest by digest, then PUT under each tag (`ci-images retag`). */
    async retag(repository: string, digest: string, tags: string[]): Promise<void> {
        const got = await this.ecr.send(new BatchGetImageCommand({ repositoryName: repository, imageIds: [{ imageDigest: digest }] }));
        const image = got.images?.[0];
        if (image === undefined) throw providerError(`retag: ${repository}@${digest} not found`);
        for (const tag of tags) {
            await this.checkImmutable(repository, tag, digest);
            await this.ecr.send(new PutImageCommand({ repositoryName: repository, imageManifest: image.imageManifest, imageManifestMediaType: image.imageManifestMediaType, imageTag: tag }));
        }
    }

    /** True when ECR has a scan result for the digest (DescribeImageScanFindings answers; ScanNotFoundException: none). */
    async hasScanResult(repository: string, digest: string): Promise<boolean> {
        try {
            await this.ecr.send(new DescribeImageScanFindingsCommand({ repositoryName: repository, imageId: { imageDigest: digest } }));
            return true;
        } catch (e) {
            if ((e as Error).name === "ScanNotFoundException") return false;
            throw e;
        }
    }

    /** ListImages in the shape of `aws.ecr.getImages`; a missing repository fails with the provider's text. */
    async listImages(repository: string): Promise<Record<string, unknown>> {
        try {
            const out = await this.ecr.send(new ListImagesCommand({ repositoryName: repository }));
            return { repositoryName: repository, registryId: ACCOUNT_ID, region: REGION, id: repository, imageIds: (out.imageIds ?? []).map((i) => ({ imageDigest: i.imageDigest, ...(i.imageTag ? { imageTag: i.imageTag } : {}) })) };
        } catch (e) {
            // terraform-provider-aws internal/service/ecr/images_data_source.go: tfresource.NotFound → "couldn't find resource".
            if ((e as Error).name === "RepositoryNotFoundException") throw providerError("reading ECR Images: couldn't find resource");
            throw e;
        }
    }

    async authorizationToken(): Promise<Record<string, unknown>> {
        const d = (await this.ecr.send(new GetAuthorizationTokenCommand({}))).authorizationData![0];
        const [userName, password] = Buffer.from(d.authorizationToken!, "base64").toString().split(":");
        return { authorizationToken: d.authorizationToken, userName, password, proxyEndpoint: d.proxyEndpoint, expiresAt: d.expiresAt?.toISOString(), id: ACCOUNT_ID };
    }

    // ---- S3 (the Pulumi state backend) -----------------------------------------------------------

    async createBucket(name: string): Promise<void> {
        await this.s3.send(new CreateBucketCommand({ Bucket: name }));
    }

    async putObject(bucket: string, key: string, body: string): Promise<void> {
        await this.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    }

    async getObject(bucket: string, key: string): Promise<string> {
        return (await (await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString());
    }
}
