import * as assert from "assert";
import fc from "fast-check";
import { accessConfigChecks, accessProblems } from "../lib/access/accessChecks";
import type { PolicyDocument, PolicyStatement } from "../lib/access/documents";
import { ec2TrustPolicy, ECR_LOGIN_ACTION, pipelinePushPolicy, pullThroughCacheRepositoryArnPattern, runnerPullPolicy } from "../lib/access/ecrPolicies";
import { GITHUB_OIDC_AUDIENCE, GITHUB_OIDC_URL, githubOidcTrustPolicy, githubSubjectClaims } from "../lib/access/githubOidc";
import type { GithubSubject } from "../lib/access/settings";
import { findWildcardViolations } from "../lib/access/wildcardLinter";
import { formatProblems } from "../lib/config/problems";

/** Access problems as the one formatter prints them, `config ` and the list marker stripped. */
const validateAccess = (access: Parameters<typeof accessProblems>[0]): string[] => {
    const problems = accessProblems(access);
    return problems.length === 0 ? [] : formatProblems(problems).split("\n").slice(1).map((l) => l.replace(/^  - config /, ""));
};
import { IamOp, rejections, roleOps, useMotoIam } from "./motoIam";

const ACCOUNT = "123456789012";
const REPOS = [
    `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/ml-ci/nightly`,
    `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/ml-ci/stable`,
    `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/ml-ci/habitat`,
];
const CACHE = pullThroughCacheRepositoryArnPattern({ region: "us-east-1", accountId: ACCOUNT, prefix: "docker-hub" });
const PROVIDER = `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`;
const SUBJECTS: GithubSubject[] = [{ repo: "pytorch/rl", branches: ["main"], environments: ["prod"] }];

const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
/** Every (action, resource) pair an Allow statement grants. */
function grants(doc: PolicyDocument): Array<[string, string]> {
    return doc.Statement.filter((s) => s.Effect === "Allow")
        .flatMap((s) => list(s.Action).flatMap((a) => list(s.Resource).map((r): [string, string] => [a, r])));
}
const resourcesOf = (doc: PolicyDocument, action: string): string[] =>
    grants(doc).filter(([a]) => a === action).map(([, r]) => r).sort();

/** Every identity policy and trust policy this module can generate, for the cross-cutting checks. */
function allGeneratedDocuments(): Array<{ name: string; kind: "policy" | "trust"; doc: PolicyDocument }> {
    return [
        { name: "runner-pull", kind: "policy", doc: runnerPullPolicy({ repositoryArns: REPOS, pullThroughCacheRepositoryArnPattern: CACHE }) },
        { name: "runner-pull-no-cache", kind: "policy", doc: runnerPullPolicy({ repositoryArns: REPOS }) },
        { name: "pipeline-push", kind: "policy", doc: pipelinePushPolicy({ repositoryArns: REPOS, pullThroughCacheRepositoryArnPattern: CACHE }) },
        { name: "ec2-trust", kind: "trust", doc: ec2TrustPolicy() },
        { name: "github-trust", kind: "trust", doc: githubOidcTrustPolicy({ providerArn: PROVIDER, subjects: SUBJECTS }) },
        {
            name: "github-trust-patterns",
            kind: "trust",
            doc: githubOidcTrustPolicy({
                providerArn: PROVIDER,
                subjects: [{ repo: "pytorch/rl", branches: ["main", "release/*"] }, { repo: "pytorch/vision", environments: ["prod"], pullRequests: true }],
            }),
        },
    ];
}

describe("ec2TrustPolicy", () => {
    it("lets only EC2 assume the role, with sts:AssumeRole", () => {
        const doc = ec2TrustPolicy();
        assert.deepStrictEqual(doc.Statement, [
            { Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" },
        ]);
    });
});

describe("runnerPullPolicy", () => {
    const doc = runnerPullPolicy({ repositoryArns: REPOS, pullThroughCacheRepositoryArnPattern: CACHE });

    it("grants ecr:GetAuthorizationToken, and only it, on *", () => {
        assert.deepStrictEqual(grants(doc).filter(([, r]) => r === "*"), [[ECR_LOGIN_ACTION, "*"]]);
    });

    it("is exactly this document: literal action lists, never taken from the module's constants", () => {
        assert.deepStrictEqual(doc, {
            Version: "2012-10-17",
            Statement: [
                { Sid: "EcrLogin", Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" },
                { Sid: "PullStackRepositories", Effect: "Allow", Action: ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"], Resource: [...REPOS].sort() },
                {
                    Sid: "PullThroughCache",
                    Effect: "Allow",
                    Action: ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:BatchImportUpstreamImage", "ecr:CreateRepository", "ecr:GetDownloadUrlForLayer"],
                    Resource: "arn:aws:ecr:us-east-1:123456789012:repository/docker-hub/*",
                },
            ],
        });
    });

    it("grants each pull action on exactly the stack's repositories plus the cache prefix", () => {
        for (const action of ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]) {
            assert.deepStrictEqual(resourcesOf(doc, action), [...REPOS, CACHE].sort(), action);
        }
    });

    it("grants the first-pull-through-cache actions only on the cache prefix", () => {
        assert.strictEqual(CACHE, `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/docker-hub/*`);
        assert.deepStrictEqual(resourcesOf(doc, "ecr:BatchImportUpstreamImage"), [CACHE]);
        assert.deepStrictEqual(resourcesOf(doc, "ecr:CreateRepository"), [CACHE]);
    });

    it("grants no push action", () => {
        const pushOnly = ["ecr:CompleteLayerUpload", "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart", "ecr:BatchDeleteImage", "ecr:DescribeImages", "ecr:ListImages"];
        const granted = grants(doc).map(([a]) => a);
        assert.deepStrictEqual(pushOnly.filter((a) => granted.includes(a)), []);
    });

    it("omits the cache statement when there is no cache, and an empty repository statement", () => {
        const noCache = runnerPullPolicy({ repositoryArns: REPOS });
        assert.deepStrictEqual(grants(noCache).filter(([, r]) => r === CACHE), []);
        const noRepos = runnerPullPolicy({ repositoryArns: [] });
        assert.deepStrictEqual(noRepos.Statement.map((s) => s.Sid), ["EcrLogin"]);
    });

    it("does not depend on the order or duplication of repository ARNs", () => {
        const shuffled = runnerPullPolicy({ repositoryArns: [REPOS[2], REPOS[0], REPOS[1], REPOS[0]], pullThroughCacheRepositoryArnPattern: CACHE });
        assert.strictEqual(JSON.stringify(shuffled), JSON.stringify(doc));
    });
});

describe("pipelinePushPolicy", () => {
    const doc = pipelinePushPolicy({ repositoryArns: REPOS });

    it("is exactly this document (literal action lists), plus the runner's pull-through statement when there is a cache", () => {
        const push = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:CompleteLayerUpload", "ecr:DescribeImageScanFindings", "ecr:DescribeImages", "ecr:GetDownloadUrlForLayer", "ecr:InitiateLayerUpload", "ecr:ListImages", "ecr:PutImage", "ecr:StartImageScan", "ecr:UploadLayerPart"];
        assert.deepStrictEqual(doc, {
            Version: "2012-10-17",
            Statement: [
                { Sid: "EcrLogin", Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" },
                { Sid: "PushStackRepositories", Effect: "Allow", Action: push, Resource: [...REPOS].sort() },
                // The scan gate reads the account's rules to start the scan of a MANUAL repository (#27 seam 2).
                { Sid: "ScanGateRegistryRules", Effect: "Allow", Action: "ecr:GetRegistryScanningConfiguration", Resource: "*" },
            ],
        });
        assert.deepStrictEqual(pipelinePushPolicy({ repositoryArns: REPOS, pullThroughCacheRepositoryArnPattern: CACHE }).Statement[3], {
            Sid: "PullThroughCache",
            Effect: "Allow",
            Action: ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:BatchImportUpstreamImage", "ecr:CreateRepository", "ecr:GetDownloadUrlForLayer"],
            Resource: CACHE,
        });
    });

    it("grants image push/pull/list on exactly the stack's repositories", () => {
        const expected = [
            "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:CompleteLayerUpload", "ecr:DescribeImageScanFindings", "ecr:DescribeImages",
            "ecr:GetDownloadUrlForLayer", "ecr:InitiateLayerUpload", "ecr:ListImages", "ecr:PutImage", "ecr:StartImageScan", "ecr:UploadLayerPart",
        ];
        const onRepos = grants(doc).filter(([, r]) => r !== "*");
        assert.deepStrictEqual([...new Set(onRepos.map(([a]) => a))].sort(), expected);
        for (const action of expected) assert.deepStrictEqual(resourcesOf(doc, action), [...REPOS].sort(), action);
    });

    it("grants nothing that manages repositories, policies or IAM", () => {
        const managing = grants(doc).map(([a]) => a).filter((a) =>
            a.startsWith("iam:") || /^ecr:(Create|Delete|Put(Lifecycle|Registry|ReplicationConfiguration|ImageScanning)|SetRepositoryPolicy)/.test(a));
        assert.deepStrictEqual(managing, []);
    });

    it("adds pulls through the cache only when a cache pattern is given", () => {
        assert.deepStrictEqual(grants(doc).filter(([, r]) => r === CACHE), []);
        const withCache = pipelinePushPolicy({ repositoryArns: REPOS, pullThroughCacheRepositoryArnPattern: CACHE });
        assert.deepStrictEqual(resourcesOf(withCache, "ecr:BatchGetImage"), [...REPOS, CACHE].sort());
        assert.deepStrictEqual(resourcesOf(withCache, "ecr:PutImage"), [...REPOS].sort());
    });
});

describe("githubOidcTrustPolicy", () => {
    const sub = "token.actions.githubusercontent.com:sub";
    const aud = "token.actions.githubusercontent.com:aud";

    it("trusts exactly repo:<owner>/<repo> branch refs and environments, audience sts.amazonaws.com", () => {
        const doc = githubOidcTrustPolicy({ providerArn: PROVIDER, subjects: SUBJECTS });
        assert.deepStrictEqual(doc.Statement, [{
            Sid: "GithubActionsExactSubjects",
            Effect: "Allow",
            Principal: { Federated: PROVIDER },
            Action: "sts:AssumeRoleWithWebIdentity",
            Condition: {
                StringEquals: {
                    [aud]: GITHUB_OIDC_AUDIENCE,
                    [sub]: ["repo:pytorch/rl:environment:prod", "repo:pytorch/rl:ref:refs/heads/main"],
                },
            },
        }]);
        assert.strictEqual(GITHUB_OIDC_AUDIENCE, "sts.amazonaws.com");
    });

    it("uses StringLike only for patterns, in a separate statement that still requires the audience", () => {
        const doc = githubOidcTrustPolicy({
            providerArn: PROVIDER,
            subjects: [{ repo: "pytorch/rl", branches: ["main", "release/*"] }],
        });
        const [exact, patterns] = doc.Statement;
        assert.deepStrictEqual(exact.Condition, { StringEquals: { [aud]: "sts.amazonaws.com", [sub]: ["repo:pytorch/rl:ref:refs/heads/main"] } });
        assert.deepStrictEqual(patterns.Condition, {
            StringLike: { [sub]: ["repo:pytorch/rl:ref:refs/heads/release/*"] },
            StringEquals: { [aud]: "sts.amazonaws.com" },
        });
        assert.strictEqual(doc.Statement.length, 2);
    });

    it("every statement requires both the audience and a sub condition", () => {
        fc.assert(fc.property(
            fc.array(fc.record({
                repo: fc.constantFrom("pytorch/rl", "pytorch/vision", "meta-pytorch/tensordict"),
                branches: fc.array(fc.constantFrom("main", "nightly", "release/*", "v*"), { maxLength: 3 }),
                environments: fc.array(fc.constantFrom("prod", "staging", "gpu-*"), { maxLength: 2 }),
            }), { minLength: 1, maxLength: 4 }).filter((ss) => ss.every((s) => s.branches.length + s.environments.length > 0)),
            (subjects) => {
                const doc = githubOidcTrustPolicy({ providerArn: PROVIDER, subjects });
                for (const s of doc.Statement) {
                    assert.strictEqual(s.Condition?.StringEquals?.[aud], "sts.amazonaws.com");
                    const subs = list(s.Condition?.StringEquals?.[sub] ?? s.Condition?.StringLike?.[sub]);
                    assert.ok(subs.length > 0, JSON.stringify(s));
                    assert.ok(subs.every((x) => /^repo:[^/:*]+\/[^/:*]+:(ref:refs\/heads\/|environment:)./.test(x)), JSON.stringify(subs));
                    // StringLike is used only where a wildcard is needed.
                    assert.ok(list(s.Condition?.StringLike?.[sub]).every((x) => x.includes("*")));
                    assert.ok(list(s.Condition?.StringEquals?.[sub]).every((x) => !x.includes("*")));
                }
                assert.deepStrictEqual(findWildcardViolations(doc), []);
            }));
    });

    it("trusts pull_request workflows only for subjects that opt in", () => {
        assert.deepStrictEqual(githubSubjectClaims({ repo: "pytorch/rl", branches: ["main"] }), ["repo:pytorch/rl:ref:refs/heads/main"]);
        assert.deepStrictEqual(githubSubjectClaims({ repo: "pytorch/rl", pullRequests: true }), ["repo:pytorch/rl:pull_request"]);
        const doc = githubOidcTrustPolicy({ providerArn: PROVIDER, subjects: [{ repo: "pytorch/rl", pullRequests: true }, { repo: "pytorch/vision", branches: ["main"] }] });
        assert.deepStrictEqual(doc.Statement[0].Condition?.StringEquals?.[sub], ["repo:pytorch/rl:pull_request", "repo:pytorch/vision:ref:refs/heads/main"]);
    });

    it("refuses subjects that trust nothing or everything", () => {
        assert.throws(() => githubOidcTrustPolicy({ providerArn: PROVIDER, subjects: [] }), /subjects: is empty/);
        assert.throws(() => githubOidcTrustPolicy({ providerArn: PROVIDER, subjects: [{ repo: "*", branches: ["main"] }] }), /wildcard/);
        assert.throws(() => githubOidcTrustPolicy({ providerArn: PROVIDER, subjects: [{ repo: "pytorch/rl" }] }), /no branches, environments or pullRequests/);
    });
});

describe("findWildcardViolations", () => {
    const allow = (s: Omit<PolicyStatement, "Effect">): PolicyDocument => ({ Version: "2012-10-17", Statement: [{ Effect: "Allow", ...s }] });

    it("finds no violation in any generated document", () => {
        for (const { name, doc } of allGeneratedDocuments()) assert.deepStrictEqual(findWildcardViolations(doc), [], name);
    });

    it("no generated statement has * resources other than the login and the scan gate's rules read, nor ecr:*/iam:* actions", () => {
        for (const { name, doc } of allGeneratedDocuments()) {
            for (const [action, resource] of grants(doc)) {
                if (resource === "*") assert.ok(["ecr:GetAuthorizationToken", "ecr:GetRegistryScanningConfiguration"].includes(action), `${name}: ${action} on *`);
                assert.ok(!/^(ecr|iam):.*\*|^\*$/.test(action), `${name}: wildcard action ${action}`);
            }
        }
    });

    it("flags * resources on actions other than ecr:GetAuthorizationToken", () => {
        assert.deepStrictEqual(findWildcardViolations(allow({ Action: ["ecr:GetAuthorizationToken"], Resource: "*" })), []);
        const v = findWildcardViolations(allow({ Sid: "Oops", Action: ["ecr:GetAuthorizationToken", "ecr:BatchGetImage"], Resource: "*" }));
        assert.strictEqual(v.length, 1);
        assert.deepStrictEqual(v, ['Statement[0] (Sid "Oops") allows Resource "*" for ecr:BatchGetImage: only actions AWS does not scope by resource (ecr:GetAuthorizationToken, the registry-wide settings: STAR_RESOURCE_JUSTIFICATIONS) may use Resource "*", in a statement of their own; scope the others to their ARNs']);
    });

    it("flags *, ecr:*, iam:*, partial ECR/IAM wildcards and whole-service wildcards", () => {
        for (const action of ["*", "ecr:*", "iam:*", "ECR:*", "ecr:Put*", "iam:Pass?ole", "s3:*"]) {
            assert.strictEqual(findWildcardViolations(allow({ Action: action, Resource: REPOS[0] })).length, 1, action);
        }
        assert.deepStrictEqual(findWildcardViolations(allow({ Action: "s3:Get*", Resource: "arn:aws:s3:::bucket/key" })), []);
    });

    it("flags registry-wide and account/region-wildcard ARNs, NotAction/NotResource and * principals", () => {
        assert.strictEqual(findWildcardViolations(allow({ Action: "ecr:BatchGetImage", Resource: `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/*` })).length, 1);
        assert.strictEqual(findWildcardViolations(allow({ Action: "ecr:BatchGetImage", Resource: "arn:aws:ecr:*:*:repository/ml-ci/nightly" })).length, 1);
        assert.deepStrictEqual(findWildcardViolations(allow({ Action: "ecr:BatchGetImage", Resource: CACHE })), []);
        assert.strictEqual(findWildcardViolations(allow({ NotAction: "iam:CreateUser", Resource: REPOS[0] })).length, 1);
        assert.strictEqual(findWildcardViolations(allow({ Action: "ecr:BatchGetImage", NotResource: REPOS[0] })).length, 1);
        assert.strictEqual(findWildcardViolations(allow({ Principal: { AWS: "*" }, Action: "sts:AssumeRole" })).length, 1);
    });

    it("ignores Deny statements and accepts a JSON string", () => {
        const deny: PolicyDocument = { Version: "2012-10-17", Statement: [{ Effect: "Deny", Action: "*", Resource: "*" }] };
        assert.deepStrictEqual(findWildcardViolations(JSON.stringify(deny)), []);
        assert.strictEqual(findWildcardViolations(JSON.stringify(allow({ Action: "ecr:*", Resource: "*" }))).length, 2);
    });

    it("for any set of repositories, the pull and push policies grant exactly them and stay violation-free", () => {
        const repoArn = fc.tuple(
            fc.constantFrom("us-east-1", "eu-west-1"),
            fc.stringMatching(/^[0-9]{12}$/),
            fc.stringMatching(/^[a-z][a-z0-9._-]{0,20}(\/[a-z][a-z0-9._-]{0,20})?$/),
        ).map(([region, account, repo]) => `arn:aws:ecr:${region}:${account}:repository/${repo}`);
        fc.assert(fc.property(fc.array(repoArn, { minLength: 1, maxLength: 8 }), (arns) => {
            const expected = [...new Set(arns)].sort();
            for (const doc of [runnerPullPolicy({ repositoryArns: arns }), pipelinePushPolicy({ repositoryArns: arns })]) {
                assert.deepStrictEqual(findWildcardViolations(doc), []);
                assert.deepStrictEqual([...new Set(grants(doc).map(([, r]) => r).filter((r) => r !== "*"))].sort(), expected);
            }
        }));
    });
});

describe("pullThroughCacheRepositoryArnPattern", () => {
    it("builds the cache prefix pattern and refuses wildcard or empty prefixes", () => {
        assert.strictEqual(
            pullThroughCacheRepositoryArnPattern({ region: "cn-north-1", accountId: ACCOUNT, prefix: "/docker-hub/", partition: "aws-cn" }),
            `arn:aws-cn:ecr:cn-north-1:${ACCOUNT}:repository/docker-hub/*`);
        assert.throws(() => pullThroughCacheRepositoryArnPattern({ region: "us-east-1", accountId: ACCOUNT, prefix: "" }), /literal repository prefix/);
        assert.throws(() => pullThroughCacheRepositoryArnPattern({ region: "us-east-1", accountId: ACCOUNT, prefix: "*" }), /literal repository prefix/);
    });
});

describe("validateAccess", () => {
    const valid = {
        runner: { enabled: true, createRole: true, existingRoleNames: ["gh-runner-gpu"] },
        pipeline: { enabled: true, subjects: SUBJECTS, oidcProviderArn: PROVIDER, deployPolicyArns: [`arn:aws:iam::${ACCOUNT}:policy/mlci-deploy`] },
    };

    it("accepts the documented example", () => {
        assert.deepStrictEqual(validateAccess(valid), []);
        assert.deepStrictEqual(accessConfigChecks({ access: valid }), []);
    });

    it("names the subject's repo path and the fix when repo is not owner/name", () => {
        const problems = validateAccess({ pipeline: { enabled: true, subjects: [{ repo: "rl", branches: ["main"] }] } });
        assert.deepStrictEqual(problems, [
            'mlci:access.pipeline.subjects[0].repo: "rl" is not "owner/name". Fix: use e.g. "pytorch/rl", without "https://github.com/" or ".git"',
        ]);
        assert.deepStrictEqual(accessConfigChecks({ access: { pipeline: { enabled: true, subjects: [{ repo: "https://github.com/pytorch/rl", branches: ["main"] }] } } })
            .map((p) => p.path), ["access.pipeline.subjects[0].repo"]);
    });

    it("refuses empty subjects when the pipeline is enabled, but not when it is disabled", () => {
        assert.deepStrictEqual(validateAccess({ pipeline: { enabled: true, subjects: [] } }), [
            'mlci:access.pipeline.subjects: is empty, so no workflow could assume the pipeline role. Fix: add e.g. { repo: "pytorch/rl", branches: ["main"] }',
        ]);
        assert.strictEqual(validateAccess({ pipeline: { enabled: true } }).length, 1);
        assert.deepStrictEqual(validateAccess({ pipeline: { enabled: false, subjects: [] } }), []);
    });

    it("refuses wildcard-only repos, branches and environments", () => {
        const problems = accessConfigChecks({ access: { pipeline: { enabled: true, subjects: [
            { repo: "*", branches: ["main"] },
            { repo: "pytorch/*", branches: ["main"] },
            { repo: "pytorch/rl", branches: ["*"], environments: ["**"] },
        ] } } });
        assert.deepStrictEqual(problems.map((p) => p.path), [
            "access.pipeline.subjects[0].repo",
            "access.pipeline.subjects[1].repo",
            "access.pipeline.subjects[2].branches[0]",
            "access.pipeline.subjects[2].environments[0]",
        ]);
        assert.match(problems[0].fix ?? "", /name one repository/);
        assert.match(problems[2].message, /matches every branch/);
    });

    it("refuses a subject that trusts nothing, and full refs as branch names; accepts pullRequests alone", () => {
        assert.match(validateAccess({ pipeline: { enabled: true, subjects: [{ repo: "pytorch/rl" }] } })[0],
            /^mlci:access\.pipeline\.subjects\[0\]: has no branches, environments or pullRequests.*\. Fix: add branches: \["main"\]/);
        assert.deepStrictEqual(validateAccess({ pipeline: { enabled: true, subjects: [{ repo: "pytorch/rl", pullRequests: true }] } }), []);
        assert.match(validateAccess({ pipeline: { enabled: true, subjects: [{ repo: "pytorch/rl", branches: ["refs/heads/main"] }] } })[0],
            /branches\[0\]: "refs\/heads\/main" is a full ref\. Fix: give the branch name only, e\.g\. "main"/);
    });

    it("refuses a bad provider ARN and non-policy deploy ARNs", () => {
        const problems = accessConfigChecks({ access: { pipeline: { enabled: true, subjects: SUBJECTS,
            oidcProviderArn: `arn:aws:iam::${ACCOUNT}:oidc-provider/gitlab.com`, deployPolicyArns: ["AdministratorAccess"] } } });
        assert.deepStrictEqual(problems.map((p) => p.path), ["access.pipeline.oidcProviderArn", "access.pipeline.deployPolicyArns[0]"]);
    });

    it("refuses a runner config that attaches the policy to nothing, role ARNs instead of names, and duplicates", () => {
        assert.match(validateAccess({ runner: { enabled: true, createRole: false, existingRoleNames: [] } })[0], /^mlci:access\.runner: .*attached to nothing/);
        assert.match(validateAccess({ runner: { enabled: true, existingRoleNames: [`arn:aws:iam::${ACCOUNT}:role/gh-runner-gpu`] } })[0],
            /existingRoleNames\[0\]: .* is an ARN\. Fix: give the role name, e\.g\. "gh-runner-gpu"/);
        assert.match(validateAccess({ runner: { enabled: true, existingRoleNames: ["a", "a"] } })[0], /existingRoleNames\[1\]: "a" is listed twice/);
        assert.deepStrictEqual(validateAccess({ runner: { enabled: false, createRole: false } }), []);
    });
});

describe("moto accepts every generated IAM document", function () {
    const moto = useMotoIam();

    it("CreatePolicy accepts the pull and push policies; CreateRole/UpdateAssumeRolePolicy accept the trust policies", () => {
        const ops: IamOp[] = allGeneratedDocuments().flatMap(({ name, kind, doc }) =>
            kind === "policy" ? [{ op: "CreatePolicy" as const, name, document: JSON.stringify(doc) }] : roleOps(name, JSON.stringify(doc)));
        assert.deepStrictEqual(rejections(ops, moto().run(ops)), []);
    });

    it("CreateOpenIDConnectProvider accepts the GitHub provider as the component declares it", () => {
        const ops: IamOp[] = [{ op: "CreateOpenIDConnectProvider", url: GITHUB_OIDC_URL, clientIds: [GITHUB_OIDC_AUDIENCE] }];
        assert.deepStrictEqual(rejections(ops, moto().run(ops)), []);
    });

    it("rejects broken documents, so acceptance above means something", () => {
        const good = pipelinePushPolicy({ repositoryArns: REPOS });
        const trust = githubOidcTrustPolicy({ providerArn: PROVIDER, subjects: SUBJECTS });
        const mutate = (doc: PolicyDocument, change: (s: PolicyStatement) => object): string =>
            JSON.stringify({ ...doc, Statement: doc.Statement.map((s, i) => (i === doc.Statement.length - 1 ? change(s) : s)) });
        const broken: IamOp[] = [
            { op: "CreatePolicy", name: "bad-json", document: JSON.stringify(good).slice(0, -1) },
            { op: "CreatePolicy", name: "bad-effect", document: mutate(good, (s) => ({ ...s, Effect: "Permit" })) },
            { op: "CreatePolicy", name: "bad-version", document: JSON.stringify({ ...good, Version: "2012-10-18" }) },
            { op: "CreatePolicy", name: "bad-action", document: mutate(good, (s) => ({ ...s, Action: "PutImage" })) },
            { op: "CreatePolicy", name: "bad-resource", document: mutate(good, (s) => ({ ...s, Resource: "ml-ci/nightly" })) },
            { op: "CreatePolicy", name: "bad-condition", document: mutate(good, (s) => ({ ...s, Condition: { StringEqualz: { "aws:username": "x" } } })) },
            { op: "CreateRole", name: "trust-target", trustPolicy: JSON.stringify(trust) },
            { op: "UpdateAssumeRolePolicy", name: "trust-target", trustPolicy: mutate(trust, (s) => ({ ...s, Action: "ecr:PutImage" })) },
            { op: "UpdateAssumeRolePolicy", name: "trust-target", trustPolicy: mutate(trust, (s) => ({ ...s, Resource: "*" })) },
            { op: "UpdateAssumeRolePolicy", name: "trust-target", trustPolicy: mutate(trust, (s) => ({ ...s, Effect: "Maybe" })) },
            { op: "CreateOpenIDConnectProvider", url: "token.actions.githubusercontent.com", clientIds: [GITHUB_OIDC_AUDIENCE] },
        ];
        const results = moto().run(broken);
        const accepted = broken.filter((op, i) => results[i].ok !== (op.op === "CreateRole")).map((op) => ("name" in op ? op.name : op.url));
        assert.deepStrictEqual(accepted, [], "moto's answer differs from expectation (only CreateRole trust-target should pass)");
    });
});
