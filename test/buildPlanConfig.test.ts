import { strict as assert } from "assert";
import { ConfigError } from "../lib/config/problems";
import { planStack } from "../lib/stackPlan";
import { catalogConfig, catalogFiles, clone, writeTree } from "./fixtures";

const NOW = new Date("2026-11-23T12:00:00Z");

/** Plans the fixture catalog with a mutated config: the problem lines, or [] when it validates. */
async function problemsFor(mutate: (raw: any) => void): Promise<string[]> {
    const root = writeTree(catalogFiles());
    const raw = clone(catalogConfig()) as any;
    mutate(raw);
    try {
        await planStack(raw, { projectRoot: root, env: {}, useHashCache: false, now: NOW });
        return [];
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
        return e.message.split("\n").slice(1).map((l) => l.replace(/^\s+- /, ""));
    }
}

const fleet = [
    { name: "fleet-amd64", driver: "remote", endpoint: "tcp://buildkitd-amd64.internal:1234", platforms: ["linux/amd64"], maxParallel: 4, tls: { cacert: "/etc/bk/ca.pem", cert: "/etc/bk/cert.pem", key: "/etc/bk/key.pem" } },
    { name: "fleet-arm64", driver: "remote", endpoint: "tcp://buildkitd-arm64.internal:1234", platforms: ["linux/arm64"] },
];

describe("config: mlci:build.builders", () => {
    it("a fleet serving every family's platforms validates; maxParallel defaults to 1", async () => {
        const root = writeTree(catalogFiles());
        const raw = clone(catalogConfig()) as any;
        raw.build.builders = fleet;
        const { config } = await planStack(raw, { projectRoot: root, env: {}, useHashCache: false, now: NOW });
        assert.deepEqual(config.build.builders.map((b) => [b.name, b.maxParallel]), [["fleet-amd64", 4], ["fleet-arm64", 1]]);
    });

    it("a platform no builder serves fails validation with a fix", async () => {
        assert.deepEqual(await problemsFor((r) => (r.build.builders = [fleet[0]])), [
            'config mlci:families.cpu.platforms: no builder in build.builders serves linux/arm64 (builders: fleet-amd64 [linux/amd64]). Fix: add a builder that builds linux/arm64 natively to build.builders (e.g. { name: fleet-arm64, driver: remote, endpoint: "tcp://buildkitd-arm64.internal:1234", platforms: [linux/arm64] }), or remove linux/arm64 from the family',
        ]);
    });

    it("build.builder.endpoint is gone and says what replaced it", async () => {
        const lines = await problemsFor((r) => (r.build.builder = { name: "x", endpoint: "tcp://buildkitd:1234" }));
        assert.equal(lines.length, 1, lines.join("\n"));
        assert.match(lines[0], /^config mlci:build\.builder\.endpoint: was replaced by build\.builders\. Fix: list the BuildKit as a builder/);
    });

    it("build.builder.name stays a one-builder shorthand, but not beside build.builders", async () => {
        assert.deepEqual(await problemsFor((r) => (r.build.builder = { name: "mlci-local" })), []);
        const lines = await problemsFor((r) => {
            r.build.builder = { name: "mlci-local" };
            r.build.builders = fleet;
        });
        assert.deepEqual(lines, ["config mlci:build.builder: is a one-builder shorthand and cannot be combined with build.builders. Fix: remove build.builder, or list that builder in build.builders with the platforms it serves"]);
    });

    it("schema errors of a builder name the key", async () => {
        const lines = await problemsFor((r) => (r.build.builders = [{ ...fleet[0], driver: "kubernetes", maxParallel: 0 }, { ...fleet[1], platforms: "linux/arm64" }]));
        assert.ok(lines.some((l) => l.startsWith('config mlci:build.builders[0].driver: must be one of "remote", "docker-container", "cloud"')), lines.join("\n"));
        assert.ok(lines.some((l) => l.startsWith("config mlci:build.builders[0].maxParallel: must be at least 1 (builds)")), lines.join("\n"));
        assert.ok(lines.some((l) => l.startsWith("config mlci:build.builders[1].platforms:") && l.includes('Fix: write a YAML list: ["linux/arm64"]')), lines.join("\n"));
    });
});

describe("config: mlci:promotion and the storage keys", () => {
    it("defaults: scan gate on, CRITICAL, no allowlist, 30 minutes", async () => {
        const root = writeTree(catalogFiles());
        const { config } = await planStack(catalogConfig(), { projectRoot: root, env: {}, useHashCache: false, now: NOW });
        assert.deepEqual(config.promotion, { scanGate: true, maxSeverity: "CRITICAL", allowlist: [], scanTimeoutMinutes: 30 });
    });

    it("an expired allowlist entry fails validation on the planning clock", async () => {
        const entry = { id: "CVE-2024-3094", reason: "sshd not installed in the image", expires: "2026-11-22" };
        assert.deepEqual(await problemsFor((r) => (r.promotion = { allowlist: [entry] })), [
            "config mlci:promotion.allowlist[0].expires: the exception for CVE-2024-3094 expired on 2026-11-22. Fix: rebuild so the fixed package is picked up and remove the entry, or, if the reason still holds, review it and set a new expiry date",
        ]);
        assert.deepEqual(await problemsFor((r) => (r.promotion = { allowlist: [{ ...entry, expires: "2026-11-23" }] })), []);
    });

    it("sizeEstimateGb and storageBudgetGb must be positive", async () => {
        const lines = await problemsFor((r) => {
            r.families.nightly.sizeEstimateGb = 0;
            r.registry.storageBudgetGb = -1;
        });
        assert.deepEqual(lines.sort(), ["config mlci:families.nightly.sizeEstimateGb: must be a positive number of GB", "config mlci:registry.storageBudgetGb: must be a positive number of GB"]);
    });
});
