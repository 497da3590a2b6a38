#!/usr/bin/env bash
# Smoke-tests one CI image: runs a probe inside it with `docker run --rm` and checks
#   - the venv's Python is the pyX.Y of the image name/tag,
#   - torch imports (every family but base); nightly/habitat: a dev build; stable/cpu: equals
#     TORCH_VERSION when given; GPU cells (cudaX.Y in the name): torch.version.cuda is X.Y;
#     cpu: a CPU-only build; with --gpu: torch.cuda.is_available(),
#   - the family's key test dependencies import (or the --imports list),
#   - the image size is within the budget (default 10 GB).
# Prints one PASS/FAIL line per check and exits 1 if any check fails (2 on usage errors).
#
# Usage: test_image.sh IMAGE [--gpu] [--size-budget-gb N] [--imports a,b,c]
#                            [--torch-version V] [--family F] [--python X.Y] [--cuda X.Y]
# IMAGE may be repo:tag, repo:tag@sha256:... or repo@sha256:...; family and cell come from
# the repository's last path segment (<prefix>/<family>) and the tag (cuda12.4-py3.11-...).
# Environment: IMAGE_SIZE_BUDGET_GB (default 10), TORCH_VERSION, DOCKER (default docker).
set -euo pipefail

usage() {
    sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

image=""
gpu=0
budget_gb="${IMAGE_SIZE_BUDGET_GB:-10}"
imports=""
imports_given=0
torch_version="${TORCH_VERSION:-}"
family=""
python_expected=""
cuda_expected=""
docker_bin="${DOCKER:-docker}"

while [[ $# -gt 0 ]]; do
    case "$1" in
        --gpu) gpu=1 ;;
        --size-budget-gb) budget_gb="${2:?--size-budget-gb needs a value}"; shift ;;
        --size-budget-gb=*) budget_gb="${1#*=}" ;;
        --imports) imports="${2?--imports needs a value}"; imports_given=1; shift ;;
        --imports=*) imports="${1#*=}"; imports_given=1 ;;
        --torch-version) torch_version="${2:?--torch-version needs a value}"; shift ;;
        --torch-version=*) torch_version="${1#*=}" ;;
        --family) family="${2:?--family needs a value}"; shift ;;
        --family=*) family="${1#*=}" ;;
        --python) python_expected="${2:?--python needs a value}"; shift ;;
        --python=*) python_expected="${1#*=}" ;;
        --cuda) cuda_expected="${2:?--cuda needs a value}"; shift ;;
        --cuda=*) cuda_expected="${1#*=}" ;;
        -h|--help) usage ;;
        -*) echo "unknown option: $1" >&2; usage ;;
        *)
            if [[ -n "$image" ]]; then echo "only one IMAGE may be given" >&2; usage; fi
            image="$1" ;;
    esac
    shift
done
[[ -n "$image" ]] || usage
if ! [[ "$budget_gb" =~ ^[0-9]+([.][0-9]+)?$ ]]; then
    echo "size budget must be a number of GB, got '$budget_gb'" >&2
    exit 2
fi

# --- what the image should be, from its name -------------------------------------------
name="${image%%@*}"              # drop @sha256:...
last_segment="${name##*/}"
if [[ "$last_segment" == *:* ]]; then
    repository="${name%:*}"
    tag="${last_segment#*:}"
else
    repository="$name"
    tag=""
fi
repo_family="${repository##*/}"

known_families="base nightly stable habitat cpu"
if [[ -z "$family" ]]; then
    if [[ " $known_families " == *" $repo_family "* ]]; then
        family="$repo_family"
    elif [[ "$tag" =~ ^(base|nightly|stable|habitat|cpu)- ]]; then
        family="${BASH_REMATCH[1]}"     # single-repository naming: <family>-cuda12.4-py3.11-...
    else
        family="unknown"
    fi
fi

cell_source="${tag:-$name}"
if [[ -z "$python_expected" && "$cell_source" =~ (^|[^a-z])py([0-9]+[.][0-9]+) ]]; then
    python_expected="${BASH_REMATCH[2]}"
fi
if [[ -z "$cuda_expected" && "$cell_source" =~ (^|[^a-z])cuda([0-9]+[.][0-9]+) ]]; then
    cuda_expected="${BASH_REMATCH[2]}"
fi

if [[ "$imports_given" -eq 0 ]]; then
    case "$family" in
        base) imports="" ;;
        nightly|stable|cpu) imports="torchvision,tensordict,gymnasium,mujoco,dm_control,pytest,xdist,hydra" ;;
        habitat) imports="tensordict,habitat_sim,habitat" ;;
        *) imports="" ;;
    esac
fi
check_torch=1
[[ "$family" == "base" ]] && check_torch=0

passed=0
failed=0
pass() { echo "PASS $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }

echo "image: $image (family $family, python ${python_expected:-?}, cuda ${cuda_expected:-none})"

# --- size -----------------------------------------------------------------------------
size_bytes=""
if ! size_bytes="$("$docker_bin" image inspect --format '{{.Size}}' "$image" 2>/dev/null)"; then
    if "$docker_bin" pull "$image" >/dev/null; then
        size_bytes="$("$docker_bin" image inspect --format '{{.Size}}' "$image" 2>/dev/null || true)"
    fi
fi
if [[ "$size_bytes" =~ ^[0-9]+$ ]]; then
    size_gb="$(awk -v b="$size_bytes" 'BEGIN { printf "%.2f", b / 1e9 }')"
    if awk -v b="$size_bytes" -v g="$budget_gb" 'BEGIN { exit !(b <= g * 1e9) }'; then
        pass "size: ${size_gb} GB <= budget ${budget_gb} GB"
    else
        fail "size: ${size_gb} GB > budget ${budget_gb} GB"
    fi
else
    fail "size: cannot inspect $image (not found locally and pull failed)"
    echo "SUMMARY: $passed passed, $failed failed"
    exit 1
fi

# --- probe inside the image -----------------------------------------------------------
# Lines of interest start with MLCI_PROBE (entrypoints such as nvidia's banner print too).
read -r -d '' probe <<'PY' || true
import importlib, sys
def out(key, value):
    print("MLCI_PROBE %s=%s" % (key, str(value).replace("\n", " ")), flush=True)
out("python_version", "%d.%d" % sys.version_info[:2])
if sys.argv[2] == "1":
    try:
        import torch
        out("torch_version", torch.__version__)
        out("torch_cuda", torch.version.cuda)
        out("cuda_available", torch.cuda.is_available())
        if sys.argv[3] == "1" and torch.cuda.is_available():
            out("cuda_device", torch.cuda.get_device_name(0))
    except Exception as e:
        out("torch_error", "%s: %s" % (type(e).__name__, e))
for module in [m for m in sys.argv[1].split(",") if m]:
    try:
        importlib.import_module(module)
        out("import_ok", module)
    except Exception as e:
        out("import_fail", "%s: %s: %s" % (module, type(e).__name__, e))
PY

run_args=(run --rm)
[[ "$gpu" -eq 1 ]] && run_args+=(--gpus all)
probe_status=0
probe_output="$("$docker_bin" "${run_args[@]}" "$image" python -c "$probe" "$imports" "$check_torch" "$gpu" 2>&1)" || probe_status=$?

declare -A facts=()
import_lines=()
while IFS= read -r line; do
    [[ "$line" == MLCI_PROBE\ * ]] || continue
    kv="${line#MLCI_PROBE }"
    key="${kv%%=*}"
    value="${kv#*=}"
    case "$key" in
        import_ok|import_fail) import_lines+=("$key=$value") ;;
        *) facts[$key]="$value" ;;
    esac
done <<< "$probe_output"

if [[ -z "${facts[python_version]:-}" ]]; then
    fail "probe: could not run python in the image (docker run exit $probe_status): $(tail -n 3 <<< "$probe_output" | tr '\n' ' ')"
    echo "SUMMARY: $passed passed, $failed failed"
    exit 1
fi

# Python
if [[ -z "$python_expected" ]]; then
    fail "python: ${facts[python_version]} (no pyX.Y in the image name; pass --python X.Y)"
elif [[ "${facts[python_version]}" == "$python_expected" ]]; then
    pass "python: ${facts[python_version]} (expected $python_expected)"
else
    fail "python: ${facts[python_version]} (expected $python_expected)"
fi

# torch
if [[ "$check_torch" -eq 1 ]]; then
    if [[ -n "${facts[torch_error]:-}" || -z "${facts[torch_version]:-}" ]]; then
        fail "torch: import failed: ${facts[torch_error]:-no output}"
    else
        tv="${facts[torch_version]}"
        case "$family" in
            nightly|habitat)
                if [[ "$tv" == *dev* ]]; then pass "torch: $tv is a nightly (dev) build"
                else fail "torch: $tv is not a nightly (expected 'dev' in the version)"; fi ;;
            *)
                if [[ -z "$torch_version" ]]; then pass "torch: $tv imports (no expected version given)"
                elif [[ "${tv%%+*}" == "$torch_version" ]]; then pass "torch: $tv (expected $torch_version)"
                else fail "torch: $tv (expected $torch_version)"; fi ;;
        esac
        tc="${facts[torch_cuda]:-None}"
        if [[ -n "$cuda_expected" ]]; then
            tc_major_minor="$(cut -d. -f1,2 <<< "$tc")"
            if [[ "$tc_major_minor" == "$cuda_expected" ]]; then pass "cuda: torch.version.cuda=$tc (expected $cuda_expected)"
            else fail "cuda: torch.version.cuda=$tc (expected $cuda_expected)"; fi
        elif [[ "$family" == "cpu" ]]; then
            if [[ "$tc" == "None" ]]; then pass "cuda: CPU-only torch (torch.version.cuda=None)"
            else fail "cuda: torch.version.cuda=$tc in a CPU image (expected a CPU-only build)"; fi
        fi
        if [[ "$gpu" -eq 1 ]]; then
            if [[ "${facts[cuda_available]:-}" == "True" ]]; then pass "gpu: torch.cuda.is_available() on ${facts[cuda_device]:-a GPU}"
            else fail "gpu: torch.cuda.is_available() is ${facts[cuda_available]:-unknown} with --gpus all"; fi
        fi
    fi
fi

# imports
IFS=',' read -r -a wanted <<< "$imports"
for module in "${wanted[@]}"; do
    [[ -n "$module" ]] || continue
    result=""
    for entry in "${import_lines[@]+"${import_lines[@]}"}"; do
        if [[ "$entry" == "import_ok=$module" ]]; then result="ok"; break; fi
        if [[ "$entry" == "import_fail=$module: "* ]]; then result="${entry#import_fail=}"; break; fi
    done
    if [[ "$result" == "ok" ]]; then pass "import $module"
    else fail "import ${result:-$module: no result from the probe}"; fi
done

echo "SUMMARY: $passed passed, $failed failed"
[[ "$failed" -eq 0 ]]
