import * as assert from "assert";
import { spawnSync } from "child_process";
import fc from "fast-check";
import { familyCells } from "../lib/images/matrix";
import { StackConfig } from "../lib/config/schema";
import {
    EcrLifecyclePolicy,
    KEEP_FOREVER_COUNT,
    lifecyclePolicy,
    RetentionSettings,
    retentionConfigChecks,
    validateKeepHashBuilds,
    validateLifecyclePolicy,
    validateRetention,
} from "../lib/registry/lifecyclePolicy";
import { MUTABLE_TAG_PATTERNS, TAG_PATTERNS, tagPatternMatches } from "../lib/images/tags";

const DEV: RetentionSettings = { datedTagDays: 7, keepHashBuilds: 10, untaggedDays: 1, protectedTagPatterns: ["release-*", "v*"] };

// Written out by hand from the retention requirements, not produced by the code under test.
const DEV_NIGHTLY_POLICY = {
    rules: [
        { rulePriority: 1, description: "Keep every moving <cell>-latest alias", selection: { tagStatus: "tagged", tagPatternList: ["*-latest"], countType: "imageCountMoreThan", countNumber: 9999 }, action: { type: "expire" } },
        { rulePriority: 2, description: "Keep every BuildKit layer-cache ref cache-<cell>", selection: { tagStatus: "tagged", tagPatternList: ["cache-*"], countType: "imageCountMoreThan", countNumber: 9999 }, action: { type: "expire" } },
        { rulePriority: 3, description: "Keep every protected release tag release-*", selection: { tagStatus: "tagged", tagPatternList: ["release-*"], countType: "imageCountMoreThan", countNumber: 9999 }, action: { type: "expire" } },
        { rulePriority: 4, description: "Keep every protected release tag v*", selection: { tagStatus: "tagged", tagPatternList: ["v*"], countType: "imageCountMoreThan", countNumber: 9999 }, action: { type: "expire" } },
        { rulePriority: 5, description: "Expire dated <cell>-YYYYMMDD images after 7 days", selection: { tagStatus: "tagged", tagPatternList: ["*-20*"], countType: "sinceImagePushed", countUnit: "days", countNumber: 7 }, action: { type: "expire" } },
        { rulePriority: 6, description: "Keep the newest 10 content-hash builds", selection: { tagStatus: "tagged", tagPatternList: ["*-h*"], countType: "imageCountMoreThan", countNumber: 10 }, action: { type: "expire" } },
        { rulePriority: 7, description: "Keep the newest 10 forced rebuilds", selection: { tagStatus: "tagged", tagPatternList: ["*-f*"], countType: "imageCountMoreThan", countNumber: 10 }, action: { type: "expire" } },
        { rulePriority: 8, description: "Expire untagged images after 1 day", selection: { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: 1 }, action: { type: "expire" } },
    ],
};

// The documented examples of the ECR User Guide ("Examples of lifecycle policies"), which ECR accepts.
const AWS_EXAMPLES: Record<string, unknown> = {
    "filtering on image age": { rules: [{ rulePriority: 1, description: "Expire images older than 14 days", selection: { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: 14 }, action: { type: "expire" } }] },
    "filtering on image count": { rules: [{ rulePriority: 1, description: "Keep only one untagged image, expire all others", selection: { tagStatus: "untagged", countType: "imageCountMoreThan", countNumber: 1 }, action: { type: "expire" } }] },
    "tag pattern prod*": { rules: [{ rulePriority: 1, description: "Expire images older than 14 days", selection: { tagStatus: "tagged", tagPatternList: ["prod*"], countType: "sinceImagePushed", countUnit: "days", countNumber: 14 }, action: { type: "expire" } }] },
    "all rule types": {
        rules: [
            { rulePriority: 1, description: "Rule 1", selection: { tagStatus: "tagged", tagPrefixList: ["alpha"], countType: "imageCountMoreThan", countNumber: 1 }, action: { type: "expire" } },
            { rulePriority: 2, description: "Rule 2", selection: { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: 1 }, action: { type: "expire" } },
            { rulePriority: 3, description: "Rule 3", selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: 1 }, action: { type: "expire" } },
        ],
    },
};

function clone<T>(x: T): T {
    return JSON.parse(JSON.stringify(x)) as T;
}

describe("lifecyclePolicy: the rule set generated from retention config", () => {
    it("dev retention for a date-rebuilt family gives exactly the expected ECR JSON", () => {
        assert.deepStrictEqual(JSON.parse(JSON.stringify(lifecyclePolicy(DEV, { datedTags: true }))), DEV_NIGHTLY_POLICY);
    });

    it("a family without dated tags gets no dated-expiry rule and consecutive priorities", () => {
        const policy = lifecyclePolicy({ ...DEV, keepHashBuilds: 30 });
        assert.deepStrictEqual(policy.rules.map((r) => r.selection.tagPatternList?.[0] ?? r.selection.tagStatus), ["*-latest", "cache-*", "release-*", "v*", "*-h*", "*-f*", "untagged"]);
        assert.deepStrictEqual(policy.rules.map((r) => r.rulePriority), [1, 2, 3, 4, 5, 6, 7]);
        assert.strictEqual(policy.rules[4].selection.countNumber, 30);
    });

    it("every release pattern gets its own keep rule, because one pattern list is an AND", () => {
        const policy = lifecyclePolicy({ ...DEV, protectedTagPatterns: ["release-*", "v*", "stable-*"] });
        const keeps = policy.rules.filter((r) => r.selection.countNumber === KEEP_FOREVER_COUNT);
        assert.deepStrictEqual(keeps.map((r) => r.selection.tagPatternList), [["*-latest"], ["cache-*"], ["release-*"], ["v*"], ["stable-*"]]);
        assert.ok(!policy.rules.some((r) => (r.selection.tagPatternList?.length ?? 0) > 1), "no rule lists two patterns");
    });

    it("every policy generated from valid retention settings passes ECR's structural rules", () => {
        const pattern = fc.stringMatching(/^[a-z][a-z0-9._-]{0,10}-\*$/).filter((p) => validateRetention({ ...DEV, protectedTagPatterns: [p] }).length === 0);
        fc.assert(
            fc.property(
                fc.record({
                    datedTagDays: fc.integer({ min: 1, max: 365 }),
                    keepHashBuilds: fc.integer({ min: 1, max: KEEP_FOREVER_COUNT - 1 }),
                    untaggedDays: fc.integer({ min: 1, max: 30 }),
                    protectedTagPatterns: fc.uniqueArray(pattern, { maxLength: 5 }),
                }),
                fc.boolean(),
                (retention, datedTags) => {
                    const policy = lifecyclePolicy(retention, { datedTags });
                    assert.deepStrictEqual(validateLifecyclePolicy(JSON.parse(JSON.stringify(policy))), []);
                    assert.strictEqual(policy.rules.at(-1)!.selection.tagStatus, "untagged");
                },
            ),
            { numRuns: 200 },
        );
    });

    it("refuses invalid retention settings instead of emitting a policy ECR would reject", () => {
        assert.throws(() => lifecyclePolicy({ ...DEV, untaggedDays: 0 }), /mlci:registry\.retention\.untaggedDays/);
    });
});

describe("TAG_PATTERNS select exactly the tag shapes the image graph pushes", () => {
    // Cells as lib/config derives them; tags as lib/imageGraph forms them (`<cell>-<12 hex>`, `<cell>-latest`, …).
    const labels = [
        ...familyCells({ cpuOnly: false, matrix: undefined }, { cuda: ["12.4.1", "12.1.0", "11.8.0"], python: ["3.10", "3.11", "3.12"] }),
        ...familyCells({ cpuOnly: true, matrix: undefined }, { cuda: [], python: ["3.11", "3.13"] }),
    ].map((c) => c.label);
    const hex12 = fc.stringMatching(/^[0-9a-f]{12}$/);

    it("content-hash tags match the hash-build pattern and no keep pattern", () => {
        fc.assert(
            fc.property(fc.constantFrom(...labels), hex12, (label, hash) => {
                const tag = `${label}-h${hash}`;
                assert.ok(tagPatternMatches(TAG_PATTERNS.content, tag), tag);
                for (const p of [TAG_PATTERNS.latest, TAG_PATTERNS.cache, "release-*", "v*"]) assert.ok(!tagPatternMatches(p, tag), `${p} ~ ${tag}`);
            }),
        );
    });

    it("cache refs are never counted as content-hash builds; latest aliases and dated tags are", () => {
        for (const label of labels) {
            assert.ok(tagPatternMatches(TAG_PATTERNS.cache, `cache-${label}`));
            assert.ok(!tagPatternMatches(TAG_PATTERNS.content, `cache-${label}`), `cache-${label}`);
            assert.ok(tagPatternMatches(TAG_PATTERNS.latest, `${label}-latest`));
            assert.ok(tagPatternMatches(TAG_PATTERNS.dated, `${label}-20261122`));
            assert.ok(!tagPatternMatches(TAG_PATTERNS.dated, `${label}-latest`));
            assert.ok(!tagPatternMatches(TAG_PATTERNS.dated, `cache-${label}`));
        }
    });

    it("the moving tags are exactly the ones left mutable", () => {
        assert.deepStrictEqual([...MUTABLE_TAG_PATTERNS], ["*-latest", "cache-*"]);
    });

    it("wildcards match whole tags, not substrings", () => {
        assert.ok(tagPatternMatches("prod*", "prod"));
        assert.ok(tagPatternMatches("prod*", "prod1"));
        assert.ok(!tagPatternMatches("prod*", "preprod1"));
        assert.ok(!tagPatternMatches("latest", "cuda12.4-py3.11-latest"));
        assert.ok(tagPatternMatches("v*", "v1.2.3"));
        assert.ok(tagPatternMatches("*test*1*2*3", "xtestA1B2C3"));
        assert.ok(!tagPatternMatches("a.c", "abc"), "a dot is literal");
    });
});

describe("validateLifecyclePolicy: ECR's structural rules", () => {
    for (const [name, doc] of Object.entries(AWS_EXAMPLES)) {
        it(`accepts the AWS documented example "${name}"`, () => assert.deepStrictEqual(validateLifecyclePolicy(doc), []));
    }

    const cases: [string, (p: typeof DEV_NIGHTLY_POLICY) => void, RegExp][] = [
        ["duplicate priorities", (p) => (p.rules[1].rulePriority = 1), /rulePriority 1 is also used by rules\[0\]/],
        ["an any rule that is not last", (p) => { p.rules.push({ rulePriority: 50, selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: 5 }, action: { type: "expire" } } as never); p.rules[6].rulePriority = 60; }, /"any" rule \(priority 50\) must have the highest rulePriority \(60 is higher\)/],
        ["a tagged rule without a tag list", (p) => delete (p.rules[0].selection as { tagPatternList?: string[] }).tagPatternList, /exactly one of tagPrefixList or tagPatternList, got neither/],
        ["a tagged rule with both lists", (p) => Object.assign(p.rules[0].selection, { tagPrefixList: ["x"] }), /got both/],
        ["a pattern with five wildcards", (p) => (p.rules[2].selection.tagPatternList = ["a*b*c*d*e*f"]), /has 5 wildcards; ECR allows at most 4/],
        ["countUnit on a count rule", (p) => Object.assign(p.rules[0].selection, { countUnit: "days" }), /countUnit is only allowed with countType sinceImagePushed/],
        ["a missing countUnit on an age rule", (p) => delete (p.rules[4].selection as { countUnit?: string }).countUnit, /needs countUnit "days"/],
        ["countNumber 0", (p) => (p.rules[5].selection.countNumber = 0), /countNumber must be a positive integer/],
        ["a second untagged rule", (p) => p.rules.push({ ...clone(p.rules[7]), rulePriority: 9 }), /only one rule may select untagged images/],
        ["two rules with the same tag list", (p) => (p.rules[3].selection.tagPatternList = ["release-*"]), /same tagPatternList as rules\[2\]/],
        ["an untagged rule with a tag list", (p) => Object.assign(p.rules[7].selection, { tagPatternList: ["x*"] }), /untagged rule must not have tagPatternList/],
        ["an unknown property", (p) => Object.assign(p.rules[0], { keep: true }), /unknown property "keep"/],
        ["an action other than expire", (p) => (p.rules[0].action = { type: "keep" }), /action must be \{"type":"expire"\}/],
    ];
    for (const [name, mutate, expected] of cases) {
        it(`rejects ${name}`, () => {
            const doc = clone(DEV_NIGHTLY_POLICY);
            assert.deepStrictEqual(validateLifecyclePolicy(doc), [], "the unmodified policy is valid");
            mutate(doc);
            const problems = validateLifecyclePolicy(doc);
            assert.ok(problems.some((p) => expected.test(p)), `expected ${expected} in ${JSON.stringify(problems)}`);
        });
    }

    it("rejects a document without rules", () => {
        assert.deepStrictEqual(validateLifecyclePolicy({ rule: [] }), ['the policy must be an object with a "rules" array']);
    });
});

describe("validateRetention: config problems name the path and the fix", () => {
    it("accepts the defaults", () => {
        assert.deepStrictEqual(validateRetention({ datedTagDays: 7, keepHashBuilds: 20, untaggedDays: 1, protectedTagPatterns: ["release-*", "v*"] }), []);
    });

    it("rejects zero, negative and fractional counts", () => {
        const problems = validateRetention({ datedTagDays: 0, keepHashBuilds: 2.5, untaggedDays: -1, protectedTagPatterns: [] });
        assert.deepStrictEqual(problems, [
            "mlci:registry.retention.datedTagDays: 0 is not a whole number of days of at least 1 (ECR rejects 0 and fractions); set it to a positive integer such as 7",
            "mlci:registry.retention.untaggedDays: -1 is not a whole number of days of at least 1 (ECR rejects 0 and fractions); set it to a positive integer such as 1",
            "mlci:registry.retention.keepHashBuilds: 2.5 is not a whole number of images of at least 1 (ECR rejects 0 and fractions); set it to a positive integer such as 20",
        ]);
    });

    it("rejects a pattern with more than four wildcards", () => {
        const [problem] = validateRetention({ ...DEV, protectedTagPatterns: ["r*e*l*e*a*se"] });
        assert.match(problem, /^mlci:registry\.retention\.protectedTagPatterns\[0\]: "r\*e\*l\*e\*a\*se" has 5 wildcards/);
    });

    it("rejects patterns that would also keep -latest, content-hash, dated or cache tags forever", () => {
        for (const [pattern, caught] of [["*latest", "cuda12.4-py3.11-latest"], ["cuda*", "cuda12.4-py3.11-latest"], ["*-h3f*", "py3.11-h3f9a1c0b7d2e"], ["*2026*", "cuda12.4-py3.11-20261122"], ["cache*", "cache-cuda12.4-py3.11"], ["*", "cuda12.4-py3.11-latest"]]) {
            const problems = validateRetention({ ...DEV, protectedTagPatterns: ["release-*", pattern] });
            assert.deepStrictEqual(problems, [
                `mlci:registry.retention.protectedTagPatterns[1]: "${pattern}" also matches the generated tag "${caught}", so every build would be kept forever; protect release tags only, with a pattern that cannot match "<cell>-latest", "<cell>-<hash>", "<cell>-YYYYMMDD" or "cache-<cell>" (e.g. "release-*")`,
            ]);
        }
    });

    it("rejects duplicate and malformed patterns", () => {
        const problems = validateRetention({ ...DEV, protectedTagPatterns: ["v*", "v*", "rel ease", ""] });
        assert.strictEqual(problems.length, 3, problems.join("\n"));
        assert.match(problems[0], /protectedTagPatterns\[1\]: "v\*" repeats protectedTagPatterns\[0\]/);
        assert.match(problems[1], /protectedTagPatterns\[2\]: "rel ease" is not an image tag pattern/);
        assert.match(problems[2], /protectedTagPatterns\[3\]: is empty/);
    });
});

describe("validateKeepHashBuilds: the newest build of every cell fits in keepHashBuilds", () => {
    it("names the family, its cell count and the fix", () => {
        assert.deepStrictEqual(validateKeepHashBuilds({ keepHashBuilds: 3 }, { base: 2, nightly: 4 }), [
            'mlci:registry.retention.keepHashBuilds: 3 is fewer than the 4 matrix cells of family "nightly"; set it to at least 4',
        ]);
        assert.deepStrictEqual(validateKeepHashBuilds({ keepHashBuilds: 4 }, { base: 2, nightly: 4 }), []);
    });

    it("retentionConfigChecks counts cells the way the config does", () => {
        const config = {
            families: [
                { name: "nightly", cpuOnly: false, matrix: undefined },
                { name: "cpu", cpuOnly: true, matrix: undefined },
            ],
            matrix: { cuda: ["12.4.1", "12.6.3"], python: ["3.10", "3.11", "3.12"] },
            registry: { backend: "ecr", retention: { ...DEV, keepHashBuilds: 5 } },
        } as unknown as StackConfig;
        assert.deepStrictEqual(retentionConfigChecks(config), [
            { path: "registry.retention.keepHashBuilds", message: '5 is fewer than the 6 matrix cells of family "nightly"', fix: "set it to at least 6" },
        ]);
        assert.deepStrictEqual(retentionConfigChecks({ ...config, registry: { ...config.registry, backend: "local" } } as StackConfig), []);
    });
});

describe("the generated policy is accepted by an ECR emulator (moto PutLifecyclePolicy)", function () {
    this.timeout(120_000);
    const script = `
import json, sys
import boto3
from moto import mock_aws
out = []
with mock_aws():
    ecr = boto3.client("ecr", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    ecr.create_repository(repositoryName="ml-ci/nightly")
    for text in json.load(sys.stdin):
        try:
            ecr.put_lifecycle_policy(repositoryName="ml-ci/nightly", lifecyclePolicyText=text)
            out.append({"ok": True, "stored": ecr.get_lifecycle_policy(repositoryName="ml-ci/nightly")["lifecyclePolicyText"]})
        except Exception as e:
            out.append({"ok": False, "error": str(e)})
print(json.dumps(out))
`;
    const probe = spawnSync("python3", ["-c", "import moto, boto3"], { encoding: "utf8" });
    const unavailable = probe.status !== 0 ? `python3 cannot import moto and boto3 (${(probe.stderr ?? "").trim()})` : undefined;

    it("accepts dev and prod policies and stores them unchanged; rejects a zero count", function () {
        if (unavailable) this.skip();
        const policies: EcrLifecyclePolicy[] = [lifecyclePolicy(DEV, { datedTags: true }), lifecyclePolicy({ ...DEV, keepHashBuilds: 30 })];
        const broken = clone(DEV_NIGHTLY_POLICY);
        broken.rules[5].selection.countNumber = 0;
        const texts = [...policies.map((p) => JSON.stringify(p)), JSON.stringify(broken)];
        const res = spawnSync("python3", ["-c", script], { input: JSON.stringify(texts), encoding: "utf8" });
        assert.strictEqual(res.status, 0, res.stderr);
        const results = JSON.parse(res.stdout) as { ok: boolean; stored?: string; error?: string }[];
        assert.ok(results[0].ok, results[0].error);
        assert.ok(results[1].ok, results[1].error);
        assert.deepStrictEqual(JSON.parse(results[0].stored!), JSON.parse(texts[0]));
        assert.strictEqual(results[2].ok, false, "moto must reject countNumber 0, or this check proves nothing");
        assert.match(results[2].error!, /minimum: 1/);
    });
});
