/**
 * Golden content tags. The fixture catalog committed under test/fixtures-docker/golden/ (a parent
 * family `base` with a .dockerignore, a `!` re-include, an executable script and a build arg; a
 * child family `torch` with a target, two platforms, a symlink and the weekly epoch) has its EXACT
 * tags written here as literals. They were computed once, checked against an independent
 * re-implementation of the documented encoding (Python, hashlib + json), and pinned.
 *
 * A change of HASH_SCHEME, of the tag grammar, or of how any hashed input is encoded (context
 * manifest lines, Dockerfile bytes, build args, target, platforms, parent tag, epoch) fails this
 * test. That is the point: every such change re-tags and rebuilds EVERY image (hours of GPU builds).
 * If you mean it, update these literals deliberately in the same change, bump HASH_SCHEME, and
 * extend "Content-hash version and migration" in docs/tags.md.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { HASH_SCHEME, hashContext } from "../lib/images/contentHash";
import { listContextFiles } from "../lib/images/dockerContext";
import { planStack } from "../lib/stackPlan";
import { RawConfig } from "../lib/config/config";

const ROOT = path.join(__dirname, "fixtures-docker", "golden");

/** The golden catalog's `mlci:*` config (everything the tags depend on; the rest is minimal). */
function goldenConfig(): RawConfig {
    return {
        matrix: { cuda: ["12.4.1"], python: ["3.11"] },
        families: {
            base: { buildArgs: { UBUNTU_VERSION: "22.04" } },
            torch: { parent: "base", dateRebuilt: true, target: "runtime", platforms: ["linux/arm64", "linux/amd64"], buildArgs: { TORCH_CHANNEL: "nightly" } },
        },
        registry: { prefix: "ml-ci", pullThroughCache: { enabled: false } },
        build: { rebuildEpoch: "2026-11-22" },
        access: { pipeline: { subjects: [{ repo: "pytorch/rl", branches: ["main"] }] } },
    };
}

async function plan(opts: { hashCachePath?: string } = {}) {
    const { images } = await planStack(goldenConfig(), {
        projectRoot: ROOT,
        env: {},
        now: new Date("2026-11-23T00:00:00Z"),
        ...(opts.hashCachePath !== undefined ? { hashCachePath: opts.hashCachePath } : { useHashCache: false }),
    });
    return images;
}

describe("golden content tags (pinned literals: a change here re-tags every image)", () => {
    before(() => {
        // A checkout that lost what the hash commits to would fail below for the wrong reason: say so first.
        assert.ok((fs.statSync(path.join(ROOT, "docker/base/scripts/install.sh")).mode & 0o111) !== 0, "fixture checkout lost the executable bit of docker/base/scripts/install.sh");
        assert.ok(fs.lstatSync(path.join(ROOT, "docker/torch/requirements.lock")).isSymbolicLink(), "fixture checkout lost the symlink docker/torch/requirements.lock");
    });

    it("the hashing scheme is mlci-content-hash/v1", () => {
        assert.equal(HASH_SCHEME, "mlci-content-hash/v1", "a new HASH_SCHEME re-tags everything: update the literals below and docs/tags.md on purpose");
    });

    it("each context's manifest and digest (what Docker sends: ignored files out, KEEP.md re-included, x bit, symlink target)", async () => {
        const base = await hashContext(listContextFiles(path.join(ROOT, "docker/base"), path.join(ROOT, "docker/base/Dockerfile")));
        assert.deepEqual(base.entries, [
            { path: ".dockerignore", mode: "-", sha256: "7824decda2b25f00c6556df35003dd1fcf4513703985253d068edcea6115101b" },
            { path: "Dockerfile", mode: "-", sha256: "8b1ead3ea4c97c9eb192464957715a19a28ca7bf9cab4e0f7a4020b26e115fb5" },
            { path: "KEEP.md", mode: "-", sha256: "501f5f5b30bebd8ffce7b57b16090c317b5d4eee98d3c2ced416d9bd12d0aa86" },
            { path: "scripts/install.sh", mode: "x", sha256: "8c9ece328b46f16522d4be8de02d39ae0568e9bda7f6b3170383a11fd4dbf49c" },
        ]);
        assert.equal(base.digest, "9d6ccc632a6f2c6d7edf883d18ea409984ac519a7e743f56d3a067504929704e");
        const torch = await hashContext(listContextFiles(path.join(ROOT, "docker/torch"), path.join(ROOT, "docker/torch/Dockerfile")));
        assert.deepEqual(torch.entries, [
            { path: "Dockerfile", mode: "-", sha256: "6bffe153949781a08dd95c4bd7118b2f83c9dfb61b9b16e0e4f1c37951b2ae59" },
            // sha256 of the link target "requirements.txt", not of the file it points to.
            { path: "requirements.lock", mode: "l", sha256: "4d7c51b1efe9043e44439a949dfd92e5827321b34082903477fd04876edb7552" },
            { path: "requirements.txt", mode: "-", sha256: "2a67c2c42966e74f01f1a7aea06aebfdf5359923076c6b29878e1a933870a220" },
        ]);
        assert.equal(torch.digest, "275eed29dd24cf4075f85df4eba6f174105c629d98bdd8a07bf5e357567f148f");
    });

    it("every image's content hash, content tag and dated tag", async () => {
        const images = await plan();
        assert.deepEqual(
            images.map((i) => ({ name: i.name, contentHash: i.contentHash, tag: i.tag, latestTag: i.latestTag, datedTag: i.datedTag })),
            [
                {
                    name: "base-cuda12.4-py3.11",
                    contentHash: "ff11038f62e0ab05e3020269c23839931d86de73c9c16d2411edac0d0db574dd",
                    tag: "cuda12.4-py3.11-hff11038f62e0",
                    latestTag: "cuda12.4-py3.11-latest",
                    datedTag: undefined,
                },
                {
                    name: "torch-cuda12.4-py3.11",
                    contentHash: "6cd54e15df50ed0315dc56c5d6873ee9ac0c1617837005f1874a40820b75f34c",
                    tag: "cuda12.4-py3.11-h6cd54e15df50",
                    latestTag: "cuda12.4-py3.11-latest",
                    datedTag: "cuda12.4-py3.11-20261122",
                },
            ],
        );
        // The hashed inputs behind them (build args include the ones the program computes from the cell).
        const torch = images[1];
        assert.deepEqual(torch.hashInputs.buildArgs, { CUDA_VERSION: "12.4.1", CUDNN_VARIANT: "cudnn", PYTHON_VERSION: "3.11", TORCH_CHANNEL: "nightly" });
        assert.equal(torch.hashInputs.parentTag, "cuda12.4-py3.11-hff11038f62e0");
        assert.equal(torch.hashInputs.rebuildEpoch, "2026-11-22");
    });

    it("the on-disk hash cache (in a temp dir, never in the fixture) gives the same tags, cold and warm", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlci-golden-"));
        try {
            const hashCachePath = path.join(dir, "file-hashes.json");
            for (let run = 0; run < 2; run++) {
                assert.deepEqual((await plan({ hashCachePath })).map((i) => i.tag), ["cuda12.4-py3.11-hff11038f62e0", "cuda12.4-py3.11-h6cd54e15df50"], `run ${run}`);
            }
            assert.ok(!fs.existsSync(path.join(ROOT, ".cache")), "nothing is written into the fixture");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
