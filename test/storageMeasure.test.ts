/**
 * `ci-images storage --measure` against the registry model (test/fakeRegistry.ts): what each
 * repository stores is its distinct blobs, and the forecast takes the measured sizes and a root's
 * shared upstream layers from it. The real registry is in test/integration/storageMeasure.test.ts.
 */
import { strict as assert } from "assert";
import { createHash } from "crypto";
import { contentTag } from "../lib/images/tags";
import { basicAuthorization, MEDIA_TYPES } from "../lib/registry/registryHttp";
import { planStackFile, StackPlan } from "../lib/stackPlan";
import { cliFixtureProject, runCli } from "./cliContext";
import { FakeRegistry } from "./fakeRegistry";

const HOST = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const TOKEN = "ecr-token-7";
const sha = (s: string) => `sha256:${createHash("sha256").update(s).digest("hex")}`;

/** A manifest whose layers are the shared upstream layer plus one of its own. */
function build(seed: string, sharedBytes: number, ownBytes: number) {
    const body = {
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.ociManifest,
        config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha(`config-${seed}`), size: 1_000 },
        layers: [
            { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: sha("upstream-layer"), size: sharedBytes },
            { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: sha(`own-${seed}`), size: ownBytes },
        ],
    };
    return { mediaType: MEDIA_TYPES.ociManifest, bytes: new TextEncoder().encode(JSON.stringify(body)) };
}

describe("ci-images storage --measure (registry model)", () => {
    let root: string;
    let plan: StackPlan;
    before(async () => {
        root = cliFixtureProject();
        plan = await planStackFile(root, "ci", { env: {}, useHashCache: false });
    });

    it("a repository stores its distinct blobs (a shared layer once); the forecast takes the measured size", async () => {
        const reg = new FakeRegistry({ authorization: basicAuthorization("AWS", TOKEN) });
        const base = plan.images.find((i) => i.family === "base" && i.parent === undefined)!;
        reg.push(base.repositoryName, build("one", 2_000_000_000, 1_000_000_000), [base.tag, base.latestTag]);
        reg.push(base.repositoryName, build("two", 2_000_000_000, 1_000_000_000), [contentTag(base.cell.label, "0123456789ab")]);
        const r = await runCli(["storage", "--measure", "--stack", "ci", "--root", root, "--json"], {
            services: { fetch: reg.fetch, ecrAuthorization: async () => ({ proxyEndpoint: `https://${HOST}`, user: "AWS", password: TOKEN }), now: () => new Date("2026-11-24T12:00:00Z") },
        });
        assert.ok(r.code === 0 || r.code === 1, r.stderr);
        const json = JSON.parse(r.stdout);
        const measured = json.measuredNow.find((m: { repository: string }) => m.repository === base.repositoryName);
        // 2 manifests × (2 GB shared + 1 GB own + config); stored: the shared layer once.
        assert.deepEqual([measured.manifests, measured.blobs, measured.storedGb, measured.manifestsGb], [2, 5, 4, 6]);
        const forecast = json.repositories.find((x: { family: string }) => x.family === "base");
        assert.equal(forecast.sizeSource, "measured");
        assert.equal(forecast.sizeGb, 3);
    });
});
