import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import YAML from "yaml";

const ROOT = path.resolve(__dirname, "..");

/**
 * Runs scripts/local.sh with fake `docker` and `npx` on PATH that log their argv. `builderExists`
 * makes `docker buildx inspect` succeed; `buildx: false` makes `docker buildx` unknown (Debian 12).
 */
function runLocalSh(args: string[], world: { builderExists: boolean; buildx?: boolean; hostNetwork?: boolean }) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlci-localsh-"));
    const log = path.join(dir, "calls.log");
    const docker = `#!/bin/sh
echo "docker $*" >> "${log}"
if [ "$1" = info ]; then exit 0; fi
if [ "$1" = buildx ]; then
  ${world.buildx === false ? 'echo "docker: unknown command: docker buildx" >&2; exit 1' : ""}
  if [ "$2" = inspect ]; then
    ${world.builderExists ? `echo "Name: mlci-local"; echo 'Driver Options: network=${world.hostNetwork === false ? '"bridge"' : '"host"'}'; exit 0` : "echo 'ERROR: no builder \"mlci-local\" found' >&2; exit 1"}
  fi
  exit 0
fi
exit 0
`;
    const npx = `#!/bin/sh\necho "npx $*" >> "${log}"\nexit 0\n`;
    fs.writeFileSync(path.join(dir, "docker"), docker, { mode: 0o755 });
    fs.writeFileSync(path.join(dir, "npx"), npx, { mode: 0o755 });
    // A copy of the script in a temp project, so its .pulumi-state/ never lands in the checkout.
    fs.mkdirSync(path.join(dir, "project", "scripts"), { recursive: true });
    fs.copyFileSync(path.join(ROOT, "scripts/local.sh"), path.join(dir, "project", "scripts", "local.sh"));
    const r = spawnSync("bash", [path.join(dir, "project", "scripts", "local.sh"), ...args], {
        env: { PATH: `${dir}:/usr/bin:/bin`, HOME: dir, PULUMI_CONFIG_PASSPHRASE: "x" },
        encoding: "utf8",
    });
    const calls = fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : [];
    fs.rmSync(dir, { recursive: true, force: true });
    return { status: r.status, stderr: r.stderr, calls };
}

describe("scripts/local.sh: the local stack's builder on the host network", () => {
    it("creates the docker-container builder with network=host once, named as Pulumi.local.yaml says", () => {
        const r = runLocalSh(["up"], { builderExists: false });
        assert.equal(r.status, 0, r.stderr);
        const name = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.local.yaml"), "utf8")).config["mlci:build"].builder.name;
        assert.ok(r.calls.includes(`docker buildx create --name ${name} --driver docker-container --driver-opt network=host --bootstrap`), r.calls.join("\n"));
        assert.ok(r.calls.indexOf(`docker buildx inspect ${name}`) < r.calls.findIndex((c) => c.startsWith("docker buildx create")));
        assert.ok(r.calls.includes("npx --no-install pulumi up --stack local --non-interactive --yes"), r.calls.join("\n"));
    });

    it("is idempotent: an existing builder is inspected, not re-created", () => {
        const r = runLocalSh(["preview"], { builderExists: true });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.calls.filter((c) => c.startsWith("docker buildx create")).length, 0);
        assert.equal(r.stderr, "");
    });

    it("warns when the existing builder is not on the host network", () => {
        const r = runLocalSh(["preview"], { builderExists: true, hostNetwork: false });
        assert.equal(r.status, 0);
        assert.match(r.stderr, /not created with --driver-opt network=host; remove it \(docker buildx rm mlci-local\)/);
    });

    it("without buildx (Debian 12's docker.io) says what to install and runs no pulumi", () => {
        const r = runLocalSh(["up"], { builderExists: false, buildx: false });
        assert.equal(r.status, 1);
        assert.match(r.stderr, /Debian 12's docker.io has no buildx package/);
        assert.match(r.stderr, /docker-buildx-plugin/);
        assert.equal(r.calls.filter((c) => c.startsWith("npx")).length, 0);
    });

    it("refresh runs non-interactively with --yes", () => {
        const r = runLocalSh(["refresh"], { builderExists: true });
        assert.equal(r.status, 0, r.stderr);
        assert.ok(r.calls.includes("npx --no-install pulumi refresh --stack local --non-interactive --yes"), r.calls.join("\n"));
    });
});
