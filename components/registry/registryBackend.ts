import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { StackConfig } from "../../lib/config/schema";
import { EcrRegistry } from "./ecrRegistry";
import { RegistryCredentials } from "../images/imageBuild";
import { LocalRegistry } from "./localRegistry";
import { localRegistryClient, localRegistryHooks } from "./localRegistryClient";
import { ListedImage, listingFromImageIds, listingFromTagDigests } from "../../lib/registry/imageListing";
import type { RegistryHttpError } from "../../lib/registry/registryHttp";

/**
 * What the rest of the program needs from a registry, whichever it is. The ECR-or-local
 * choice is made once, in {@link createRegistryBackend}; nothing else branches on it.
 */
export interface RegistryBackend {
    kind: "ecr" | "local";
    /** Registry host images are pushed to: `<account>.dkr.ecr.<region>.amazonaws.com` or `localhost:<port>`. */
    server: pulumi.Output<string>;
    /** Repository URL per family. */
    repositoryUrls: Record<string, pulumi.Output<string>>;
    /** Repository ARNs (ECR only; empty for the local registry). */
    repositoryArns: pulumi.Output<string>[];
    /** ARN pattern of the pull-through cache repositories, when there is a cache. */
    pullThroughCacheRepositoryArnPattern?: pulumi.Output<string>;
    /** Push credentials; undefined where none are needed or where the run logs in itself (`loginFromHost`). */
    credentials?: RegistryCredentials;
    /**
     * The run logs in itself, so no registry credential is an input (and none reaches the state, which the PR
     * preview role can read): docker-build uses the host's Docker logins (pulumi-docker-build provider/internal/host.go
     * `newHost`: `docker.ConfigFile().GetAllCredentials()`), and the Commands' `ci-images` gets an ECR token with the
     * run's own AWS credentials (cli/registryAccess.ts, MLCI_REGISTRY_AUTH unset). ECR only. @default false
     */
    loginFromHost?: boolean;
    /** BASE_REGISTRY for root images: the Docker Hub pull-through cache, or docker.io. */
    baseRegistry: pulumi.Output<string>;
    /** Resources that must exist before anything is pushed. */
    ready: pulumi.Resource[];
    /**
     * One listing of a repository: every image with its tags (ECR `aws.ecr.getImages`, i.e.
     * ListImages; the local registry's tags list, digests unresolved). `[]` when the repository
     * does not exist yet; any other failure throws, naming the repository and the permission.
     */
    listRepository(repositoryName: string): Promise<ListedImage[]>;
    /** Digest of a tag a listing named without one (local tags lists); undefined when absent. */
    resolveDigest(repositoryName: string, tag: string): Promise<string | undefined>;
}

/** The IAM action the ECR listing needs (docs/aws-apis.md). */
export const LIST_IMAGES_ACTION = "ecr:ListImages";

/** The message of a failed invoke (a plain Error under mocks carries it in `details`). */
function errorText(e: unknown): string {
    const err = e as { message?: string; details?: string } | undefined;
    return err?.message || err?.details || String(e);
}

/** ECR listing: one ListImages pass; a missing repository is `couldn't find resource` → empty. */
export async function listEcrRepository(repositoryName: string, getImages: (args: { repositoryName: string }) => Promise<{ imageIds: { imageDigest: string; imageTag?: string }[] }>): Promise<ListedImage[]> {
    try {
        return listingFromImageIds((await getImages({ repositoryName })).imageIds ?? []);
    } catch (e) {
        const message = errorText(e);
        if (/couldn't find resource|RepositoryNotFoundException/.test(message)) return [];
        const denied = /AccessDenied|not authorized/i.test(message);
        throw new Error(
            `registry lookup of ECR repository ${repositoryName} failed: ${message}. ` +
                (denied
                    ? `Fix: grant ${LIST_IMAGES_ACTION} on that repository to the role running pulumi (the pipeline push policy has it; see docs/aws-apis.md).`
                    : `The run needs ${LIST_IMAGES_ACTION} on that repository; retry when the registry answers (nothing was built or pushed).`),
        );
    }
}

/**
 * Local registry listing: one tags list. A refused connection lists nothing only when this run
 * creates the LocalRegistry (`createdByThisRun`: no container of that name yet, so nothing can
 * listen), and is then not retried. Otherwise the container exists and a refusal, a reset, a
 * timeout or a 5xx after the retries fails the run: an empty listing would rebuild, and re-push the
 * content tags of, builds that are there.
 */
export async function listLocalRepository(server: string, repositoryName: string, createdByThisRun: boolean | (() => Promise<boolean>) = false, containerName = "the local registry container"): Promise<ListedImage[]> {
    const created = typeof createdByThisRun === "function" ? await createdByThisRun() : createdByThisRun;
    let tags: string[];
    try {
        tags = await localRegistryClient(server, created).listTags(repositoryName);
    } catch (e) {
        const { status, code } = e as RegistryHttpError;
        const refused = status === 0 && (code === "ECONNREFUSED" || code === undefined);
        if (refused && created) return [];
        throw new Error(
            `registry lookup of ${server}/${repositoryName} failed: ${errorText(e)}` +
                (refused ? `. ${containerName} exists but nothing answers on ${server}. Fix: start it (docker start ${containerName}) and run again (nothing was built or pushed)` : ""),
        );
    }
    return listingFromTagDigests(Object.fromEntries(tags.map((t) => [t, ""])));
}

/** Secrets the registry backend may need. */
export interface RegistrySecrets {
    /** Docker Hub access token for the pull-through cache credential (secret config mlci:dockerHubAccessToken). */
    dockerHubAccessToken?: pulumi.Output<string>;
}

/** Creates the registry the stack config asks for: ECR, or a local registry container. */
export function createRegistryBackend(config: StackConfig, secrets: RegistrySecrets): RegistryBackend {
    const families = config.families.map((f) => f.name);
    if (config.registry.backend === "local") {
        const local = new LocalRegistry("local-registry", { port: config.registry.local.port, containerName: config.registry.local.containerName });
        const server = `localhost:${config.registry.local.port}`;
        // Asked once per run, before the container is registered in the engine's view of this run.
        let created: Promise<boolean> | undefined;
        const createdByThisRun = () => (created ??= localRegistryHooks.registryCreatedByThisRun(config.registry.local.containerName));
        return {
            kind: "local",
            server: local.server,
            repositoryUrls: Object.fromEntries(families.map((f) => [f, pulumi.output(`${server}/${config.registry.prefix}/${f}`)])),
            repositoryArns: [],
            baseRegistry: pulumi.output("docker.io"),
            ready: [local],
            listRepository: (repositoryName) => listLocalRepository(server, repositoryName, createdByThisRun, config.registry.local.containerName),
            resolveDigest: (repositoryName, tag) => localRegistryClient(server).manifestDigest(repositoryName, tag),
        };
    }
    const ecr = new EcrRegistry("registry", {
        prefix: config.registry.prefix,
        families,
        datedFamilies: config.families.filter((f) => f.dateRebuilt).map((f) => f.name),
        protect: config.registry.protect,
        forceDelete: config.registry.forceDelete,
        encryption: config.registry.encryption,
        retention: config.registry.retention,
        familyKeepHashBuilds: Object.fromEntries(config.families.filter((f) => f.keepHashBuilds !== undefined).map((f) => [f.name, f.keepHashBuilds!])),
        scanning: config.registry.scanning,
        pullThroughCache: { ...config.registry.pullThroughCache, dockerHubAccessToken: secrets.dockerHubAccessToken },
        replicationRegions: config.registry.replicationRegions,
        manageRegistrySettings: config.registry.manageRegistrySettings,
        pullAccounts: config.registry.pullAccounts,
        pullOrganizationId: config.registry.pullOrganizationId,
    });
    return {
        kind: "ecr",
        server: ecr.registryUrl,
        repositoryUrls: Object.fromEntries(families.map((f) => [f, ecr.repositories[f].url])),
        repositoryArns: families.map((f) => ecr.repositories[f].arn),
        pullThroughCacheRepositoryArnPattern: ecr.pullThroughCacheRepositoryArnPattern,
        // No ECR token in the inputs: a token there lands in the state (docker-build `registries[].password`, the
        // Commands' MLCI_REGISTRY_AUTH), where the PR preview role could read a 12-hour push token (decision record 0013).
        loginFromHost: true,
        baseRegistry: ecr.pullThroughCachePrefix ?? pulumi.output("docker.io"),
        ready: [ecr],
        listRepository: (repositoryName) => listEcrRepository(repositoryName, (args) => aws.ecr.getImages(args)),
        // ECR listings carry every digest.
        resolveDigest: async () => undefined,
    };
}
