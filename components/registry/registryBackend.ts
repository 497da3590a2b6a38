import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { StackConfig } from "../../lib/config/schema";
import { EcrRegistry } from "./ecrRegistry";
import { RegistryCredentials } from "../images/imageBuild";
import { LocalRegistry, localRegistryDigest } from "./localRegistry";

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
    /** Push credentials; undefined where none are needed. */
    credentials?: RegistryCredentials;
    /** BASE_REGISTRY for root images: the Docker Hub pull-through cache, or docker.io. */
    baseRegistry: pulumi.Output<string>;
    /** Resources that must exist before anything is pushed. */
    ready: pulumi.Resource[];
    /** Digest of `<repository>:<tag>` in the registry, or undefined (no such tag or repository yet). */
    findDigest(repositoryName: string, tag: string): Promise<string | undefined>;
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
        return {
            kind: "local",
            server: local.server,
            repositoryUrls: Object.fromEntries(families.map((f) => [f, pulumi.output(`${server}/${config.registry.prefix}/${f}`)])),
            repositoryArns: [],
            baseRegistry: pulumi.output("docker.io"),
            ready: [local],
            findDigest: (repositoryName, tag) => localRegistryDigest(server, repositoryName, tag),
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
        scanning: config.registry.scanning,
        pullThroughCache: { ...config.registry.pullThroughCache, dockerHubAccessToken: secrets.dockerHubAccessToken },
        replicationRegions: config.registry.replicationRegions,
        manageRegistrySettings: config.registry.manageRegistrySettings,
        pullAccounts: config.registry.pullAccounts,
        pullOrganizationId: config.registry.pullOrganizationId,
    });
    const token = aws.ecr.getAuthorizationTokenOutput({});
    return {
        kind: "ecr",
        server: ecr.registryUrl,
        repositoryUrls: Object.fromEntries(families.map((f) => [f, ecr.repositories[f].url])),
        repositoryArns: families.map((f) => ecr.repositories[f].arn),
        pullThroughCacheRepositoryArnPattern: ecr.pullThroughCacheRepositoryArnPattern,
        credentials: { address: ecr.registryUrl, username: token.userName, password: pulumi.secret(token.password) },
        baseRegistry: ecr.pullThroughCachePrefix ?? pulumi.output("docker.io"),
        ready: [ecr],
        findDigest: async (repositoryName, tag) => {
            try {
                return (await aws.ecr.getImage({ repositoryName, imageTag: tag })).imageDigest;
            } catch (e) {
                // RepositoryNotFound (first up) or ImageNotFound: build it. Anything else (auth,
                // throttling) also builds, the safe side, but says so.
                const message = (e as Error)?.message ?? String(e);
                if (message !== "" && !/RepositoryNotFound|ImageNotFound|does not exist|not found/i.test(message)) {
                    pulumi.log.warn(`registry lookup of ${repositoryName}:${tag} failed (${message}); building the image instead of adopting it`);
                }
                return undefined;
            }
        },
    };
}
