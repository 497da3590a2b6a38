import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";

const ROOT = path.resolve(__dirname, "..");
type Step = { uses?: string; run?: string; name?: string };
const steps = (file: string): Step[] => {
    const wf = YAML.parse(fs.readFileSync(path.join(ROOT, ".github", "workflows", file), "utf8"));
    return (Object.values(wf.jobs) as { steps: Step[] }[])[0].steps;
};

describe("workflow steps around the catalog preflight and the lock refresh", () => {
    it("pr-images.yml runs check --online --stack dev before publish, and before any AWS credentials", () => {
        const s = steps("pr-images.yml");
        const check = s.findIndex((x) => /^npx ci-images check --online --stack dev$/.test((x.run ?? "").trim()));
        const publish = s.findIndex((x) => /npx ci-images publish --stack dev/.test(x.run ?? ""));
        const aws = s.findIndex((x) => (x.uses ?? "").startsWith("aws-actions/configure-aws-credentials@"));
        assert.ok(check >= 0, "no check --online step");
        assert.ok(check < publish && check < aws, `check ${check}, publish ${publish}, aws ${aws}`);
    });
    it("lock-refresh.yml installs uv into actions/setup-python's interpreter (no pip --user into the runner's externally managed Python)", () => {
        const s = steps("lock-refresh.yml");
        const setup = s.findIndex((x) => (x.uses ?? "").startsWith("actions/setup-python@"));
        const uv = s.findIndex((x) => /pip install "uv==[0-9.]+"/.test(x.run ?? ""));
        const refresh = s.findIndex((x) => (x.run ?? "").includes("refresh-locks.sh"));
        assert.ok(setup >= 0 && setup < uv && uv < refresh, `setup ${setup}, uv ${uv}, refresh ${refresh}`);
        assert.ok(!s.some((x) => /--user\b|python3 -m pip/.test(x.run ?? "")), "no pip --user / system python3");
    });
});
