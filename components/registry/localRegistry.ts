import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

/** Arguments of {@link LocalRegistry}. */
export interface LocalRegistryArgs {
    /** Host port the registry listens on (localhost). */
    port: number;
    /** Name of the registry container. */
    containerName: string;
    /** Registry image. @default "registry:2" */
    image?: string;
}

/**
 * A `registry:2` container on localhost: the registry of the `local` stack, which needs no
 * cloud account. Pushes to `localhost:<port>` need no credentials or TLS (Docker trusts localhost).
 */
export class LocalRegistry extends pulumi.ComponentResource {
    /** `localhost:<port>`. */
    public readonly server: pulumi.Output<string>;
    public readonly container: docker.Container;

    constructor(name: string, args: LocalRegistryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mlci:registry:LocalRegistry", name, {}, opts);
        const image = new docker.RemoteImage(`${name}-image`, { name: args.image ?? "registry:2", keepLocally: true }, { parent: this });
        this.container = new docker.Container(
            `${name}-container`,
            {
                name: args.containerName,
                image: image.imageId,
                ports: [{ internal: 5000, external: args.port, ip: "127.0.0.1" }],
                restart: "unless-stopped",
                // Allow manifest DELETE so lifecycle-style cleanup works locally too.
                envs: ["REGISTRY_STORAGE_DELETE_ENABLED=true"],
                labels: [{ label: "org.opencontainers.image.title", value: "ml-ci-images local registry" }],
            },
            { parent: this },
        );
        this.server = pulumi.output(`localhost:${args.port}`);
        this.registerOutputs({ server: this.server });
    }
}
