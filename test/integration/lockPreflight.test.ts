/**
 * `ci-images check --online` with the full-lock preflight, against a fixture PyTorch index, Python
 * index (PEP 691 JSON) and registry served over HTTP on an ephemeral 127.0.0.1 port, with Node's own
 * fetch (MLCI_PYTORCH_INDEX_URL / MLCI_PYTHON_INDEX_URL / MLCI_BASE_REGISTRY_URL). The fixture's
 * labmaze is PyPI's 1.0.6: wheels up to cp312 and an sdist. Needs no Docker engine.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { isolatedEnv, runCli } from "../cliContext";
import { completeFixture, Fixture, projectCopyPinnedToFixture, serveFixture } from "../preflightFixture";

const ROOT = path.resolve(__dirname, "../..");

const projectCopy = () => projectCopyPinnedToFixture(ROOT);

describe("integration: full-lock preflight (check --online) over HTTP on 127.0.0.1", function () {
    this.timeout(60_000);
    let fixture: Fixture;
    let served: { origin: string; close: () => Promise<void> };
    before(async () => {
        served = await serveFixture(() => fixture);
    });
    after(() => served.close());
    beforeEach(() => {
        fixture = completeFixture();
    });
    const check = (dir: string, stack: string) =>
        runCli(["check", "--online", "--stack", stack], {
            cwd: dir,
            env: isolatedEnv({ MLCI_PYTORCH_INDEX_URL: `${served.origin}/whl`, MLCI_PYTHON_INDEX_URL: `${served.origin}/simple`, MLCI_BASE_REGISTRY_URL: served.origin }),
        });

    it("the shipped locks (dm-control and labmaze marked below 3.13) resolve for every cell and platform of prod", async () => {
        const r = await check(projectCopy(), "prod");
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.match(r.stdout, /stack prod: every pin of every cell's lock file resolves on each platform \(\d+ image × platform × pin checks\)/);
        assert.ok(fixture.log.some((l) => l.path === "/simple/labmaze/"), "labmaze was asked for (3.12 cells)");
    });

    it("labmaze without its marker in docker/stable/requirements-py3.13.lock fails check, naming the package, the cell and the platform", async () => {
        const dir = projectCopy();
        const lock = path.join(dir, "docker/stable/requirements-py3.13.lock");
        fs.writeFileSync(lock, fs.readFileSync(lock, "utf8").replace('labmaze==1.0.6 ; python_version < "3.13"', "labmaze==1.0.6"));
        const r = await check(dir, "prod");
        assert.equal(r.code, 1, r.stdout + r.stderr);
        assert.match(r.stderr, /online preflight failed/);
        for (const cuda of ["13.2", "13.0"]) {
            assert.match(r.stderr, new RegExp(`^stable-cuda${cuda.replace(".", "\\.")}-py3\\.13: cell cuda${cuda.replace(".", "\\.")}-py3\\.13 \\(stable-cuda${cuda.replace(".", "\\.")}-py3\\.13\\), linux/amd64: labmaze==1\\.0\\.6 \\(docker/stable/requirements-py3\\.13\\.lock:\\d+\\) has no wheel for cp313 on x86_64 \\(glibc 2\\.39\\): its wheels stop at cp312`, "m"));
        }
        assert.doesNotMatch(r.stderr, /^(nightly|cpu)-.*labmaze/m, "only the edited lock");
    });
});
