/**
 * Seam 7 (#27): the smoke test runs `docker` through scripts/with-registry-auth.sh on the caller's machine
 * (Docker Desktop, colima, rootless). The world's `docker` resolves its daemon as the Docker CLI does:
 * docker/cli cli/command/cli.go resolveContextName: DOCKER_HOST wins (the "default" context), then
 * DOCKER_CONTEXT, then config.json `currentContext`; a named context's endpoint is read from
 * $DOCKER_CONFIG/contexts/meta/<sha256(name)>/meta.json `Endpoints.docker.Host`
 * (cli/context/store/metadatastore.go contextdirOf = digest.FromString(name).Encoded()); the default
 * context is unix:///var/run/docker.sock. Credentials: `auths` for the registry, `credHelpers` per registry
 * (cli/config/configfile/file.go GetCredentialsStore).
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const SCRIPT = path.resolve(__dirname, "..", "..", "scripts", "with-registry-auth.sh");
const ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const COLIMA = "unix:///home/dev/.colima/default/docker.sock";

/** The world's `docker`: prints the daemon it would talk to and the credential source per registry. */
const FAKE_DOCKER = `
const fs = require("fs"), path = require("path"), crypto = require("crypto");
const dir = process.env.DOCKER_CONFIG || path.join(process.env.HOME, ".docker");
let cfg = {};
try { cfg = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8")); } catch {}
let host;
if (process.env.DOCKER_HOST) host = process.env.DOCKER_HOST;
else {
  const name = process.env.DOCKER_CONTEXT || cfg.currentContext || "default";
  if (name === "default") host = "unix:///var/run/docker.sock";
  else {
    const meta = path.join(dir, "contexts", "meta", crypto.createHash("sha256").update(name).digest("hex"), "meta.json");
    try { host = JSON.parse(fs.readFileSync(meta, "utf8")).Endpoints.docker.Host; }
    catch { console.error("context \\"" + name + "\\" does not exist"); process.exit(1); }
  }
}
const cred = (r) => (cfg.auths && cfg.auths[r] && cfg.auths[r].auth) ? "auths" : (cfg.credHelpers && cfg.credHelpers[r]) ? "helper:" + cfg.credHelpers[r] : (cfg.credsStore ? "store:" + cfg.credsStore : "none");
console.log(JSON.stringify({ host, ecr: cred(${JSON.stringify(ECR)}), ghcr: cred("ghcr.io") }));
`;

function callerDockerConfig(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlci-caller-docker-"));
    fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify({ auths: {}, credHelpers: { "ghcr.io": "gh" }, currentContext: "colima" }));
    const meta = path.join(dir, "contexts", "meta", createHash("sha256").update("colima").digest("hex"));
    fs.mkdirSync(meta, { recursive: true });
    fs.writeFileSync(path.join(meta, "meta.json"), JSON.stringify({ Name: "colima", Metadata: {}, Endpoints: { docker: { Host: COLIMA, SkipTLSVerify: false } } }));
    return dir;
}

function runDocker(env: Record<string, string>): { status: number | null; out: any; stderr: string } {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), "mlci-fake-docker-"));
    fs.writeFileSync(path.join(bin, "docker-probe.js"), FAKE_DOCKER);
    const r = spawnSync("sh", [SCRIPT, process.execPath, path.join(bin, "docker-probe.js")], { env: { PATH: "/usr/bin:/bin", HOME: os.tmpdir(), MLCI_REGISTRY_HOST: ECR, MLCI_REGISTRY_AUTH: "AWS:token", ...env }, encoding: "utf8" });
    fs.rmSync(bin, { recursive: true, force: true });
    let out: any;
    try { out = JSON.parse(r.stdout.trim().split("\n").pop() ?? ""); } catch { out = undefined; }
    return { status: r.status, out, stderr: r.stderr };
}

describe("rehearsal 7. the smoke test's docker keeps the caller's daemon (#27)", () => {
    it("[defect 7] with a colima/Docker Desktop context in the caller's DOCKER_CONFIG, docker still talks to that daemon, with the registry login added and other registries' helpers kept", () => {
        const caller = callerDockerConfig();
        try {
            const r = runDocker({ DOCKER_CONFIG: caller });
            assert.equal(r.status, 0, r.stderr);
            assert.deepEqual(r.out, { host: COLIMA, ecr: "auths", ghcr: "helper:gh" });
            // The caller's own config is never written.
            assert.deepEqual(JSON.parse(fs.readFileSync(path.join(caller, "config.json"), "utf8")), { auths: {}, credHelpers: { "ghcr.io": "gh" }, currentContext: "colima" });
        } finally {
            fs.rmSync(caller, { recursive: true, force: true });
        }
    });

    it("[defect 7] DOCKER_CONTEXT naming a context of the caller's config still resolves", () => {
        const caller = callerDockerConfig();
        try {
            fs.writeFileSync(path.join(caller, "config.json"), JSON.stringify({ auths: {} }));
            const r = runDocker({ DOCKER_CONFIG: caller, DOCKER_CONTEXT: "colima" });
            assert.equal(r.status, 0, r.stderr);
            assert.equal(r.out.host, COLIMA);
        } finally {
            fs.rmSync(caller, { recursive: true, force: true });
        }
    });

    it("DOCKER_HOST reaches docker unchanged", () => {
        const r = runDocker({ DOCKER_HOST: "tcp://127.0.0.1:2375" });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(r.out, { host: "tcp://127.0.0.1:2375", ecr: "auths", ghcr: "none" });
    });
});
