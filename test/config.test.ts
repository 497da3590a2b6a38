import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { ConfigError } from "../lib/config/problems";
import { defaultRebuildEpoch, parseStackConfig } from "../lib/config/config";
import { planStack } from "../lib/stackPlan";
import { catalogConfig, catalogFiles, clone, writeTree } from "./fixtures";

/** Plans the fixture with a mutated config and returns the problem lines. */
async function problemsFor(mutate: (raw: any, root: string) => void, files = catalogFiles()): Promise<string[]> {
    const root = writeTree(files);
    const raw = clone(catalogConfig());
    mutate(raw, root);
    try {
        await planStack(raw, { projectRoot: root, env: {}, useHashCache: false });
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
        return e.message.split("\n").slice(1).map((l) => l.replace(/^\s+- /, ""));
    }
    assert.fail("expected the config to be rejected");
}

describe("stack config validation", () => {
    it("accepts the fixture catalog and resolves defaults", () => {
        const root = writeTree(catalogFiles());
        const cfg = parseStackConfig(catalogConfig(), { projectRoot: root, env: {} });
        const nightly = cfg.families.find((f) => f.name === "nightly")!;
        assert.equal(nightly.dockerfile, "docker/nightly/Dockerfile");
        assert.equal(nightly.context, "docker/nightly");
        assert.deepEqual(nightly.platforms, ["linux/amd64"]);
        assert.equal(cfg.registry.retention.datedTagDays, 7);
        assert.equal(cfg.registry.backend, "ecr");
        assert.equal(cfg.build.adoptExisting, true);
        assert.equal(cfg.build.buildOnPreview, false);
        assert.equal(cfg.build.smokeTest.sizeBudgetGb, 10);
    });

    const cases: [string, (raw: any, root: string) => void, RegExp][] = [
        ["unknown parent, with a suggestion", (r) => (r.families.habitat.parent = "nightli"), /^config mlci:families\.habitat\.parent: "nightli" is not a family \(did you mean "nightly"\?\)\. Fix: name one of: base, nightly, habitat, cpu$/],
        ["a parent cycle", (r) => { r.families.base.parent = "habitat"; }, /^config mlci:families\.(base|nightly|habitat)\.parent: parent cycle: (\w+ -> ){3}\w+\. Fix: one family of the cycle must have no parent/],
        ["a family that is its own parent", (r) => (r.families.cpu.parent = "cpu"), /^config mlci:families\.cpu\.parent: family "cpu" is its own parent/],
        ["a child built on a cell its parent lacks", (r) => { r.families.nightly.matrix = { python: ["3.11"] }; r.families.habitat.matrix = { cuda: ["12.4.1"], python: ["3.10"] }; }, /^config mlci:families\.habitat\.matrix: cells cuda12\.4-py3\.10 are not built for parent "nightly"\. Fix: restrict mlci:families\.habitat\.matrix/],
        ["a GPU child of a CPU parent", (r) => (r.families.habitat.parent = "cpu"), /^config mlci:families\.habitat\.parent: "habitat" is a GPU family but its parent "cpu" is cpuOnly/],
        ["a malformed CUDA version", (r) => (r.matrix.cuda = ["12.4"]), /^config mlci:matrix\.cuda\[0\]: must be a full CUDA version like "12\.4\.1"/],
        ["an unquoted Python version (a YAML number)", (r) => (r.matrix.python = [3.1]), /^config mlci:matrix\.python\[0\]: must be a quoted Python version like "3\.11" \(unquoted 3\.10 in YAML is the number 3\.1\)$/],
        ["a duplicate matrix entry", (r) => (r.matrix.cuda = ["12.4.1", "12.4.0"]), /^config mlci:matrix\.cuda: "12\.4\.0" duplicates "12\.4\.1" \(both give image names with cuda12\.4\)\. Fix: list each version once$/],
        ["a restriction outside the matrix", (r) => (r.families.habitat.matrix = { cuda: ["12.1.0"] }), /^config mlci:families\.habitat\.matrix\.cuda: CUDA 12\.1\.0 is not in mlci:matrix\.cuda \(12\.4\.1, 11\.8\.0\)\. Fix: add it to mlci:matrix\.cuda/],
        ["a missing Dockerfile", (r) => (r.families.nightly.dockerfile = "docker/nightly/Dockerfile.gpu"), /^config mlci:families\.nightly\.dockerfile: Dockerfile "docker\/nightly\/Dockerfile\.gpu" does not exist\. Fix: create it, or set mlci:families\.nightly\.dockerfile/],
        ["a Dockerfile outside the project", (r) => (r.families.nightly.dockerfile = "../elsewhere/Dockerfile"), /^config mlci:families\.nightly\.dockerfile: "\.\.\/elsewhere\/Dockerfile" is outside the project\. Fix: use a path relative to the project root/],
        ["zero retention", (r) => (r.registry.retention = { keepHashBuilds: 0 }), /^config mlci:registry\.retention\.keepHashBuilds: must be at least 1 \(images\)$/],
        ["negative retention days", (r) => (r.registry.retention = { datedTagDays: -7 }), /^config mlci:registry\.retention\.datedTagDays: must be at least 1 \(days\)$/],
        ["fractional retention", (r) => (r.registry.retention = { untaggedDays: 1.5 }), /^config mlci:registry\.retention\.untaggedDays: must be a whole number \(days\)$/],
        ["a family name ECR would reject", (r) => (r.families.Nightly_GPU = { parent: "base", dockerfile: "docker/nightly/Dockerfile" }), /^config mlci:families\.Nightly_GPU: "Nightly_GPU" is not a valid image family name \(ECR would reject the repository name\)/],
        ["a registry prefix ECR would reject", (r) => (r.registry.prefix = "ML CI"), /^config mlci:registry\.prefix: must be a valid ECR repository prefix/],
        ["an unknown key in a family", (r) => (r.families.base.dockerFile = "x"), /^config mlci:families\.base: unknown key "dockerFile"\. Fix: remove it or correct its spelling/],
        ["an unknown top-level key", (r) => (r.familes = {}), /^config mlci:familes: unknown config key \(did you mean mlci:families\?\)/],
        ["a reserved build arg", (r) => (r.families.base.buildArgs = { CUDA_VERSION: "12.4.1" }), /^config mlci:families\.base\.buildArgs\.CUDA_VERSION: CUDA_VERSION is computed by the program/],
        ["a non-string build arg", (r) => (r.families.base.buildArgs = { UBUNTU_VERSION: 22.04 }), /^config mlci:families\.base\.buildArgs\.UBUNTU_VERSION: build arg values must be strings \(quote numbers in YAML\)$/],
        ["a force-rebuild of an unknown image", (r) => (r.build.forceRebuild = ["nightly-cuda12.4-py3.12"]), /^config mlci:build\.forceRebuild\[0\]: "nightly-cuda12\.4-py3\.12" is not an image of this stack \(did you mean "nightly-cuda12\.4-py3\.1[01]"\?\)/],
        ["a bad rebuild epoch", (r) => (r.build.rebuildEpoch = "2026-02-30"), /^config mlci:build\.rebuildEpoch: is not a real calendar date$/],
        ["the removed builder endpoint", (r) => (r.build.builder = { name: "pool", endpoint: "tcp://buildkitd:1234" }), /^config mlci:build\.builder\.endpoint: was replaced by build\.builders\. Fix: /],
        ["GitHub enabled without an owner", (r) => (r.github = { enabled: true, repositories: [{ name: "rl" }] }), /^config mlci:github\.owner: is required when github\.enabled is true/],
        ["a pull-through cache without credentials", (r) => (r.registry.pullThroughCache = { enabled: true }), /^config mlci:registry\.pullThroughCache: a Docker Hub pull-through cache needs credentials.*Fix: set credentialSecretArn to an existing ecr-pullthroughcache\/ secret/],
        ["cloud parts left on with the local registry", (r) => (r.registry.backend = "local"), /^config mlci:access\.runner\.enabled: must be false with registry\.backend local/],
        ["a COPY from outside the context", (_r, root) => fs.appendFileSync(path.join(root, "docker/nightly/Dockerfile"), "COPY ../base/10_nvidia.json /tmp/\n"), /^config mlci:families\.nightly\.dockerfile: docker\/nightly\/Dockerfile:7 COPY "\.\.\/base\/10_nvidia\.json" reaches outside the build context "docker\/nightly"\. Fix: move the file into docker\/nightly\/ and commit it there/],
        ["a COPY of a file .dockerignore excludes", (_r, root) => fs.appendFileSync(path.join(root, "docker/base/Dockerfile"), "COPY NOTES.md /tmp/\n"), /^config mlci:families\.base\.dockerfile: docker\/base\/Dockerfile:8 COPY "NOTES\.md" matches no file the build context "docker\/base" sends \(missing, or excluded by \.dockerignore\)/],
        ["a COPY of a missing file", (_r, root) => fs.appendFileSync(path.join(root, "docker/nightly/Dockerfile"), "COPY constraints.txt /tmp/\n"), /^config mlci:families\.nightly\.dockerfile: docker\/nightly\/Dockerfile:7 COPY "constraints\.txt" matches no file/],
    ];
    for (const [title, mutate, expected] of cases) {
        it(`rejects ${title}`, async () => {
            const problems = await problemsFor(mutate);
            assert.ok(problems.some((p) => expected.test(p)), `no problem matched ${expected}:\n${problems.join("\n")}`);
        });
    }

    it("lists every problem at once, in one message", async () => {
        const problems = await problemsFor((r) => {
            r.families.habitat.parent = "nightli";
            r.matrix.python = ["3.10", "3.x"];
            r.registry.retention = { keepHashBuilds: 0 };
        });
        assert.equal(problems.length, 3, problems.join("\n"));
        assert.ok(problems.some((p) => p.startsWith("config mlci:families.habitat.parent")));
        assert.ok(problems.some((p) => p.startsWith("config mlci:matrix.python[1]")));
        assert.ok(problems.some((p) => p.startsWith("config mlci:registry.retention.keepHashBuilds")));
    });

    it("COPY sources that Docker accepts pass: globs, directories, --from stages, absolute-looking paths", async () => {
        const files = catalogFiles();
        files["docker/base/Dockerfile"] += "COPY scripts/*.sh /opt/\nCOPY --from=builder /out /out\nCOPY /10_nvidia.json /etc/\nCOPY . /src\nCOPY [\"KEEP.md\", \"/tmp/\"]\n";
        const root = writeTree(files);
        const plan = await planStack(catalogConfig(), { projectRoot: root, env: {}, useHashCache: false });
        assert.equal(plan.images.length, 11);
    });

    it("the default rebuild epoch is the most recent Sunday (UTC)", () => {
        assert.equal(defaultRebuildEpoch(new Date("2026-11-23T09:00:00Z")), "2026-11-22");
        assert.equal(defaultRebuildEpoch(new Date("2026-11-22T01:59:00Z")), "2026-11-22");
        assert.equal(defaultRebuildEpoch(new Date("2026-11-21T23:59:00Z")), "2026-11-15");
    });

    it("MLCI_FORCE_REBUILD overrides build.forceRebuild", () => {
        const root = writeTree(catalogFiles());
        assert.equal(parseStackConfig(catalogConfig(), { projectRoot: root, env: { MLCI_FORCE_REBUILD: "all" } }).build.forceRebuild, true);
        assert.deepEqual(parseStackConfig(catalogConfig(), { projectRoot: root, env: { MLCI_FORCE_REBUILD: "cpu-py3.11, base-cuda12.4-py3.10" } }).build.forceRebuild, ["cpu-py3.11", "base-cuda12.4-py3.10"]);
    });

    for (const stack of ["dev", "prod", "local"]) {
        it(`the committed ${stack} stack file is valid`, async () => {
            const { readStackConfigFile } = await import("../lib/stackPlan");
            const root = path.resolve(__dirname, "..");
            const plan = await planStack(readStackConfigFile(root, stack), { projectRoot: root, env: {}, useHashCache: false });
            assert.ok(plan.images.length > 0);
        });
    }
});
