/**
 * A corpus of malformed stack configs, each run through the real program (index.ts under mocks):
 * every one must fail with the exact config path, message and fix, before a single resource
 * is registered. Dockerfile cases use the committed fixture contexts under test/fixtures-docker/.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";
import { runProgram, runProgramExpectingError, RunOptions, PROJECT_ROOT } from "./harness";

/** One expected problem line: `config mlci:<path>: <message>[. Fix: <fix>]`. */
interface Problem {
    path: string;
    message: string;
    /** The fix text, where the code gives one; undefined asserts that the line has none. */
    fix?: string;
}

interface BadCase {
    title: string;
    run: RunOptions;
    /** The problems the error lists, exactly (order-insensitive). */
    problems: Problem[];
    /** Further problems may be listed (consequences of the same mistake). @default false */
    others?: boolean;
}

const PROD: Pick<RunOptions, "extraConfig" | "secretKeys"> = {};
const dev = (overrides: Record<string, unknown>): RunOptions => ({ stack: "dev", overrides });
const prod = (overrides: Record<string, unknown>): RunOptions => ({ stack: "prod", overrides, ...PROD });
const local = (overrides: Record<string, unknown>): RunOptions => ({ stack: "local", overrides });

const UNKNOWN_KEY_FIX = "remove it or correct its spelling (see the config reference in docs/config.md)";
const OUTSIDE_FIX = "use a path relative to the project root, inside it (e.g. docker/<family>/)";
const MATRIX_PARENT_FIX = (family: string) => `restrict mlci:families.${family}.matrix to the parent's cells, or widen the parent's matrix`;
const PTC_REGISTRY_FIX = "set credentialSecretArn to an existing ecr-pullthroughcache/ secret, or dockerHubUsername plus `pulumi config set --secret mlci:dockerHubAccessToken <token>`, or enabled: false";
const GENERATED_TAGS_FIX = 'protect release tags only, with a pattern that cannot match "<cell>-latest", "<cell>-<hash>", "<cell>-YYYYMMDD" or "cache-<cell>" (e.g. "release-*")';

function line(p: Problem): string {
    return `config ${p.path.includes(":") ? p.path : `mlci:${p.path}`}: ${p.message}${p.fix !== undefined ? `. Fix: ${p.fix}` : ""}`;
}

/** Pulumi.dev.yaml with the `python` list of mlci:matrix removed (the overrides can only add keys). */
const DEV_WITHOUT_MATRIX_PYTHON = (() => {
    const doc = YAML.parse(fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.dev.yaml"), "utf8"));
    delete doc.config["mlci:matrix"].python;
    return YAML.stringify(doc);
})();

/** The problem lines of a ConfigError message, `- ` stripped. */
function problemLines(message: string): string[] {
    const [header, ...rest] = message.split("\n");
    const count = /^Invalid ml-ci-images stack config \((\d+) problems?\):$/.exec(header);
    assert.ok(count, `not a config error message:\n${message}`);
    const lines = rest.map((l) => l.replace(/^ {2}- /, ""));
    assert.equal(lines.length, Number(count[1]), `the header counts ${count[1]} problems but ${lines.length} are listed:\n${message}`);
    return lines;
}

const cases: BadCase[] = [
    // Wrong types.
    { title: "a string where the families map belongs", run: dev({ families: "base" }), problems: [{ path: "families", message: "Invalid input: expected record, received string" }] },
    { title: "a string for the Python list", run: dev({ matrix: { python: "3.11" } }), problems: [{ path: "matrix.python", message: "Invalid input: expected array, received string", fix: 'write a YAML list: ["3.11"]' }] },
    { title: "a number for a CUDA version", run: dev({ matrix: { cuda: [12.6] } }), problems: [{ path: "matrix.cuda[0]", message: 'must be a quoted full CUDA version like "12.4.1" (as in nvidia/cuda tags)' }] },
    { title: "a YAML number for a Python version", run: dev({ matrix: { python: [3.1, "3.11"] } }), problems: [{ path: "matrix.python[0]", message: 'must be a quoted Python version like "3.11" (unquoted 3.10 in YAML is the number 3.1)' }] },
    { title: "an object for a boolean", run: dev({ build: { push: { enabled: true } } }), problems: [{ path: "build.push", message: "Invalid input: expected boolean, received object", fix: "use true or false" }] },
    { title: "a string for a family's platform list", run: dev({ families: { cpu: { platforms: "linux/amd64" } } }), problems: [{ path: "families.cpu.platforms", message: "Invalid input: expected array, received string", fix: 'write a YAML list: ["linux/amd64"]' }] },
    { title: "a string for a family's cpuOnly flag", run: dev({ families: { cpu: { cpuOnly: "yes" } } }), problems: [{ path: "families.cpu.cpuOnly", message: "Invalid input: expected boolean, received string", fix: 'use true or false, unquoted (YAML 1.2 reads "yes" as a string)' }] },
    // #14 item 12: zod errors people make in stack YAML, each with a fix.
    { title: "forceRebuild: all (a string where true or a list belongs)", run: dev({ build: { forceRebuild: "all" } }), problems: [{ path: "build.forceRebuild", message: 'must be true, false or a list of image names, got "all"', fix: 'use true to rebuild every image, or a list like ["nightly-cuda13.2-py3.12"] (names from `npx ci-images tags`)' }] },
    { title: "a matrix without python", run: { stack: "dev", configYaml: DEV_WITHOUT_MATRIX_PYTHON }, problems: [{ path: "matrix.python", message: "is required", fix: 'list the Python versions to build, quoted: python: ["3.12", "3.13"]' }] },
    { title: "a comma-joined platforms string", run: dev({ families: { cpu: { platforms: "linux/amd64,linux/arm64" } } }), problems: [{ path: "families.cpu.platforms", message: "Invalid input: expected array, received string", fix: 'write a YAML list instead of a comma-joined string: ["linux/amd64", "linux/arm64"]' }] },
    { title: "dateRebuilt: yes", run: dev({ families: { nightly: { dateRebuilt: "yes" } } }), problems: [{ path: "families.nightly.dateRebuilt", message: "Invalid input: expected boolean, received string", fix: 'use true or false, unquoted (YAML 1.2 reads "yes" as a string)' }] },
    { title: "GitHub repositories given as strings", run: prod({ github: { repositories: ["rl", "tensordict"] } }), problems: [
        { path: "github.repositories[0]", message: "Invalid input: expected object, received string", fix: 'write each repository as an object: { name: "rl" } (optionally with environment: <name>)' },
        { path: "github.repositories[1]", message: "Invalid input: expected object, received string", fix: 'write each repository as an object: { name: "tensordict" } (optionally with environment: <name>)' },
    ] },
    { title: "replication to the stack's own region (aws:region)", run: prod({ registry: { replicationRegions: ["us-west-2", "us-east-1"] } }), problems: [{ path: "registry.replicationRegions", message: "lists the stack's own region us-east-1", fix: "list only other regions" }] },
    { title: "a plaintext Docker Hub token in the stack file", run: { stack: "dev", extraConfig: { "mlci:dockerHubAccessToken": "dckr_pat_plain" } }, problems: [{ path: "mlci:dockerHubAccessToken", message: "is stored in plaintext in the stack file", fix: "pulumi config rm mlci:dockerHubAccessToken && pulumi config set --secret mlci:dockerHubAccessToken <value> (and rotate the exposed credential)" }] },
    { title: "a GitHub token in the stack file, even a secret one (it would be stored in state; #27 seam 5)", run: { stack: "prod", extraConfig: { "github:token": "ghp_plain" }, secretKeys: ["github:token"] }, problems: [{ path: "github:token", message: "is set in the stack config: a provider token input is stored in the Pulumi state, where every reader of the state (a pull request's preview) could decrypt it", fix: "pulumi config rm github:token (and rotate it); the workflow mints a GitHub App installation token per run and passes it as GITHUB_TOKEN (docs/pipelines.md, \"Roles and secrets\")" }] },
    { title: "an unquoted number for a build arg", run: dev({ families: { base: { buildArgs: { UBUNTU_VERSION: 22.04 } } } }), problems: [{ path: "families.base.buildArgs.UBUNTU_VERSION", message: "build arg values must be strings (quote numbers in YAML)" }] },
    { title: "an unknown registry backend", run: dev({ registry: { backend: "gcr" } }), problems: [{ path: "registry.backend", message: 'must be one of "ecr", "local"' }] },

    // Unknown keys, at each level.
    {
        title: "an unknown top-level key, with a suggestion",
        run: dev({ familes: {} }),
        problems: [{ path: "familes", message: "unknown config key (did you mean mlci:families?)", fix: "remove it; known keys are mlci:families, mlci:matrix, mlci:registry, mlci:build, mlci:promotion, mlci:access, mlci:github, mlci:dockerHubAccessToken" }],
    },
    { title: "an unknown key in a family", run: dev({ families: { base: { dockerFile: "docker/base/Dockerfile" } } }), problems: [{ path: "families.base", message: 'unknown key "dockerFile"', fix: UNKNOWN_KEY_FIX }] },
    { title: "an unknown key in a family's matrix restriction", run: dev({ families: { habitat: { matrix: { cudas: ["12.6.3"] } } } }), problems: [{ path: "families.habitat.matrix", message: 'unknown key "cudas"', fix: UNKNOWN_KEY_FIX }] },
    { title: "an unknown key in the registry", run: dev({ registry: { retenion: {} } }), problems: [{ path: "registry", message: 'unknown key "retenion"', fix: UNKNOWN_KEY_FIX }] },
    { title: "an unknown key in the retention settings", run: dev({ registry: { retention: { keepDays: 3 } } }), problems: [{ path: "registry.retention", message: 'unknown key "keepDays"', fix: UNKNOWN_KEY_FIX }] },
    { title: "an unknown key in the smoke-test settings", run: dev({ build: { smokeTest: { gpus: 1 } } }), problems: [{ path: "build.smokeTest", message: 'unknown key "gpus"', fix: UNKNOWN_KEY_FIX }] },
    { title: "an unknown key in an access subject", run: dev({ access: { pipeline: { subjects: [{ repo: "pytorch/rl", branch: "main" }] } } }), problems: [{ path: "access.pipeline.subjects[0]", message: 'unknown key "branch"', fix: UNKNOWN_KEY_FIX }] },
    { title: "an unknown key in a GitHub target", run: dev({ github: { repositories: [{ name: "rl", env: "prod" }] } }), problems: [{ path: "github.repositories[0]", message: 'unknown key "env"', fix: UNKNOWN_KEY_FIX }] },

    // Bad versions.
    { title: "a CUDA version without its patch level", run: dev({ matrix: { cuda: ["12.6"] } }), problems: [{ path: "matrix.cuda[0]", message: 'must be a full CUDA version like "12.4.1" (major.minor.patch, as in nvidia/cuda tags)' }] },
    { title: "a Python 2 version", run: dev({ matrix: { python: ["3.10", "2.7"] } }), problems: [{ path: "matrix.python[1]", message: 'must be a Python version like "3.11" (major.minor, quoted in YAML)' }] },
    { title: "two CUDA versions giving the same image names", run: prod({ matrix: { cuda: ["13.2.1", "13.0.2", "13.0.1"] } }), problems: [{ path: "matrix.cuda", message: '"13.0.1" duplicates "13.0.2" (both give image names with cuda13.0)', fix: "list each version once" }] },

    // The family graph.
    {
        title: "a parent cycle",
        run: dev({ families: { base: { parent: "habitat" } } }),
        problems: [{ path: "families.base.parent", message: "parent cycle: base -> habitat -> nightly -> base", fix: "one family of the cycle must have no parent (a root built FROM a public base image)" }],
        others: true,
    },
    { title: "a family that is its own parent", run: dev({ families: { cpu: { parent: "cpu" } } }), problems: [{ path: "families.cpu.parent", message: 'family "cpu" is its own parent', fix: "remove parent or name another family" }] },
    { title: "a misspelt parent, with a suggestion", run: dev({ families: { habitat: { parent: "nightli" } } }), problems: [{ path: "families.habitat.parent", message: '"nightli" is not a family (did you mean "nightly"?)', fix: "name one of: base, nightly, stable, habitat, cpu" }] },
    { title: "a missing parent with no near name", run: dev({ families: { habitat: { parent: "torchrl" } } }), problems: [{ path: "families.habitat.parent", message: '"torchrl" is not a family', fix: "name one of: base, nightly, stable, habitat, cpu" }] },
    { title: "a GPU child of a CPU-only parent", run: dev({ families: { habitat: { parent: "cpu" } } }), problems: [{ path: "families.habitat.parent", message: '"habitat" is a GPU family but its parent "cpu" is cpuOnly', fix: "parent and child must both be cpuOnly or both GPU" }] },
    {
        title: "a family name ECR would reject",
        run: dev({ families: { Nightly_GPU: { parent: "base", dockerfile: "docker/nightly/Dockerfile" } } }),
        problems: [{ path: "families.Nightly_GPU", message: '"Nightly_GPU" is not a valid image family name (ECR would reject the repository name)', fix: 'use lowercase letters and digits separated by ".", "_" or "-", e.g. "nightly"' }],
    },
    { title: "a build arg the program computes", run: dev({ families: { base: { buildArgs: { CUDA_VERSION: "12.4.1" } } } }), problems: [{ path: "families.base.buildArgs.CUDA_VERSION", message: "CUDA_VERSION is computed by the program (matrix cell / parent) and cannot be set", fix: "remove it; use mlci:matrix or the family's parent instead" }] },

    // Matrix restrictions.
    { title: "a CUDA restriction outside the matrix", run: dev({ families: { habitat: { matrix: { cuda: ["12.4.1"] } } } }), problems: [{ path: "families.habitat.matrix.cuda", message: "CUDA 12.4.1 is not in mlci:matrix.cuda (13.2.1)", fix: "add it to mlci:matrix.cuda or remove it from the family's restriction" }] },
    { title: "a Python restriction outside the matrix", run: dev({ families: { habitat: { matrix: { python: ["3.11"] } } } }), problems: [{ path: "families.habitat.matrix.python", message: "Python 3.11 is not in mlci:matrix.python (3.12, 3.13)", fix: "add it to mlci:matrix.python or remove it from the family's restriction" }] },
    { title: "a child cell its parent lacks", run: dev({ families: { nightly: { matrix: { python: ["3.13"] } } } }), problems: [{ path: "families.habitat.matrix", message: 'cells cuda13.2-py3.12 are not built for parent "nightly"', fix: MATRIX_PARENT_FIX("habitat") }] },
    { title: "a child cell its parent lacks (prod, CUDA axis)", run: prod({ families: { nightly: { matrix: { cuda: ["13.0.2"] } } } }), problems: [{ path: "families.habitat.matrix", message: 'cells cuda13.2-py3.12 are not built for parent "nightly"', fix: MATRIX_PARENT_FIX("habitat") }] },
    { title: "a CUDA restriction on a CPU-only family", run: dev({ families: { cpu: { matrix: { cuda: ["13.2.1"] } } } }), problems: [{ path: "families.cpu.matrix.cuda", message: "a cpuOnly family has no CUDA versions", fix: "remove matrix.cuda or cpuOnly" }] },

    // Retention.
    { title: "zero hash builds kept", run: dev({ registry: { retention: { keepHashBuilds: 0 } } }), problems: [{ path: "registry.retention.keepHashBuilds", message: "must be at least 1 (images)" }] },
    { title: "negative dated-tag days", run: dev({ registry: { retention: { datedTagDays: -7 } } }), problems: [{ path: "registry.retention.datedTagDays", message: "must be at least 1 (days)" }] },
    { title: "fractional untagged days", run: dev({ registry: { retention: { untaggedDays: 1.5 } } }), problems: [{ path: "registry.retention.untaggedDays", message: "must be a whole number (days)" }] },
    { title: "a quoted retention count", run: dev({ registry: { retention: { keepHashBuilds: "10" } } }), problems: [{ path: "registry.retention.keepHashBuilds", message: "must be a whole number (images)" }] },
    {
        title: "keepHashBuilds below a family's cell count (dev)",
        run: dev({ registry: { retention: { keepHashBuilds: 1 } } }),
        problems: ["base", "nightly", "stable", "cpu"].map((f) => ({ path: "registry.retention.keepHashBuilds", message: `1 is fewer than the 2 matrix cells of family "${f}"`, fix: "set it to at least 2" })),
    },
    {
        title: "keepHashBuilds below a family's cell count (prod)",
        run: prod({ registry: { retention: { keepHashBuilds: 3 } } }),
        problems: ["base", "nightly", "stable"].map((f) => ({ path: "registry.retention.keepHashBuilds", message: `3 is fewer than the 4 matrix cells of family "${f}"`, fix: "set it to at least 4" })),
    },
    { title: "keepHashBuilds as large as the keep rules' count", run: dev({ registry: { retention: { keepHashBuilds: 10000 } } }), problems: [{ path: "registry.retention.keepHashBuilds", message: "10000 is not below 9999, the count the keep rules use", fix: "set it below 9999" }] },
    {
        title: "a protected pattern that keeps every -latest alias forever",
        run: prod({ registry: { retention: { protectedTagPatterns: ["release-*", "*-latest"] } } }),
        problems: [{ path: "registry.retention.protectedTagPatterns[1]", message: '"*-latest" also matches the generated tag "cuda12.4-py3.11-latest", so every build would be kept forever', fix: GENERATED_TAGS_FIX }],
    },
    { title: "a protected pattern with more wildcards than ECR allows", run: dev({ registry: { retention: { protectedTagPatterns: ["a*b*c*d*e*f"] } } }), problems: [{ path: "registry.retention.protectedTagPatterns[0]", message: '"a*b*c*d*e*f" has 5 wildcards; ECR allows at most 4 per pattern', fix: 'use at most 4 "*"' }] },

    // GitHub targets.
    { title: "GitHub enabled without an owner", run: { ...dev({ github: { enabled: true, owner: undefined, repositories: [{ name: "rl" }] } }), ...PROD }, problems: [{ path: "github.owner", message: "is required when github.enabled is true", fix: "set the GitHub organization or user that owns the repositories, or set github.enabled: false" }], others: true /* the workflow repository then lacks its wiring (#27 seam 4) */ },
    { title: "GitHub enabled without repositories", run: { ...dev({ github: { enabled: true, owner: "pytorch", repositories: [] } }), ...PROD }, problems: [{ path: "github.repositories", message: "is empty while github.enabled is true", fix: "list the repositories to write Actions variables to, or set github.enabled: false" }], others: true /* the workflow repository then lacks its wiring (#27 seam 4) */ },
    { title: "a GitHub owner that is not a user or organization name", run: dev({ github: { enabled: true, owner: "-py torch", repositories: [{ name: "rl" }] } }), problems: [{ path: "github.owner", message: "must be a GitHub user or organization name" }] },
    { title: "a GitHub repository given as owner/name", run: prod({ github: { repositories: [{ name: "pytorch/rl" }] } }), problems: [{ path: "github.repositories[0].name", message: "must be a repository name without the owner" }] },
    { title: "a GitHub repository listed twice", run: prod({ github: { repositories: [{ name: "rl" }, { name: "rl" }] } }), problems: [{ path: "github.repositories[1]", message: 'repository "rl" is listed twice', fix: "remove the duplicate entry" }], others: true /* the workflow repository then lacks its wiring (#27 seam 4) */ },
    {
        title: "publishing the pipeline role ARN without a pipeline role",
        run: prod({ access: { pipeline: { enabled: false }, preview: { enabled: false } } }),
        problems: [{ path: "github.secretRoleArn", message: "needs access.pipeline.enabled (there is no pipeline role to publish)", fix: "enable access.pipeline or set github.secretRoleArn: false" }],
    },

    // Access subjects and roles.
    { title: "a pipeline role no workflow could assume", run: dev({ access: { pipeline: { subjects: [] } } }), problems: [{ path: "access.pipeline.subjects", message: "is empty, so no workflow could assume the pipeline role", fix: 'add e.g. { repo: "pytorch/rl", branches: ["main"] }' }], others: true /* the workflow repository then lacks its wiring (#27 seam 4) */ },
    { title: "a wildcard subject repository", run: dev({ access: { pipeline: { subjects: [{ repo: "pytorch/*", branches: ["main"] }] } } }), problems: [{ path: "access.pipeline.subjects[0].repo", message: '"pytorch/*" is a wildcard, which would trust other repositories\' workflows', fix: 'name one repository, e.g. "pytorch/rl"' }], others: true /* the workflow repository then lacks its wiring (#27 seam 4) */ },
    { title: "a subject repository given as a URL", run: dev({ access: { pipeline: { subjects: [{ repo: "https://github.com/pytorch/rl", branches: ["main"] }] } } }), problems: [{ path: "access.pipeline.subjects[0].repo", message: '"https://github.com/pytorch/rl" is not "owner/name"', fix: 'use e.g. "pytorch/rl", without "https://github.com/" or ".git"' }], others: true /* the workflow repository then lacks its wiring (#27 seam 4) */ },
    { title: "a subject that trusts nothing", run: dev({ access: { pipeline: { subjects: [{ repo: "pytorch/rl" }] } } }), problems: [{ path: "access.pipeline.subjects[0]", message: "has no branches, environments or pullRequests, so it would trust nothing", fix: 'add branches: ["main"] or environments: ["prod"]' }], others: true /* the workflow repository then lacks its wiring (#27 seam 4) */ },
    { title: "a subject trusting every branch", run: dev({ access: { pipeline: { subjects: [{ repo: "pytorch/rl", branches: ["*"] }] } } }), problems: [{ path: "access.pipeline.subjects[0].branches[0]", message: '"*" matches every branch', fix: 'name one, e.g. "main", or a narrower pattern such as "release/*"' }], others: true /* the workflow repository then lacks its wiring (#27 seam 4) */ },
    { title: "a subject branch given as a full ref", run: dev({ access: { pipeline: { subjects: [{ repo: "pytorch/rl", branches: ["refs/heads/main"] }] } } }), problems: [{ path: "access.pipeline.subjects[0].branches[0]", message: '"refs/heads/main" is a full ref', fix: 'give the branch name only, e.g. "main"' }], others: true /* the workflow repository then lacks its wiring (#27 seam 4) */ },
    {
        title: "a runner pull policy attached to nothing",
        run: dev({ access: { runner: { createRole: false, existingRoleNames: [] } } }),
        problems: [{ path: "access.runner", message: "createRole is false and existingRoleNames is empty, so the pull policy would be attached to nothing", fix: "set createRole: true or list the runner role names" }],
    },
    { title: "a runner role given as an ARN", run: dev({ access: { runner: { existingRoleNames: ["arn:aws:iam::123456789012:role/gh-runner"] } } }), problems: [{ path: "access.runner.existingRoleNames[0]", message: "must be an IAM role name" }] },
    { title: "an OIDC provider that is not GitHub's", run: dev({ access: { pipeline: { oidcProviderArn: "arn:aws:iam::123456789012:oidc-provider/gitlab.com" } } }), problems: [{ path: "access.pipeline.oidcProviderArn", message: "must be the ARN of the token.actions.githubusercontent.com OIDC provider" }] },

    // Registry.
    {
        title: "a pull-through cache without credentials",
        run: dev({ registry: { pullThroughCache: { credentialSecretArn: undefined } } }),
        problems: [{ path: "registry.pullThroughCache", message: "a Docker Hub pull-through cache needs credentials, and registry.pullThroughCache.dockerHubUsername and the secret mlci:dockerHubAccessToken are not set", fix: PTC_REGISTRY_FIX }],
    },
    {
        title: "a pull-through cache with a Docker Hub user but no token",
        run: dev({ registry: { pullThroughCache: { credentialSecretArn: undefined, dockerHubUsername: "mlci-bot" } } }),
        problems: [{ path: "registry.pullThroughCache", message: "a Docker Hub pull-through cache needs credentials, and the secret mlci:dockerHubAccessToken is not set", fix: PTC_REGISTRY_FIX }],
    },
    {
        title: "a credential secret ECR would refuse",
        run: dev({ registry: { pullThroughCache: { credentialSecretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:docker-hub" } } }),
        problems: [{ path: "registry.pullThroughCache.credentialSecretArn", message: 'must be the ARN of a Secrets Manager secret whose name starts with "ecr-pullthroughcache/"' }],
    },
    { title: "a KMS key that is not an ARN", run: dev({ registry: { encryption: { type: "KMS", kmsKeyArn: "alias/ml-ci" } } }), problems: [{ path: "registry.encryption.kmsKeyArn", message: "must be a KMS key ARN" }] },

    // Dockerfiles and contexts.
    {
        title: "a Dockerfile that COPYs from outside its context",
        run: dev({ families: { x: { cpuOnly: true, dockerfile: "test/fixtures-docker/escape/Dockerfile" } } }),
        problems: [
            {
                path: "families.x.dockerfile",
                message: 'test/fixtures-docker/escape/Dockerfile:4 COPY "../../../package.json" reaches outside the build context "test/fixtures-docker/escape"',
                fix: "move the file into test/fixtures-docker/escape/ and commit it there (never copy it in with a script: untracked context files break content-hash tags), or set mlci:families.x.context to a directory that contains it",
            },
        ],
    },
    {
        title: "a Dockerfile that COPYs a file .dockerignore excludes",
        run: dev({ families: { x: { cpuOnly: true, dockerfile: "test/fixtures-docker/excluded/Dockerfile" } } }),
        problems: [
            {
                path: "families.x.dockerfile",
                message: 'test/fixtures-docker/excluded/Dockerfile:5 COPY "NOTES.md" matches no file the build context "test/fixtures-docker/excluded" sends (missing, or excluded by .dockerignore)',
                fix: "add the file to test/fixtures-docker/excluded/ or stop excluding it in .dockerignore",
            },
        ],
    },
    {
        title: "a Dockerfile outside the project",
        run: dev({ families: { x: { cpuOnly: true, dockerfile: "../elsewhere/Dockerfile" } } }),
        problems: [
            { path: "families.x.dockerfile", message: '"../elsewhere/Dockerfile" is outside the project', fix: OUTSIDE_FIX },
            { path: "families.x.context", message: '"../elsewhere" is outside the project', fix: OUTSIDE_FIX },
        ],
    },
    {
        title: "an absolute Dockerfile path",
        run: dev({ families: { x: { cpuOnly: true, dockerfile: "/etc/Dockerfile" } } }),
        problems: [
            { path: "families.x.dockerfile", message: '"/etc/Dockerfile" is outside the project', fix: OUTSIDE_FIX },
            { path: "families.x.context", message: '"/etc" is outside the project', fix: OUTSIDE_FIX },
        ],
    },
    { title: "a build context above the project", run: dev({ families: { x: { cpuOnly: true, dockerfile: "test/fixtures-docker/ok/Dockerfile", context: ".." } } }), problems: [{ path: "families.x.context", message: '".." is outside the project', fix: OUTSIDE_FIX }] },
    {
        title: "a missing Dockerfile",
        run: dev({ families: { x: { cpuOnly: true, dockerfile: "test/fixtures-docker/ok/Dockerfile.gpu" } } }),
        problems: [{ path: "families.x.dockerfile", message: 'Dockerfile "test/fixtures-docker/ok/Dockerfile.gpu" does not exist', fix: "create it, or set mlci:families.x.dockerfile to an existing Dockerfile" }],
    },

    // Build settings.
    {
        title: "a forced rebuild of an image the stack lacks",
        run: dev({ build: { forceRebuild: ["nightly-cuda13.0-py3.12"] } }),
        problems: [{ path: "build.forceRebuild[0]", message: '"nightly-cuda13.0-py3.12" is not an image of this stack (did you mean "nightly-cuda13.2-py3.12"?)', fix: "name an image from `npx ci-images tags`, or use true for all" }],
    },
    { title: "a rebuild epoch that is no calendar date", run: dev({ build: { rebuildEpoch: "2026-02-30" } }), problems: [{ path: "build.rebuildEpoch", message: "is not a real calendar date" }] },

    // The local backend has no cloud account.
    { title: "runner access with the local registry", run: local({ access: { runner: { enabled: true } } }), problems: [{ path: "access.runner.enabled", message: "must be false with registry.backend local (no cloud account)", fix: "set mlci:access.runner.enabled to false" }] },
    { title: "pipeline access with the local registry", run: local({ access: { pipeline: { enabled: true, subjects: [{ repo: "pytorch/rl", branches: ["main"] }] } } }), problems: [{ path: "access.pipeline.enabled", message: "must be false with registry.backend local (no cloud account)", fix: "set mlci:access.pipeline.enabled to false" }] },
    {
        title: "GitHub wiring with the local registry",
        run: local({ github: { enabled: true, owner: "pytorch", repositories: [{ name: "rl" }], secretRoleArn: false } }),
        problems: [{ path: "github.enabled", message: "must be false with registry.backend local (no cloud account)", fix: "set mlci:github.enabled to false" }],
    },
];

describe("bad stack configs fail with the config path and the fix, before any resource", function () {
    this.timeout(60_000);

    it("the corpus is large enough to mean something", () => {
        assert.ok(cases.length >= 25, `${cases.length} cases`);
        assert.equal(new Set(cases.map((c) => c.title)).size, cases.length, "case titles are unique");
    });

    for (const c of cases) {
        it(`rejects ${c.title}`, async () => {
            const { error, resources } = await runProgramExpectingError(c.run);
            assert.equal(error.name, "ConfigError", `expected a ConfigError, got ${error.stack}`);
            const lines = problemLines(error.message);
            const expected = c.problems.map(line);
            if (c.others) {
                for (const e of expected) assert.ok(lines.includes(e), `missing problem:\n  ${e}\nlisted:\n  ${lines.join("\n  ")}`);
            } else {
                assert.deepEqual([...lines].sort(), [...expected].sort());
            }
            assert.deepEqual(resources.map((r) => r.urn), [], "no resource may be registered before the config is valid");
        });
    }

    it("lists every problem of every section at once", async () => {
        const { error, resources } = await runProgramExpectingError(
            dev({
                matrix: { python: ["3.10", "3.x"] },
                families: { habitat: { parent: "nightli" } },
                registry: { retention: { keepHashBuilds: 0 } },
                access: { pipeline: { subjects: [] } },
            }),
        );
        const paths = problemLines(error.message).map((l) => /^config mlci:([^:]+):/.exec(l)?.[1]);
        // Cross-key checks (access) run only once every section parses.
        assert.deepEqual(paths.sort(), ["families.habitat.parent", "matrix.python[1]", "registry.retention.keepHashBuilds"]);
        assert.deepEqual(resources, []);
    });

    it("GitHub wiring without GITHUB_TOKEN fails before any resource, naming where the token comes from", async () => {
        const { error, resources } = await runProgramExpectingError({ stack: "prod", githubToken: null, env: { GITHUB_TOKEN: undefined } });
        assert.deepEqual(problemLines(error.message), [
            "config mlci:github.enabled: is true but the GITHUB_TOKEN environment variable is not set (the GitHub provider reads its token from there). " +
                "Fix: export GITHUB_TOKEN=<a GitHub App installation token with Actions variables, secrets and environments write> (the weekly workflow mints one with actions/create-github-app-token), or set mlci:github.enabled: false",
        ]);
        assert.deepEqual(resources, []);
    });

    it("reports a missing pull-through credential once", async () => {
        const { error } = await runProgramExpectingError(dev({ registry: { pullThroughCache: { credentialSecretArn: undefined } } }));
        const lines = problemLines(error.message).filter((l) => l.startsWith("config mlci:registry.pullThroughCache:"));
        assert.equal(lines.length, 1, lines.join("\n"));
    });
});

describe("Dockerfiles may live anywhere inside the project", function () {
    this.timeout(60_000);
    it("a family built from test/fixtures-docker/ok/ is accepted and built from there", async () => {
        const r = await runProgram(dev({ families: { x: { cpuOnly: true, dockerfile: "test/fixtures-docker/ok/Dockerfile" } } }));
        for (const name of ["x-py3.12", "x-py3.13"]) {
            const b = r.one("docker-build:index:Image", `${name}-build`);
            // Project-relative, as every build location (#14.11).
            assert.equal(b.inputs.dockerfile.location, "test/fixtures-docker/ok/Dockerfile", b.urn);
            assert.equal(b.inputs.context.location, "test/fixtures-docker/ok", b.urn);
        }
    });
});
