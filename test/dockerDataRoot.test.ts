/**
 * weekly-rebuild's "Move Docker's data root to /mnt" step, run in GitHub's shell for it
 * (test/workflowTriggers.ts githubShellArgv) against fakes: `sudo` runs its command with /etc/docker and /mnt
 * mapped into a scratch directory, `systemctl` is logged, `mountpoint` answers from MOUNTED, and `docker info`
 * reports the data root and storage driver the fake daemon would have after the restart.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { githubShellArgv } from "./workflowTriggers";
import { jobNamed } from "./workflows.test";

interface Daemon {
    /** Whether /mnt is a mount point. */
    mounted: boolean;
    /** The data root `docker info` reports after the restart; default: the daemon.json's data-root. */
    rootAfterRestart?: string;
    /** `{{.Driver}} {{json .DriverStatus}}`. */
    driver?: string;
    /** The daemon.json before the step, if any. */
    daemonJson?: object;
}

function runMoveStep(daemon: Daemon): { code: number | null; log: string; daemonJson: any; restarted: boolean } {
    const step = (jobNamed("weekly-rebuild.yml", "up").steps ?? []).find((s) => /data-root/.test(s.run ?? ""));
    assert.ok(step, "the data-root step");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlci-dataroot-"));
    try {
        const bin = path.join(dir, "bin");
        fs.mkdirSync(bin);
        fs.mkdirSync(path.join(dir, "etc", "docker"), { recursive: true });
        if (daemon.daemonJson) fs.writeFileSync(path.join(dir, "etc", "docker", "daemon.json"), JSON.stringify(daemon.daemonJson));
        const write = (name: string, body: string) => fs.writeFileSync(path.join(bin, name), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
        write("sudo", `args=(); for a in "$@"; do a="\${a//\\/etc\\/docker/${dir}/etc/docker}"; a="\${a//\\/mnt/${dir}/mnt}"; args+=("$a"); done; exec "\${args[@]}"`);
        write("systemctl", `echo "$@" >> "${dir}/systemctl"`);
        write("mountpoint", `[ "$2" = /mnt ] && [ "${daemon.mounted ? 1 : 0}" = 1 ]`);
        write("df", `echo "df $*"`);
        const root = daemon.rootAfterRestart === undefined ? `$(jq -r '."data-root" // "/var/lib/docker"' "${dir}/etc/docker/daemon.json")` : daemon.rootAfterRestart;
        write("docker", `case "$3" in '{{.DockerRootDir}}') echo "${root}" ;; *) echo '${daemon.driver ?? 'overlay2 [["Backing Filesystem","extfs"]]'}' ;; esac`);
        const script = path.join(dir, "step.sh");
        fs.writeFileSync(script, step.run!);
        const [shell, ...args] = githubShellArgv(step).map((a) => (a === "{0}" ? script : a));
        const r = spawnSync(shell, args, { env: { PATH: `${bin}:${process.env.PATH}` }, encoding: "utf8" });
        const jsonPath = path.join(dir, "etc", "docker", "daemon.json");
        return {
            code: r.status,
            log: r.stdout + r.stderr,
            daemonJson: fs.existsSync(jsonPath) ? JSON.parse(fs.readFileSync(jsonPath, "utf8")) : undefined,
            restarted: fs.existsSync(path.join(dir, "systemctl")) && /restart docker/.test(fs.readFileSync(path.join(dir, "systemctl"), "utf8")),
        };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

describe("weekly-rebuild: Docker's data root on /mnt", () => {
    it("moves the data root to /mnt/docker and bounds the build cache with defaultMaxUsedSpace, keeping the other daemon settings", () => {
        const r = runMoveStep({ mounted: true, daemonJson: { "exec-opts": ["native.cgroupdriver=cgroupfs"] } });
        assert.strictEqual(r.code, 0, r.log);
        assert.ok(r.restarted);
        assert.deepStrictEqual(r.daemonJson, {
            "exec-opts": ["native.cgroupdriver=cgroupfs"],
            "data-root": "/mnt/docker",
            // moby daemon/config/builder.go: DefaultMaxUsedSpace bounds the cache; DefaultKeepStorage is the
            // deprecated alias of DefaultReservedSpace, the space gc never frees.
            builder: { gc: { enabled: true, defaultMaxUsedSpace: "20GB", defaultMinFreeSpace: "10GB" } },
        });
        assert.match(r.log, /Docker root: \/mnt\/docker/);
    });

    it("leaves Docker on / when /mnt is not a mount point (a bare directory is the root disk)", () => {
        const r = runMoveStep({ mounted: false, daemonJson: {} });
        assert.strictEqual(r.code, 0, r.log);
        assert.ok(!r.restarted);
        assert.deepStrictEqual(r.daemonJson, {});
        assert.match(r.log, /\/mnt is not a mounted disk on this runner: Docker stays on \//);
    });

    it("fails loudly when Docker still reports the old data root after the restart", () => {
        const r = runMoveStep({ mounted: true, rootAfterRestart: "/var/lib/docker" });
        assert.strictEqual(r.code, 1, r.log);
        assert.match(r.log, /::error::Docker's data root is still \/var\/lib\/docker after the move to \/mnt\/docker/);
    });

    it("fails loudly under the containerd image store, whose images stay in containerd's root", () => {
        const r = runMoveStep({ mounted: true, driver: 'overlayfs [["driver-type","io.containerd.snapshotter.v1"]]' });
        assert.strictEqual(r.code, 1, r.log);
        assert.match(r.log, /::error::Docker uses the containerd image store .*Fix: set the repository variable CI_IMAGES_RUNNER/);
    });
});
