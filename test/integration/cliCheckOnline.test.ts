/**
 * `ci-images check --online --stack prod` (the weekly pipeline's first step) through the built CLI,
 * against the fixture wheel index and registry served over HTTP on an ephemeral 127.0.0.1 port
 * (MLCI_PYTORCH_INDEX_URL / MLCI_BASE_REGISTRY_URL). Needs no Docker engine.
 */
import { strict as assert } from "assert";
import { spawn, spawnSync } from "child_process";
import { CLI_BIN, ensureBuiltCli, PROJECT_ROOT } from "../builtCli";
import { completeFixture, Fixture, projectCopyPinnedToFixture, serveFixture } from "../preflightFixture";

describe("integration: ci-images check --online against a fixture index and registry over HTTP", function () {
    this.timeout(60_000);
    let origin: string;
    let fixture: Fixture;

    let served: { origin: string; close: () => Promise<void> };
    before(async () => {
        ensureBuiltCli();
        served = await serveFixture(() => fixture);
        origin = served.origin;
    });
    after(() => served.close());
    beforeEach(() => {
        fixture = completeFixture();
    });

    // The CLI runs in a child process, so the server must keep answering while it waits: spawn async.
    function check(stack: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
        return new Promise((resolve) => {
            const child = spawn(process.execPath, [CLI_BIN, "check", "--online", "--stack", stack], {
                // The shipped stacks pin placeholder digests (pending the digest-bump workflow): the copy pins the fixture's.
                cwd: projectCopyPinnedToFixture(PROJECT_ROOT),
                env: { ...process.env, MLCI_PYTORCH_INDEX_URL: `${origin}/whl`, MLCI_PYTHON_INDEX_URL: `${origin}/simple`, MLCI_BASE_REGISTRY_URL: origin },
            });
            let stdout = "";
            let stderr = "";
            child.stdout.on("data", (c) => (stdout += c));
            child.stderr.on("data", (c) => (stderr += c));
            child.on("close", (status) => resolve({ status, stdout, stderr }));
        });
    }

    it("passes for the shipped prod stack when every wheel and base tag exists", async () => {
        const r = await check("prod");
        assert.equal(r.status, 0, r.stdout + r.stderr);
        assert.match(r.stdout, /stack prod: every torch wheel and base image tag the \d+ images need exists/);
    });

    it("names the missing cell and its fix when one Python tag is gone from a nightly index, and exits 1", async () => {
        fixture.index["nightly/cu132"] = fixture.index["nightly/cu132"].filter((w) => !w.includes("-cp313-"));
        const r = await check("prod");
        assert.equal(r.status, 1, r.stdout + r.stderr);
        assert.match(r.stderr, /online preflight failed/);
        assert.match(r.stderr, /^nightly-cuda13\.2-py3\.13: .*Fix: /m);
        assert.doesNotMatch(r.stderr, /^nightly-cuda13\.2-py3\.12: /m);
    });

    it("names a missing base image tag", async () => {
        fixture.tags = fixture.tags.filter((t) => t !== "nvidia/cuda:13.0.2-devel-ubuntu24.04");
        const r = await check("prod");
        assert.equal(r.status, 1, r.stdout + r.stderr);
        assert.match(r.stderr, /nvidia\/cuda:13\.0\.2-devel-ubuntu24\.04/);
    });

    it("the offline check never touches the network (no --online)", () => {
        const r = spawnSync(process.execPath, [CLI_BIN, "check", "--stack", "prod"], { cwd: PROJECT_ROOT, encoding: "utf8", env: { ...process.env, MLCI_PYTORCH_INDEX_URL: "http://127.0.0.1:9/whl" } });
        assert.equal(r.status, 0, r.stdout + r.stderr);
    });
});
