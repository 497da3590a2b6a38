/**
 * The ECR world the mocks harness answers from (FACTS §0, §1, §2, §10): repositories holding
 * images {digest, tags, pushedAt}; `aws.ecr.getImages` (ListImages: one `{imageDigest, imageTag}`
 * per digest+tag pair, `couldn't find resource` for a missing repository); an injectable
 * AccessDenied; tag immutability as the program declared it on the repository (exclusion
 * filters stay mutable) for pushes and retags; which pushes start a scan (the account-wide scanning
 * filters win over a repository's scanOnPush); and a count of registry calls per token.
 * Errors are thrown as `Object.assign(new Error(m), { details: m })`, the only shape that reaches
 * the program with its message under @pulumi/pulumi 3.248 mocks.
 */
import { tagPatternMatches } from "../lib/images/tags";
import { effectiveScanFrequency, RegistryScanningRule } from "../lib/registry/scanGate";

export const ECR_ACCOUNT_ID = "123456789012";
export const ECR_REGION = "us-east-1";

/** One manifest in a repository. */
export interface EcrImage {
    digest: string;
    tags: string[];
    /** Unix seconds. */
    pushedAt: number;
}

interface EcrRepository {
    images: EcrImage[];
    mutability: string;
    exclusionFilters: string[];
    /** The repository's own imageScanningConfiguration.scanOnPush (overridden by an account-wide configuration). */
    scanOnPush?: boolean;
}

/** An error as a failed invoke/registration delivers it to the program. */
export function providerError(message: string): Error {
    return Object.assign(new Error(message), { details: message });
}

/** ListImages denied: the aws-sdk-go-v2 rendering of AWS's AccessDeniedException (FACTS §1, for ListImages). */
export function listImagesAccessDenied(repositoryName: string): string {
    return (
        `reading ECR Images: operation error ECR: ListImages, https response error StatusCode: 400, RequestID: 6f1e2c3a-0b9d-4c55-8f2e-1a2b3c4d5e6f, ` +
        `api error AccessDeniedException: User: arn:aws:sts::${ECR_ACCOUNT_ID}:assumed-role/ml-ci-images-pipeline/GitHubActions is not authorized to perform: ` +
        `ecr:ListImages on resource: arn:aws:ecr:${ECR_REGION}:${ECR_ACCOUNT_ID}:repository/${repositoryName} because no identity-based policy allows the ecr:ListImages action`
    );
}

/** The registry's answer to a push or retag moving an immutable tag (FACTS §10). */
export function immutableTagMessage(tag: string, repositoryName: string): string {
    return `tag invalid: The image tag '${tag}' already exists in the '${repositoryName}' repository and cannot be overwritten because the repository is immutable.`;
}

export class EcrModel {
    readonly repositories = new Map<string, EcrRepository>();
    /** Provider function calls answered, per token. */
    readonly calls: Record<string, number> = {};
    /** Repositories whose ListImages is denied (AccessDenied text above). */
    readonly deniedListImages = new Set<string>();
    /** The account-wide scanning rules (`PutRegistryScanningConfiguration` replaces them); undefined: never set. */
    registryScanningRules?: RegistryScanningRule[];
    /** Digests whose scan started on push, per repository: "<repository>@<digest>". */
    readonly scannedOnPush = new Set<string>();
    private clock = 1763856000;

    /** From the harness's `<repository>:<tag>` → digest map; `existingRepositories` may add empty ones. */
    static fromTagMap(tagDigests: Record<string, string>, existingRepositories?: string[]): EcrModel {
        const model = new EcrModel();
        for (const r of existingRepositories ?? []) model.ensureRepository(r);
        for (const [key, digest] of Object.entries(tagDigests)) {
            const i = key.lastIndexOf(":");
            model.addImage(key.slice(0, i), digest, [key.slice(i + 1)]);
        }
        return model;
    }

    ensureRepository(name: string): EcrRepository {
        let r = this.repositories.get(name);
        if (!r) {
            r = { images: [], mutability: "MUTABLE", exclusionFilters: [] };
            this.repositories.set(name, r);
        }
        return r;
    }

    /**
     * The scan frequency a push gets: with an account-wide configuration its filters decide ("Any repositories that
     * don't match a scan on push filter are set to the manual scan frequency", ECR User Guide), whatever the
     * repository's own scanOnPush; without one, the repository's setting.
     */
    scanFrequency(name: string): string {
        if (this.registryScanningRules !== undefined) return effectiveScanFrequency(this.registryScanningRules, name);
        return this.repositories.get(name)?.scanOnPush === true ? "SCAN_ON_PUSH" : "MANUAL";
    }

    /** Applies what the program declared on `aws.ecr.Repository` (mutability and exclusion filters, scanOnPush). */
    configureRepository(name: string, mutability: string | undefined, exclusionFilters: { filter: string }[] | undefined, scanOnPush?: boolean): void {
        const r = this.ensureRepository(name);
        r.scanOnPush = scanOnPush;
        r.mutability = mutability ?? "MUTABLE";
        r.exclusionFilters = (exclusionFilters ?? []).map((f) => f.filter);
    }

    /** Seeds an image without immutability checks (the world before the run). */
    addImage(repositoryName: string, digest: string, tags: string[], pushedAt?: number): void {
        const r = this.ensureRepository(repositoryName);
        for (const img of r.images) img.tags = img.tags.filter((t) => !tags.includes(t));
        const existing = r.images.find((i) => i.digest === digest);
        if (existing) existing.tags.push(...tags.filter((t) => !existing.tags.includes(t)));
        else r.images.push({ digest, tags: [...tags], pushedAt: pushedAt ?? this.clock++ });
    }

    digestOf(repositoryName: string, tag: string): string | undefined {
        return this.repositories.get(repositoryName)?.images.find((i) => i.tags.includes(tag))?.digest;
    }

    private tagIsImmutable(r: EcrRepository, tag: string): boolean {
        if (r.mutability === "MUTABLE") return false;
        const excluded = r.exclusionFilters.some((f) => tagPatternMatches(f, tag));
        if (r.mutability === "IMMUTABLE") return true;
        if (r.mutability === "IMMUTABLE_WITH_EXCLUSION") return !excluded;
        if (r.mutability === "MUTABLE_WITH_EXCLUSION") return excluded;
        return false;
    }

    /** A push or retag of `tags` onto `digest`: fails like ECR when it would move an immutable tag. */
    putTags(repositoryName: string, digest: string, tags: string[]): void {
        const r = this.repositories.get(repositoryName);
        if (!r) throw providerError(`name unknown: The repository with name '${repositoryName}' does not exist in the registry with id '${ECR_ACCOUNT_ID}'`);
        for (const tag of tags) {
            const current = this.digestOf(repositoryName, tag);
            if (current !== undefined && current !== digest && this.tagIsImmutable(r, tag)) throw providerError(immutableTagMessage(tag, repositoryName));
        }
        const isNew = !r.images.some((i) => i.digest === digest);
        this.addImage(repositoryName, digest, tags);
        if (isNew && this.scanFrequency(repositoryName) !== "MANUAL") this.scannedOnPush.add(`${repositoryName}@${digest}`);
    }

    private count(token: string): void {
        this.calls[token] = (this.calls[token] ?? 0) + 1;
    }

    /** Total provider calls that reached the registry (listings and lookups). */
    registryCalls(): number {
        return (this.calls["aws:ecr/getImages:getImages"] ?? 0) + (this.calls["aws:ecr/getImage:getImage"] ?? 0);
    }

    /** `aws:ecr/getImages:getImages` (TF aws_ecr_images → ListImages). */
    getImages(inputs: { repositoryName: string }): Record<string, unknown> {
        this.count("aws:ecr/getImages:getImages");
        const name = inputs.repositoryName;
        if (this.deniedListImages.has(name)) throw providerError(listImagesAccessDenied(name));
        const r = this.repositories.get(name);
        if (!r) throw providerError("reading ECR Images: couldn't find resource");
        const imageIds = r.images.flatMap((i) => (i.tags.length ? i.tags.map((t) => ({ imageDigest: i.digest, imageTag: t })) : [{ imageDigest: i.digest }]));
        return { repositoryName: name, registryId: ECR_ACCOUNT_ID, region: ECR_REGION, imageIds, id: name };
    }

    /** `aws:ecr/getImage:getImage` (TF aws_ecr_image → DescribeImages + DescribeRepositories); kept for callers not yet on getImages. */
    getImage(inputs: { repositoryName: string; imageTag?: string }): Record<string, unknown> {
        this.count("aws:ecr/getImage:getImage");
        const name = inputs.repositoryName;
        const r = this.repositories.get(name);
        const img = r?.images.find((i) => inputs.imageTag !== undefined && i.tags.includes(inputs.imageTag));
        if (!r || !img) throw providerError("reading ECR Images: couldn't find resource");
        return {
            imageDigest: img.digest,
            imageTags: img.tags,
            repositoryName: name,
            registryId: ECR_ACCOUNT_ID,
            imagePushedAt: img.pushedAt,
            imageSizeInBytes: 4_200_000_000,
            imageUri: `${ECR_ACCOUNT_ID}.dkr.ecr.${ECR_REGION}.amazonaws.com/${name}@${img.digest}`,
            id: img.digest,
        };
    }
}
