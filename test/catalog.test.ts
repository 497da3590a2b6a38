import * as assert from "assert";
import { DockerfileParser } from "dockerfile-ast";
import * as fs from "fs";
import * as path from "path";
import { parseStackConfig } from "../lib/config/config";
import { expandImageGraph, passedBuildArgNames } from "../lib/images/graph";
import { readStackConfigFile } from "../lib/stackPlan";

const root = path.resolve(__dirname, "..");
const STACKS = ["dev", "prod", "local"];

function declaredArgs(dockerfile: string): Set<string> {
    const names = new Set<string>();
    for (const ins of DockerfileParser.parse(dockerfile).getInstructions()) {
        if (ins.getKeyword() !== "ARG") continue;
        for (const word of (ins.getArgumentsContent() ?? "").split(/\s+/)) if (word !== "") names.add(word.split("=")[0]);
    }
    return names;
}

/** Pinned `name==version` lines of a lock file (comments and markers removed). */
function lockPins(text: string): Map<string, string> {
    const pins = new Map<string, string>();
    for (const raw of text.split("\n")) {
        const line = raw.replace(/#.*/, "").split(";")[0].trim();
        if (line === "") continue;
        const m = line.match(/^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==(\S+)$/);
        assert.ok(m, `not an exact pin: "${raw}"`);
        pins.set(m[1].toLowerCase().replace(/[-_.]+/g, "-"), m[2]);
    }
    return pins;
}

for (const stack of STACKS) {
    describe(`catalog: Pulumi.${stack}.yaml against docker/`, () => {
        const config = parseStackConfig(readStackConfigFile(root, stack), { projectRoot: root, env: {} });
        const nodes = expandImageGraph(config);

        it("every build arg the program passes is declared by the family's Dockerfile", () => {
            for (const node of nodes) {
                const declared = declaredArgs(fs.readFileSync(path.join(root, node.dockerfile), "utf8"));
                const missing = passedBuildArgNames(node).filter((a) => !declared.has(a));
                assert.deepStrictEqual(missing, [], `${node.name}: ${node.dockerfile} does not declare ${missing.join(", ")}`);
            }
        });

        it("every cell has the lock file of its family and Python, and the context sends it", () => {
            for (const node of nodes) {
                const lock = path.join(root, node.context, `requirements-py${node.cell.python}.lock`);
                assert.ok(fs.existsSync(lock), `${node.name}: ${path.relative(root, lock)} is missing (docs/catalog.md, "Lock files")`);
                const dockerfile = fs.readFileSync(path.join(root, node.dockerfile), "utf8");
                assert.match(dockerfile, /COPY requirements-py\$\{PYTHON_VERSION\}\.lock /, `${node.dockerfile} must install the cell's lock file`);
                const ignore = fs.readFileSync(path.join(root, node.context, ".dockerignore"), "utf8");
                assert.match(ignore, /^!requirements-py\*\.lock$/m, `${node.context}/.dockerignore must send the lock files`);
            }
        });

        it("families that install torch get its version from config, not from a Dockerfile default", () => {
            for (const family of config.families) {
                const dockerfile = fs.readFileSync(path.join(root, family.dockerfile), "utf8");
                if (!/"torch==\$\{TORCH_VERSION\}"/.test(dockerfile)) continue;
                assert.doesNotMatch(dockerfile, /^ARG TORCH_VERSION=/m, `${family.dockerfile}: TORCH_VERSION must have no default`);
                assert.match(family.buildArgs.TORCH_VERSION ?? "", /^\d+\.\d+\.\d+$/, `mlci:families.${family.name}.buildArgs.TORCH_VERSION must pin a release in Pulumi.${stack}.yaml`);
            }
        });

        it("stable and cpu pin the same torch release", () => {
            // Every release-pinned family the stack has must pin one (an empty set is not "the same").
            const pinning = config.families.filter((f) => f.name === "stable" || f.name === "cpu");
            assert.ok(pinning.length > 0, `Pulumi.${stack}.yaml has neither stable nor cpu: this check would prove nothing`);
            for (const f of pinning) assert.match(f.buildArgs.TORCH_VERSION ?? "", /^\d+\.\d+\.\d+$/, `mlci:families.${f.name}.buildArgs.TORCH_VERSION must pin a release in Pulumi.${stack}.yaml`);
            const versions = new Set(config.families.map((f) => f.buildArgs.TORCH_VERSION).filter((v) => v !== undefined));
            assert.equal(versions.size, 1, `one torch release per stack, got ${[...versions].join(", ") || "none"}`);
        });
    });
}

describe("catalog: docker/ build contexts", () => {
    const families = fs.readdirSync(path.join(root, "docker"), { withFileTypes: true }).filter((e) => e.isDirectory());

    it("no Dockerfile pulls a frontend with a # syntax= directive", () => {
        for (const f of families) {
            const text = fs.readFileSync(path.join(root, "docker", f.name, "Dockerfile"), "utf8");
            assert.doesNotMatch(text, /^\s*#\s*syntax\s*=/im, `docker/${f.name}/Dockerfile`);
        }
    });

    it("every lock file pins exact versions, says how to regenerate itself, and takes tensordict from a release", () => {
        for (const f of families) {
            for (const file of fs.readdirSync(path.join(root, "docker", f.name)).filter((n) => n.endsWith(".lock"))) {
                const text = fs.readFileSync(path.join(root, "docker", f.name, file), "utf8");
                assert.match(text, /uv pip compile .*--python-version (\d\.\d+)/, `docker/${f.name}/${file}: header must give the uv pip compile command`);
                assert.strictEqual(text.match(/--python-version (\d\.\d+)/)![1], file.match(/py(\d\.\d+)\.lock$/)![1], `docker/${f.name}/${file}: header names another Python`);
                const pins = lockPins(text);
                assert.ok(pins.size > 0, `docker/${f.name}/${file} pins nothing`);
                assert.ok(!pins.has("torch") && !pins.has("torchvision"), `docker/${f.name}/${file}: torch comes from the wheel index step, not the lock`);
                assert.doesNotMatch(text, /git\+https:\/\/github\.com\/pytorch\/tensordict/, `docker/${f.name}/${file}: tensordict from git`);
            }
        }
        const nightly = fs.readFileSync(path.join(root, "docker/nightly/Dockerfile"), "utf8");
        assert.match(nightly, /^ARG TENSORDICT_REF=v\d+\.\d+\.\d+$/m, "nightly builds tensordict from a release tag, not main");
    });

    it("the torch families' locks agree on numpy and pillow, so habitat inherits one environment", () => {
        const pinsOf = (family: string, py: string) => lockPins(fs.readFileSync(path.join(root, "docker", family, `requirements-py${py}.lock`), "utf8"));
        for (const py of ["3.12", "3.13"]) {
            const nightly = pinsOf("nightly", py);
            for (const family of ["stable", "cpu"]) {
                const other = pinsOf(family, py);
                for (const name of ["numpy", "pillow"]) assert.strictEqual(other.get(name), nightly.get(name), `${family} py${py} ${name}`);
            }
        }
        const habitat = pinsOf("habitat", "3.12");
        assert.ok(!habitat.has("numpy") && !habitat.has("pillow"), "habitat keeps the parent's numpy and pillow; its lock must not pin them");
    });

    it("every image sets a base.name label and content-stable labels only", () => {
        for (const f of families) {
            const text = fs.readFileSync(path.join(root, "docker", f.name, "Dockerfile"), "utf8");
            assert.match(text, /org\.opencontainers\.image\.base\.name="/, `docker/${f.name}/Dockerfile lacks base.name`);
            assert.doesNotMatch(text, /org\.opencontainers\.image\.(revision|created)=/, `docker/${f.name}/Dockerfile: per-commit labels belong to the builder, not the hashed Dockerfile`);
        }
    });
});
