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

/** explain's and graph's revision (cli/revisionPlan.ts DEFAULT_SINCE). */
const SINCE_FLAG = { value: "<git-rev>", help: "revision to compare with; default HEAD (in a pull request: origin/<base>, or the base commit)" };

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
            online: { help: "also check that every cell's torch wheel, every base image tag and every pin of every cell's lock file exist (MLCI_PYTORCH_INDEX_URL, MLCI_PYTHON_INDEX_URL, MLCI_BASE_REGISTRY_URL override the defaults)" },
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
        name: "explain",
        summary: "why an image rebuilds: which hash inputs differ from a git revision's, and what that causes",
        args: "[<image>]",
        positionals: { min: 0, max: 1 },
        stack: "required",
        flags: { since: SINCE_FLAG },
        details: `Plans the stack at <git-rev> (git archive, no checkout change) and at the working tree with the
same code, and compares each image's hash inputs one by one: the context files added, removed or
modified (with the mode or size where it changed), the Dockerfile, build args, target, platforms,
the parent's tag, the rebuild epoch and the hash-scheme version (read from the revision's source).
An image whose only moved input is its parent's tag "rebuilds because its parent \`<parent>\` rebuilds".
Without <image>, every image that rebuilds is explained.

Exit codes: 0 explained (whether or not anything rebuilds); 1 invalid stack config; 2 usage, an
unknown image, or an unknown revision. In a shallow checkout (actions/checkout's default
fetch-depth: 1) older revisions do not exist: use fetch-depth: 0.

Examples:
  npx ci-images explain torch-cuda13.2-py3.12 --stack prod --since origin/main
  npx ci-images explain --stack prod --since origin/main --json | jq -r '.images[] | "\\(.name): \\(.reason)"'`,
        load: () => require("./commands/explain").run,
    },
    {
        name: "graph",
        summary: "the image DAG, each image unchanged / rebuilds (own input) / rebuilds (cascade), as mermaid, dot or json",
        stack: "required",
        flags: {
            since: SINCE_FLAG,
            format: { value: "<mermaid|dot|json>", help: "output format (required)" },
            "minutes-per-build": { value: "<N>", help: "minutes one build is assumed to take, for json's estimate; default 30" },
            "from-json": { value: "<file>", help: "draw the graph a `graph --format json` run wrote, without planning again (git is not read)" },
        },
        details: `The same comparison as explain, drawn: one node per image (parents above children), marked
unchanged, rebuilds (own input) or rebuilds (cascade), each rebuilding node with its one-line
reason. mermaid renders in GitHub comments and markdown; dot renders with Graphviz; json is
{ since, nodes: [{ name, parent, status, previousTag, tag, reason, changes }], edges: [{ from, to }],
estimate: { builds, waves, minutesPerBuild, minutes } }: the estimate is the build plan's critical
path (waves, lib/images/buildPlan.ts, within each builder's maxParallel) × --minutes-per-build.
--json is --format json. --from-json <file> redraws a saved json graph in another format (the PR
preview computes the graph once).

Exit codes: 0 printed; 1 invalid stack config; 2 usage, an unknown revision or an unreadable --from-json file.

Example:
  npx ci-images graph --stack prod --since origin/main --format mermaid > graph.mmd`,
        load: () => require("./commands/graph").run,
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
        flags: {
            registry: REGISTRY_FLAG,
            "max-age": { value: "<duration>", help: "exit 1 when the promoted <cell>-latest of a weekly-rebuilt image is older than this (e.g. 8d), or was never promoted" },
        },
        details: `One tags list per repository (needs ecr:ListImages on ECR, which the pipeline role has).
With --max-age, each weekly-rebuilt (dateRebuilt) image's promoted \`<cell>-latest\` must have been built
within that time: the alert for a weekly schedule that stopped (GitHub disables it after 60 days without
activity). Images of other families keep their build as long as their content does not change.

Exit codes: 0 the registry answered (and every promotion is within --max-age); 1 the registry failed or
refused, or a promotion is older than --max-age (each named on stderr); 2 usage.

Example:
  npx ci-images status --stack prod --max-age 8d`,
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
            fallback: { value: "latest", help: "when this checkout's build is not tested yet (one check, or after an explicit --timeout), print the promoted <cell>-latest ref with a warning on stderr" },
        },
        details: `Polls with manifest requests only (the runner pull role suffices) until the build of the image's
content hash carries its smoke-test marker, then prints only \`<repository>:<tag>@sha256:…\` on stdout.
With --fallback latest it checks once (or until an explicit --timeout) and, when this checkout's build is
not there, prints the promoted \`<cell>-latest\` pinned to its digest and warns on stderr.

Exit codes: 0 found (the ref on stdout), or fell back to -latest; 1 timeout, unknown image, nothing to fall
back to, or the registry refused; 2 usage.

Example:
  ref="$(npx ci-images wait nightly-cuda13.0-py3.12 --stack prod --timeout 90m)"
  ref="$(npx ci-images wait nightly-cuda13.0-py3.12 --stack prod --fallback latest)"`,
        load: () => require("./commands/wait").run,
    },
    {
        name: "uri",
        summary: "the digest-pinned ref of an image from `pulumi stack output --json` or CI_IMAGES_JSON",
        args: "<image>",
        positionals: { min: 1, max: 1 },
        stack: "none",
        flags: { from: { value: "<file>", help: "the saved `pulumi stack output --json`, or the CI_IMAGES_JSON variable's value; default: stdin" } },
        details: `Reads either the stack outputs or the value of the CI_IMAGES_JSON Actions variable the program
publishes ({"<image>": "<repository>:<tag>@sha256:…"}, one per repository or environment).

Exit codes: 0 printed; 1 the file is missing or not stack outputs / CI_IMAGES_JSON, or the image is not in it; 2 usage.

Example:
  pulumi stack output --json > outputs.json && npx ci-images uri nightly-cuda13.0-py3.12 --from outputs.json
  printf '%s' "$CI_IMAGES_JSON" | npx ci-images uri nightly-cuda13.0-py3.12`,
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
            measure: { help: "measure the registry: each repository's distinct blobs (what it stores), and the sizes and shared layers the forecast then uses" },
            "write-measurements": { value: "<file>", help: "with --measure: record the measured sizes as JSON; `check` reads storage-measurements/<stack>.json" },
            registry: REGISTRY_FLAG,
        },
        details: `With --measure, reads every tag's manifest of each family repository (the pipeline role's
ecr:ListImages and ecr:BatchGetImage) and prints what each repository stores: its distinct blobs,
each counted once, as ECR stores and bills them.

Exit codes: 0 within mlci:registry.storageBudgetGb (or no budget); 1 over the budget; 2 usage.
See docs/scaling.md.`,
        load: () => require("./commands/storage").run,
    },
    {
        name: "disk",
        summary: "the disk one run needs on the machine that builds (size budgets × the build plan)",
        stack: "required",
        flags: { "free-gb": { value: "<GB>", help: "exit 1 when the machine has less than the run needs" } },
        details: `Worst case, every image built: the largest wave of the build plan, its builds on this machine
(uncompressed: a multiple of the compressed size budget) and its smoke-test pulls, plus the BuildKit
cache the gc policy keeps and the checkout (lib/images/runnerDisk.ts, docs/pipelines.md "Runner disk").

Exit codes: 0 printed (and enough with --free-gb); 1 less free than needed, or invalid stack config; 2 usage.

Example:
  npx ci-images disk --stack prod --free-gb "$(df --output=avail -BG /mnt | tail -1 | tr -dc 0-9)"`,
        load: () => require("./commands/disk").run,
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
