/**
 * The storage measurement against the real registry: two builds of one cell that share their base
 * layers, pushed to a fresh repository. The measured, deduplicated figure (distinct blobs, as ECR
 * stores them once per repository) must equal what the registry holds on disk for that repository:
 * the blob files its `_layers` links point at (distribution's filesystem storage). Needs the
 * docker-registry binary's storage directory (not the registry:2 container fallback).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { measureRepository, sharedAcrossBuildsGb } from "../../lib/registry/layerStorage";
import { RegistryHttpClient } from "../../lib/registry/registryHttp";
import { build, docker, PROJECT_ROOT, push, useIntegrationEnv } from "./env";

const STORAGE = path.join(process.env.MLCI_INTEGRATION_DIR ?? "/tmp/mlci-integration", "registry", "docker", "registry", "v2");
const FIXTURE = path.join(PROJECT_ROOT, "test", "fixtures-docker", "integration", "layers");

/** Bytes the registry holds for a repository: the blob data files its layer links point at. */
function heldOnDisk(repository: string): { bytes: number; blobs: number } {
    const links = path.join(STORAGE, "repositories", repository, "_layers", "sha256");
    let bytes = 0;
    let blobs = 0;
    for (const hex of fs.readdirSync(links)) {
        bytes += fs.statSync(path.join(STORAGE, "blobs", "sha256", hex.slice(0, 2), hex, "data")).size;
        blobs++;
    }
    return { bytes, blobs };
}

describe("integration: the measured, deduplicated storage equals what the registry holds", function () {
    this.timeout(10 * 60_000);
    const getEnv = useIntegrationEnv();

    it("two builds sharing base layers: distinct blobs counted once, equal to the registry's own storage", async function () {
        const env = getEnv();
        if (!fs.existsSync(STORAGE)) this.skip(); // registry:2 container: its storage is not on this host
        const repository = `${env.namespace}/measure`;
        for (const [i, hash] of ["0123456789ab", "ba9876543210"].entries()) {
            const tag = `${env.registry}/${repository}:py${env.pythonVersion}-h${hash}`;
            build(env, { context: FIXTURE, buildArgs: { BASE_IMAGE: env.pythonImage, BUILD: String(i) }, tag });
            push(env, tag);
            docker(env, ["rmi", tag]);
        }
        const client = new RegistryHttpClient({ baseUrl: `http://${env.registry}`, fetch: (u, i) => fetch(u, i as RequestInit) as never });
        const measured = await measureRepository(client, repository);
        const disk = heldOnDisk(repository);
        assert.equal(measured.manifests.length, 2);
        assert.equal(measured.blobs.size, disk.blobs, "the same distinct blobs");
        assert.equal(measured.storedBytes, disk.bytes, "the measured, deduplicated bytes are what the registry stores");
        assert.ok(measured.manifestBytes > measured.storedBytes, `counting each manifest in full (${measured.manifestBytes}) overstates it (${measured.storedBytes})`);
        // What the two builds share is the base image's layers: the difference between the two figures.
        const shared = sharedAcrossBuildsGb(measured);
        assert.ok(shared !== undefined && Math.abs(shared * 1e9 - (measured.manifestBytes - measured.storedBytes)) < 1, `shared ${shared} GB`);
    });
});
