/**
 * test.yml's real-engine job: it cannot run on this machine (no Pulumi plugins, no buildx), so its
 * structure is tested like the other workflows': every PR, under 15 minutes, the local stack's up, a
 * preview that must find no changes, the registry status, and a destroy that runs whatever happened.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";
import { planStack, plaintextCredentialKeys, rawConfigFromEntries, isSecureValue } from "../lib/stackPlan";
import { jobNamed, readWorkflow, stepIndex } from "./workflows.test";

const ROOT = path.resolve(__dirname, "..");
const FIXTURE = ".github/ci-local-stack.yaml";

describe("test.yml: the real-engine job", () => {
    const job = () => jobNamed("test.yml", "real-engine");
    const at = (re: RegExp) => stepIndex(job(), (s) => re.test(s.run ?? ""));

    it("runs on every pull request, on a hosted runner, within 15 minutes, with no secrets or cloud role", () => {
        const { doc, text } = readWorkflow("test.yml");
        assert.ok("pull_request" in doc.on, "every PR");
        assert.strictEqual(job()["runs-on"], "ubuntu-latest");
        assert.ok((job()["timeout-minutes"] ?? Infinity) <= 15);
        assert.doesNotMatch(JSON.stringify(job()), /secrets\.|id-token/);
        assert.doesNotMatch(text, /secrets\./);
    });

    it("ups the local stack, previews with --expect-no-changes, checks the status, then destroys even on failure", () => {
        const copy = at(/cp \.github\/ci-local-stack\.yaml Pulumi\.local\.yaml/);
        const up = at(/^npm run up:local$/);
        const preview = at(/npm run preview:local -- --expect-no-changes/);
        const status = at(/npx ci-images status --stack local/);
        const destroy = at(/^npm run destroy:local$/);
        assert.ok(copy >= 0 && copy < up && up < preview && preview < status && status < destroy, JSON.stringify({ copy, up, preview, status, destroy }));
        assert.strictEqual(job().steps![destroy].if, "always()");
        assert.match(job().steps![status].run!, /jq -e '\[\.images\[\] \| \.state == "tested" and \.latest\] \| all'/, "every image tested and promoted");
        assert.ok(at(/^npm ci$/) < up, "npm ci with scripts: prepare builds the CLI");
    });

    it("its stack is the local stack with the CPU family only, and it validates", async () => {
        const fixture = YAML.parse(fs.readFileSync(path.join(ROOT, FIXTURE), "utf8")).config as Record<string, unknown>;
        const local = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.local.yaml"), "utf8")).config as Record<string, unknown>;
        const { ["mlci:families"]: families, ...rest } = fixture;
        const { ["mlci:families"]: _localFamilies, ...localRest } = local;
        assert.deepStrictEqual(rest, localRest, "same registry, builder, smoke test and switches as Pulumi.local.yaml");
        assert.deepStrictEqual(Object.keys(families as object), ["cpu"]);
        assert.deepStrictEqual((families as Record<string, unknown>).cpu, (_localFamilies as Record<string, unknown>).cpu);
        const plan = await planStack(rawConfigFromEntries(fixture), { projectRoot: ROOT, env: {}, useHashCache: false, credentials: { githubToken: true, plaintext: plaintextCredentialKeys(fixture, (_k, v) => isSecureValue(v)) } });
        assert.deepStrictEqual(plan.images.map((i) => i.name), ["cpu-py3.12"]);
    });

    it("the local scripts it calls exist and pass extra flags to pulumi", () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
        for (const s of ["up:local", "preview:local", "destroy:local"]) assert.match(pkg.scripts[s], /^bash scripts\/local\.sh (up|preview|destroy)$/);
        assert.match(fs.readFileSync(path.join(ROOT, "scripts", "local.sh"), "utf8"), /exec "\$\{pulumi\[@\]\}" "\$cmd" --stack local --non-interactive "\$@"/);
    });
});
