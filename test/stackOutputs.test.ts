import * as assert from "assert";
import { parseStackOutputs, resolveImageRef } from "../lib/images/stackOutputs";

const REPO = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ml-ci/nightly";
const DIGEST = "sha256:" + "0123456789abcdef".repeat(4);

/** What `pulumi stack output --json` prints for a stack with two pushed images and one unpushed. */
function stackOutputJson(overrides: Record<string, unknown> = {}): string {
    return JSON.stringify(
        {
            registryUrl: "123456789012.dkr.ecr.us-east-1.amazonaws.com",
            runnerRoleArn: "arn:aws:iam::123456789012:role/ml-ci-runner",
            instanceProfileName: "ml-ci-runner",
            pipelineRoleArn: "[secret]",
            images: {
                "nightly-cuda12.4-py3.11": { uri: `${REPO}:cuda12.4-py3.11-0123456789ab`, ref: `${REPO}:cuda12.4-py3.11-0123456789ab@${DIGEST}`, tag: "cuda12.4-py3.11-0123456789ab", repository: REPO, family: "nightly", cuda: "12.4.1", python: "3.11" },
                "nightly-cuda12.4-py3.10": { uri: `${REPO}:cuda12.4-py3.10-ba9876543210`, ref: `${REPO}:cuda12.4-py3.10-ba9876543210@${DIGEST}`, tag: "cuda12.4-py3.10-ba9876543210", repository: REPO, family: "nightly", cuda: "12.4.1", python: "3.10" },
                "cpu-py3.11": { uri: "ml-ci/cpu:py3.11-00000000cafe", tag: "py3.11-00000000cafe", repository: "ml-ci/cpu", family: "cpu", python: "3.11" },
            },
            ...overrides,
        },
        null,
        4,
    );
}

describe("parseStackOutputs", () => {
    it("reads the images contract and keeps the other outputs", () => {
        const outputs = parseStackOutputs(stackOutputJson());
        assert.deepStrictEqual(Object.keys(outputs.images), ["nightly-cuda12.4-py3.11", "nightly-cuda12.4-py3.10", "cpu-py3.11"]);
        assert.strictEqual(outputs.images["nightly-cuda12.4-py3.11"].cuda, "12.4.1");
        assert.strictEqual(outputs.images["cpu-py3.11"].cuda, undefined);
        assert.strictEqual(outputs.images["cpu-py3.11"].ref, undefined);
        assert.strictEqual(outputs.registryUrl, "123456789012.dkr.ecr.us-east-1.amazonaws.com");
        assert.strictEqual(outputs.pipelineRoleArn, "[secret]");
    });

    it("accepts the bare map printed by `pulumi stack output --json images`", () => {
        const bare = JSON.stringify(JSON.parse(stackOutputJson()).images);
        const outputs = parseStackOutputs(bare);
        assert.strictEqual(resolveImageRef(outputs, "nightly-cuda12.4-py3.10"), `${REPO}:cuda12.4-py3.10-ba9876543210@${DIGEST}`);
    });

    it("rejects text that is not JSON, or not an object, saying what was expected", () => {
        assert.throws(() => parseStackOutputs("error: no stack selected"), /is not JSON .*pulumi stack output --json/);
        assert.throws(() => parseStackOutputs("[1,2]"), /must be a JSON object .*got an array/);
    });

    it("rejects outputs without images, naming the outputs that are there", () => {
        assert.throws(() => parseStackOutputs(JSON.stringify({ registryUrl: "x", bucket: "y" })), /no "images" output \(outputs present: registryUrl, bucket\)/);
        assert.throws(() => parseStackOutputs(stackOutputJson({ images: "[secret]" })), /--show-secrets/);
    });

    it("lists every entry that breaks the contract, by path", () => {
        const broken = JSON.parse(stackOutputJson());
        delete broken.images["nightly-cuda12.4-py3.11"].uri;
        broken.images["cpu-py3.11"].python = 3.11;
        broken.images["nightly-cuda12.4-py3.10"].ref = 42;
        assert.throws(
            () => parseStackOutputs(JSON.stringify(broken)),
            (e: Error) =>
                /images\["nightly-cuda12\.4-py3\.11"\]\.uri must be a non-empty string/.test(e.message) &&
                /images\["cpu-py3\.11"\]\.python must be a non-empty string, got 3\.11/.test(e.message) &&
                /images\["nightly-cuda12\.4-py3\.10"\]\.ref must be a string or absent, got 42/.test(e.message),
        );
    });
});

describe("resolveImageRef", () => {
    const outputs = parseStackOutputs(stackOutputJson());

    it("returns the digest-pinned ref, not the mutable tag URI", () => {
        const ref = resolveImageRef(outputs, "nightly-cuda12.4-py3.11");
        assert.strictEqual(ref, `${REPO}:cuda12.4-py3.11-0123456789ab@${DIGEST}`);
        assert.notStrictEqual(ref, outputs.images["nightly-cuda12.4-py3.11"].uri);
    });

    it("fails for an unknown image with a close match and the available names", () => {
        assert.throws(
            () => resolveImageRef(outputs, "nightly-cuda12.4-py3.12"),
            (e: Error) => /no image "nightly-cuda12\.4-py3\.12"/.test(e.message) && /did you mean "nightly-cuda12\.4-py3\.1[01]"/.test(e.message) && /available: cpu-py3\.11, nightly-cuda12\.4-py3\.10, nightly-cuda12\.4-py3\.11/.test(e.message),
        );
        assert.throws(() => resolveImageRef(outputs, "toString"), /no image "toString"/);
    });

    it("fails for an image with no digest, saying why there may be none", () => {
        assert.throws(() => resolveImageRef(outputs, "cpu-py3.11"), {
            message: 'the image "cpu-py3.11" has no digest in the outputs: it was not pushed (build.push is false) or the last up failed',
        });
        const tagOnly = parseStackOutputs(stackOutputJson({ images: { x: { uri: "r:t", ref: "r:t", tag: "t", repository: "r", family: "f", python: "3.11" } } }));
        assert.throws(() => resolveImageRef(tagOnly, "x"), /has no digest/);
    });

    it("fails for a ref whose digest is malformed", () => {
        const bad = parseStackOutputs(stackOutputJson({ images: { x: { uri: "r:t", ref: "r:t@sha256:abc", tag: "t", repository: "r", family: "f", python: "3.11" } } }));
        assert.throws(() => resolveImageRef(bad, "x"), /malformed ref "r:t@sha256:abc"/);
    });
});
