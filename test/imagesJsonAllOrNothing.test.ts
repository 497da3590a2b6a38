/**
 * CI_IMAGES_JSON and the per-image CI_IMAGE_* variables are all-or-nothing, by design (decision record 0009):
 * - one image whose ref does not resolve in a run (its build failed) holds back CI_IMAGES_JSON for every image
 *   that run, since the value is built from all refs; the per-image variables of the images that resolved
 *   are still written;
 * - a scope's per-image variables are written while ALL of them fit GitHub's variable limit; one image more
 *   and the scope gets none (never a subset), with one warning.
 * These tests pin that behaviour so a change to it is a decision, not an accident (docs/ci.md, "Past 100 images").
 */
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { ACTIONS_LIMITS, actionsNames, IMAGE_VARIABLE_PREFIX } from "../lib/github/names";

describe("per-image variables: all of them while they fit, none past the limit", () => {
    const opts = { pipelineRole: true, secretRoleArn: true, awsRegion: true, previewRole: false, scope: "environment" as const };
    const images = (n: number) => Array.from({ length: n }, (_, i) => `img${String(i).padStart(3, "0")}-py3.12`);
    const others = actionsNames([], opts).variables.length;
    const fit = ACTIONS_LIMITS.environment.variables - others;

    it(`an environment holds ${ACTIONS_LIMITS.environment.variables} variables: ${others} fixed ones, so ${fit} per-image variables fit`, () => {
        const at = actionsNames(images(fit), opts);
        assert.strictEqual(at.images.size, fit);
        assert.strictEqual(at.variables.filter((v) => v.startsWith(IMAGE_VARIABLE_PREFIX)).length, fit);
        assert.strictEqual(at.variables.length, ACTIONS_LIMITS.environment.variables);
        assert.strictEqual(at.jsonOnly, undefined);
    });

    it("one image more removes every CI_IMAGE_* at once (not the newest only), and says so", () => {
        const over = actionsNames(images(fit + 1), opts);
        assert.strictEqual(over.images.size, 0);
        assert.deepStrictEqual(over.variables.filter((v) => v.startsWith(IMAGE_VARIABLE_PREFIX)), []);
        assert.ok(over.variables.includes("CI_IMAGES_JSON"));
        assert.match(over.jsonOnly ?? "", new RegExp(`^${fit + 1} per-image CI_IMAGE_\\* variables and ${others} others exceed GitHub's limit of 100 variables per environment: only CI_IMAGES_JSON is written there`));
    });
});

describe("CI_IMAGES_JSON waits for every image's ref (mocks)", () => {
    const recorded: { name: string; inputs: Record<string, unknown> }[] = [];
    const REF = (c: string) => `123456789012.dkr.ecr.us-east-1.amazonaws.com/ml-ci/x:py3.12-${c.repeat(12)}@sha256:${c.repeat(64)}`;

    before(() => {
        pulumi.runtime.setMocks(
            {
                newResource: (args: pulumi.runtime.MockResourceArgs) => {
                    recorded.push({ name: args.name, inputs: args.inputs });
                    return { id: `${args.name}-id`, state: args.inputs };
                },
                call: (args: pulumi.runtime.MockCallArgs) => args.inputs,
            },
            "ml-ci-images",
            "test",
            false,
        );
    });

    it("one image whose ref never resolves (a failed build) holds back CI_IMAGES_JSON; the resolved images' own variables are written", async () => {
        const { GithubActionsConfig } = await import("../components/github/githubActionsConfig");
        // A failed build's outputs never resolve in the run that failed: the engine stops before they do. (Resolved
        // after the checks, so no registration is left pending for the tests that run after this one.)
        let release: (ref: string) => void = () => undefined;
        const failed = new Promise<string>((resolve) => (release = resolve));
        new GithubActionsConfig("gh", {
            owner: "pytorch",
            repositories: [{ name: "rl" }],
            registryUrl: "123456789012.dkr.ecr.us-east-1.amazonaws.com",
            imageRefs: { "ok-py3.12": REF("a"), "failed-py3.12": pulumi.output(failed) },
        });
        // Give every registration whose inputs are known the time to reach the mocks.
        for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
        await new Promise((r) => setTimeout(r, 200));
        const names = recorded.map((r) => r.inputs.variableName).filter(Boolean);
        assert.ok(names.includes("CI_IMAGE_OK_PY3_12"), names.join(", "));
        assert.ok(names.includes("CI_IMAGES_REGISTRY"), names.join(", "));
        assert.ok(!names.includes("CI_IMAGES_JSON"), "CI_IMAGES_JSON is written only with every image's ref");
        assert.ok(!names.includes("CI_IMAGE_FAILED_PY3_12"));
        release(REF("b"));
        await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
        const json = recorded.find((r) => r.inputs.variableName === "CI_IMAGES_JSON");
        assert.deepStrictEqual(JSON.parse(String(json?.inputs.value)), { "ok-py3.12": REF("a"), "failed-py3.12": REF("b") }, "once every ref is known, the JSON is written with all of them");
    });
});
