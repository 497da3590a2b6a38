/**
 * Every `ci-images` command: its usage, flags and help text, and a loader for its implementation.
 * Implementations are required only when their command runs, so `--help`, `--version` and the
 * light commands start without loading the rest (docs/benchmarks.md, CLI start-up).
 */
import type { CommandSpec } from "./context";

/** Flags every command accepts (besides its own). */
export const GLOBAL_FLAGS: CommandSpec["flags"] = {
    stack: { value: "<stack>", help: "stack to read (Pulumi.<stack>.yaml); default: $PULUMI_STACK, else the stack `pulumi stack select` chose" },
    root: { value: "<dir>", help: "project root; default: the directory holding Pulumi.yaml, at or above the working directory" },
    json: { help: "machine-readable output on stdout (errors too: {\"error\": …})" },
    help: { help: "this help (also -h)" },
};

const REGISTRY_FLAG = { value: "<host>", help: "registry host; default: $CI_IMAGES_REGISTRY, else the stack's (localhost:<port>, or the caller's ECR registry)" };

/** The commands, in the order the global usage lists them. */
export const COMMANDS: CommandSpec[] = [
    {
        name: "tags",
        summary: "every image: name, repository, content-hash tag, aliases, parent (offline)",
        stack: "required",
        flags: {},
        details: `Computes the image graph and the content-hash tags exactly as \`pulumi up\` does, from the
checkout alone (no registry, no cloud account). Parents come before their children.

Exit codes: 0 ok; 1 invalid stack config; 2 usage.

Example:
  npx ci-images tags --stack prod --json | jq -r '.images[] | "\\(.name) \\(.repository):\\(.tag)"'`,
        load: () => require("./commands/tags").run,
    },
    {
        name: "check",
        summary: "validate the stack config and the Dockerfiles; --online: wheels and base images exist",
        stack: "required",
        flags: {
            online: { help: "also check that every cell's torch wheel and every base image tag exist (MLCI_PYTORCH_INDEX_URL, MLCI_BASE_REGISTRY_URL override the defaults)" },
            since: { value: "<git-rev>", help: "also refuse turning registry.protect on in the same change that deletes or replaces repositories since <git-rev> (protect is read from the state)" },
        },
        details: `Runs the program's validation (the same messages \`pulumi preview\` fails with), the Dockerfile
checks with the args the program passes, and the storage budget (mlci:registry.storageBudgetGb).

Exit codes: 0 valid; 1 problems (each names the config key and the fix); 2 usage.`,
        load: () => require("./commands/check").run,
    },
    {
        name: "changed",
        summary: "images whose tag differs from a git revision's (what the next `pulumi up` rebuilds)",
        stack: "required",
        flags: { since: { value: "<git-rev>", help: "revision to compare with (required), e.g. origin/main" } },
        details: `Plans the stack at <git-rev> (git archive, no checkout change) and at the working tree, and
lists the images whose content-hash tag moved, or that are new.

Exit codes (as \`git diff --exit-code\`): 0 no image changes; 1 images change (listed on stdout);
2 usage, or an unknown revision. In a shallow checkout (actions/checkout's default fetch-depth: 1)
older revisions do not exist: use fetch-depth: 0.`,
        load: () => require("./commands/changed").run,
    },
    {
        name: "bake",
        summary: "a `docker buildx bake` file (JSON) for the whole graph, as the program builds it",
        stack: "required",
        flags: {
            registry: REGISTRY_FLAG,
            output: { value: "<file>", help: "write the file there instead of stdout" },
        },
        details: `One target per image: context, Dockerfile, args, platforms, the content-hash tag, labels and the
registry cache refs the program uses. Children get their parent through BASE_IMAGE and bake's
\`contexts\` (target:<parent>), so \`docker buildx bake -f <file>\` builds the whole graph in order.

Exit codes: 0 written; 1 invalid stack config or no registry; 2 usage.

Example:
  npx ci-images bake --stack local --output images.bake.json && docker buildx bake -f images.bake.json`,
        load: () => require("./commands/bake").run,
    },
    {
        name: "publish",
        summary: "build, smoke-test and push only the images the registry lacks, parents first",
        args: "[<image>...]",
        positionals: { min: 0, max: Number.MAX_SAFE_INTEGER },
        stack: "required",
        flags: {
            registry: REGISTRY_FLAG,
            "dry-run": { help: "print what would be built and skipped; build nothing" },
            "no-smoke-test": { help: "skip docker/test_image.sh (the build is then NOT marked tested, and `pulumi up` rebuilds it)" },
        },
        details: `For each image (the named ones and their ancestors, or all): when the registry already holds a
tested build of its content hash (the smoke-test marker on the same digest), it is skipped; otherwise it
is built (docker buildx bake where buildx exists, else DOCKER_BUILDKIT=1 docker build --network host),
pushed under its content-hash tag, smoke-tested by digest and marked tested. \`-latest\` and the dated tag
are never moved: the next \`pulumi up\` adopts what publish pushed and promotes it.

Exit codes: 0 every image is in the registry, tested; 1 a build, push or smoke test failed (the images
built before it stay pushed); 2 usage.`,
        load: () => require("./commands/publish").run,
    },
    {
        name: "status",
        summary: "per image: expected tag, in the registry or not, digest, age, tested, -latest",
        stack: "required",
        flags: { registry: REGISTRY_FLAG },
        details: `One tags list per repository (needs ecr:ListImages on ECR, which the pipeline role has).

Exit codes: 0 the registry answered; 1 the registry failed or refused; 2 usage.`,
        load: () => require("./commands/status").run,
    },
    {
        name: "wait",
        summary: "wait until an image's tested build is in the registry; print its digest-pinned ref",
        args: "<image>",
        positionals: { min: 1, max: 1 },
        stack: "required",
        flags: {
            registry: REGISTRY_FLAG,
            timeout: { value: "<duration>", help: "give up after this long (e.g. 90m, 2h); default 90m" },
            interval: { value: "<duration>", help: "time between polls; default 30s" },
        },
        details: `Polls with manifest requests only (the runner pull role suffices) until the build of the image's
content hash carries its smoke-test marker, then prints only \`<repository>:<tag>@sha256:…\` on stdout.

Exit codes: 0 found (the ref on stdout); 1 timeout, unknown image, or the registry refused; 2 usage.

Example:
  ref="$(npx ci-images wait nightly-cuda13.0-py3.12 --stack prod --timeout 90m)"`,
        load: () => require("./commands/wait").run,
    },
    {
        name: "uri",
        summary: "the digest-pinned ref of an image from `pulumi stack output --json`",
        args: "<image>",
        positionals: { min: 1, max: 1 },
        stack: "none",
        flags: { from: { value: "<file>", help: "the saved `pulumi stack output --json`; default: stdin" } },
        details: `Exit codes: 0 printed; 1 the file is missing or not stack outputs, or the image is not in it; 2 usage.

Example:
  pulumi stack output --json > outputs.json && npx ci-images uri nightly-cuda13.0-py3.12 --from outputs.json`,
        load: () => require("./commands/uri").run,
    },
    {
        name: "github-import",
        summary: "a `pulumi import --file` for GitHub Actions variables that already exist (create answers 409)",
        stack: "required",
        flags: { variables: { value: "<names>", help: "comma-separated variable names to import (those the failed `up` reported with 409); default: every variable the stack writes" } },
        details: `Creating a repository or environment Actions variable that someone already set fails with 409
(terraform-provider-github v6.13 does not upsert). Prints the Pulumi import file (stdout) that adopts them under the
names, parent and provider the program uses. Run it after the first \`up\` failed (it created the component and
its provider), then \`up\` again.

Exit codes: 0 printed; 1 invalid stack config; 2 usage.

Example:
  npx ci-images github-import --stack prod --variables CI_IMAGES_REGISTRY > import.json
  npx pulumi import --file import.json --stack prod --protect=false --yes && npx pulumi up --stack prod`,
        load: () => require("./commands/githubImport").run,
    },
    {
        name: "storage",
        summary: "storage and cost forecast per repository (replays the lifecycle policy)",
        stack: "required",
        flags: {
            weeks: { value: "<N>", help: "weeks to replay (at least 5); default: until the steady state" },
            from: { value: "<file>", help: "`pulumi stack output --json` with measured image sizes" },
        },
        details: `Exit codes: 0 within mlci:registry.storageBudgetGb (or no budget); 1 over the budget; 2 usage.
See docs/scaling.md.`,
        load: () => require("./commands/storage").run,
    },
    {
        name: "retag",
        summary: "put tags on a manifest without changing its digest (used by the promotion)",
        args: "<repository-url>@<digest> <tag>...",
        positionals: { min: 2, max: Number.MAX_SAFE_INTEGER },
        stack: "none",
        flags: {},
        details: `Auth: MLCI_REGISTRY_AUTH=user:password (ECR: AWS:<token>); empty or unset for none.

Exit codes: 0 every tag points at the digest; 1 the registry refused (its error on stderr); 2 usage.`,
        load: () => require("./commands/retag").run,
    },
    {
        name: "scan-gate",
        summary: "wait for ECR's scan of digests; refuse promotion on findings at or above a severity",
        args: "<repository-url>@<digest>...",
        positionals: { min: 1, max: Number.MAX_SAFE_INTEGER },
        stack: "optional",
        flags: {
            "max-severity": { value: "<severity>", help: "block at or above it; default: mlci:promotion.maxSeverity, else CRITICAL" },
            timeout: { value: "<duration>", help: "default 30m" },
            interval: { value: "<duration>", help: "default 15s" },
            settle: { value: "<duration>", help: "default 20s" },
        },
        details: `The allowlist comes from the stack's mlci:promotion (when a stack is given or selected).

Exit codes: 0 every digest passed; 1 blocked or no verdict (the CVEs are named); 2 usage.`,
        load: () => require("./commands/scanGate").run,
    },
];
