/**
 * CI_IMAGES_JSON: one GitHub Actions variable per repository or environment with every image's
 * digest-pinned ref, so a catalog past GitHub's 100 variables per environment still publishes. The pure
 * size arithmetic (48 KB per variable), and the real program under the mocks for a generated 200-image
 * dev catalog, which writes into the `dev` environment.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import YAML from "yaml";
import { ACTIONS_VARIABLE_MAX_BYTES, asImagesJson, imagesJsonMaxBytes, imagesJsonSizeProblem, REGISTRY_HOST_MAX_CHARS, resolveImagesJsonRef, variableBytes } from "../lib/github/imagesJson";
import { forcedTag } from "../lib/images/tags";
import { plain, PROJECT_ROOT, RunResult, runProgram } from "./harness";
import { scaleStackYaml } from "./scaleCatalog";

const SCRATCH = path.join(PROJECT_ROOT, ".cache", "test-github-images-json");
const DIGEST = `sha256:${"ab".repeat(32)}`;

describe("CI_IMAGES_JSON size (pure)", () => {
    const shapes = Array.from({ length: 300 }, (_, i) => ({ name: `family${i}-cuda13.2-py3.12`, repositoryName: `ml-ci/family${i}`, cellLabel: "cuda13.2-py3.12" }));

    it("bounds the real value from above, with the longest host and a forced-rebuild tag", () => {
        const host = "9".repeat(REGISTRY_HOST_MAX_CHARS);
        const refs = Object.fromEntries(shapes.map((s) => [s.name, `${host}/${s.repositoryName}:${forcedTag(s.cellLabel, "f".repeat(64), 999)}@${DIGEST}`]));
        const actual = variableBytes(JSON.stringify(refs));
        const bound = imagesJsonMaxBytes(shapes);
        assert.ok(actual <= bound, `${actual} > ${bound}`);
        assert.ok(bound - actual <= 2 * shapes.length, `the bound is loose: ${bound} vs ${actual}`);
    });

    it("200 images fit GitHub's 48 KB per variable; 300 long names do not, and the problem says so", () => {
        assert.strictEqual(imagesJsonSizeProblem(shapes.slice(0, 200)), undefined);
        assert.match(imagesJsonSizeProblem(shapes) ?? "", /^CI_IMAGES_JSON for 300 images may reach \d+ bytes, over GitHub's limit of 48000 bytes \(48 KB, read as 48,000 bytes\) per variable$/);
        assert.strictEqual(ACTIONS_VARIABLE_MAX_BYTES, 48_000, "48 KB read conservatively: GitHub does not say 1,024");
    });

    it("a catalog whose worst case lies between 48,000 and 49,152 bytes is refused (the conservative reading of 48 KB)", () => {
        const n = shapes.findIndex((_, i) => { const b = imagesJsonMaxBytes(shapes.slice(0, i + 1)); return b > 48_000 && b <= 48 * 1024; }) + 1;
        assert.ok(n > 0, "some prefix of the catalog lands in the gap");
        assert.match(imagesJsonSizeProblem(shapes.slice(0, n)) ?? "", /over GitHub's limit of 48000 bytes/);
        const ci = fs.readFileSync(path.join(__dirname, "..", "docs", "ci.md"), "utf8");
        assert.match(ci, /48 KB, which the program reads as\s+48,000 bytes/);
        assert.match(ci, /256 KB combined/, "docs/ci.md names GitHub's per-run limit on all variables");
    });

    it("reads a CI_IMAGES_JSON value back, and refuses other shapes", () => {
        const ref = `r.example/ml-ci/nightly:cuda13.2-py3.12-h0123456789ab@${DIGEST}`;
        const map = asImagesJson({ "nightly-cuda13.2-py3.12": ref });
        assert.ok(map);
        assert.strictEqual(resolveImagesJsonRef(map, "nightly-cuda13.2-py3.12"), ref);
        assert.throws(() => resolveImagesJsonRef(map, "nightly-cuda13.2-py3.13"), /no image "nightly-cuda13\.2-py3\.13" in CI_IMAGES_JSON; did you mean "nightly-cuda13\.2-py3\.12"\?/);
        assert.throws(() => resolveImagesJsonRef({ a: "r/x:t" }, "a"), /malformed ref "r\/x:t"/);
        assert.strictEqual(asImagesJson({ images: { a: { uri: "x" } } }), undefined, "stack outputs are not CI_IMAGES_JSON");
        assert.strictEqual(asImagesJson({}), undefined);
    });
});

describe("CI_IMAGES_JSON's size is a config check", function () {
    this.timeout(60_000);
    const dir = path.join(PROJECT_ROOT, ".cache", "test-github-images-json-big");
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("a catalog whose refs could pass 48 KB fails validation naming mlci:github and the fix, before any resource", async () => {
        const { planStack, rawConfigFromEntries } = await import("../lib/stackPlan");
        const doc = YAML.parse(scaleStackYaml(60, 40, dir)); // 60 × 4 + 40 × 2 = 320 images
        doc.config["mlci:github"] = YAML.parse(fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.dev.yaml"), "utf8")).config["mlci:github"];
        await assert.rejects(
            planStack(rawConfigFromEntries(doc.config), { projectRoot: PROJECT_ROOT, env: {}, useHashCache: false, credentials: { githubToken: true, plaintext: [] } }),
            /config mlci:github: CI_IMAGES_JSON for 320 images may reach \d+ bytes, over GitHub's limit of 48000 bytes \(48 KB, read as 48,000 bytes\) per variable\. Fix: narrow the matrix or split the families across stacks/,
        );
    });
});

describe("a 200-image dev catalog publishes through CI_IMAGES_JSON (program under mocks)", function () {
    this.timeout(300_000);
    let run: RunResult;
    const warnings: string[] = [];

    before(async () => {
        fs.rmSync(SCRATCH, { recursive: true, force: true });
        // 45 GPU families × 4 cells + 10 CPU families × 2 cells = 200 images, with dev's own GitHub section
        // (the `dev` environments of rl and of the workflow repository), which the plan-only catalog switches off.
        const doc = YAML.parse(scaleStackYaml(45, 10, SCRATCH));
        doc.config["mlci:github"] = YAML.parse(fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.dev.yaml"), "utf8")).config["mlci:github"];
        const warn = pulumi.log.warn;
        pulumi.log.warn = (msg: string, ...rest: unknown[]) => {
            warnings.push(msg);
            return (warn as (...a: unknown[]) => Promise<void>)(msg, ...rest);
        };
        try {
            run = await runProgram({ stack: "dev", configYaml: YAML.stringify(doc) });
        } finally {
            pulumi.log.warn = warn;
        }
    });
    after(() => fs.rmSync(SCRATCH, { recursive: true, force: true }));

    const allEnvVariables = () => run.byType("github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable");
    /** The consumer repository's scope; the workflow repository's `dev` environment gets the same set. */
    const envVariables = () => allEnvVariables().filter((v) => v.inputs.repository === "rl");

    it("declares 200 images and writes into the dev environment", () => {
        assert.strictEqual(Object.keys(run.outputs.images).length, 200);
        assert.ok(envVariables().length > 0 && allEnvVariables().every((v) => v.inputs.environment === "dev"));
        assert.deepStrictEqual([...new Set(allEnvVariables().map((v) => v.inputs.repository))].sort(), ["ml-ci-images", "rl"]);
    });

    it("CI_IMAGES_JSON holds every image's digest-pinned ref, under 48 KB, readable as fromJSON(vars.CI_IMAGES_JSON)[name]", () => {
        const json = envVariables().find((v) => v.inputs.variableName === "CI_IMAGES_JSON");
        assert.ok(json, envVariables().map((v) => v.inputs.variableName).join(", "));
        const value = plain(json.inputs.value) as string;
        assert.ok(variableBytes(value) <= ACTIONS_VARIABLE_MAX_BYTES, `${variableBytes(value)} bytes`);
        const refs = JSON.parse(value) as Record<string, string>;
        assert.deepStrictEqual(Object.keys(refs), Object.keys(run.outputs.images), "every image, in the plan's order");
        for (const [name, image] of Object.entries(run.outputs.images as Record<string, { ref: string }>)) {
            assert.strictEqual(refs[name], image.ref, name);
            assert.match(refs[name], /@sha256:[0-9a-f]{64}$/, name);
        }
    });

    it("writes no per-image CI_IMAGE_* variable there (200 would break GitHub's 100), and warns once per scope saying so", () => {
        const names = envVariables().map((v) => v.inputs.variableName as string);
        assert.deepStrictEqual(names.filter((n) => n.startsWith("CI_IMAGE_")), []);
        assert.ok(names.length <= 100, `${names.length} variables`);
        assert.deepStrictEqual(names.sort(), ["CI_IMAGES_AWS_REGION", "CI_IMAGES_JSON", "CI_IMAGES_PIPELINE_SESSION_SECONDS", "CI_IMAGES_REGISTRY"]);
        const degraded = warnings.filter((w) => /only CI_IMAGES_JSON is written there/.test(w) && /^GitHub rl /.test(w));
        assert.strictEqual(degraded.length, 1, warnings.join("\n"));
        assert.match(degraded[0], /^GitHub rl environment dev: 200 per-image CI_IMAGE_\* variables and 4 others exceed GitHub's limit of 100 variables per environment/);
    });
});

describe("ci-images uri reads CI_IMAGES_JSON", () => {
    const ref = `123456789012.dkr.ecr.us-east-1.amazonaws.com/ml-ci/nightly:cuda13.2-py3.12-h0123456789ab@${DIGEST}`;
    const dir = path.join(PROJECT_ROOT, ".cache", "test-uri-images-json");
    const file = path.join(dir, "ci-images.json");
    before(() => {
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(file, JSON.stringify({ "nightly-cuda13.2-py3.12": ref, "cpu-py3.12": `r.example/ml-ci/cpu:py3.12-h0123456789ab@${DIGEST}` }));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("prints the ref of the named image, and fails with exit 1 and a hint for an unknown one", async () => {
        const { runCli } = await import("./cliContext");
        const ok = await runCli(["uri", "nightly-cuda13.2-py3.12", "--from", file]);
        assert.strictEqual(ok.code, 0, ok.stderr);
        assert.strictEqual(ok.stdout, `${ref}\n`);
        const missing = await runCli(["uri", "nightly-cuda13.2-py3.13", "--from", file]);
        assert.strictEqual(missing.code, 1);
        assert.strictEqual(missing.stdout, "");
        assert.match(missing.stderr, /no image "nightly-cuda13\.2-py3\.13" in CI_IMAGES_JSON \(.*ci-images\.json\); did you mean "nightly-cuda13\.2-py3\.12"\?/);
    });
});
