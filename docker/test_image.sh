#!/usr/bin/env bash
# Smoke-tests one CI image: pulls it, reads its manifest from the registry, runs a probe inside
# it with `docker run --rm`, and checks
#   - size: the COMPRESSED size in the registry (config + layer sizes of the pushed manifest; per
#     platform for an index) is within the budget (default 10 GB); the uncompressed size of the
#     pulled image is reported beside it,
#   - the venv's Python is the pyX.Y of the image name/tag (or --python),
#   - torch imports (every family but base); its version equals --torch-version when given
#     (a nightly 2.12.0.dev20261120+cu130 matches 2.12.0); nightly/habitat: a dev build, and
#     with --rebuild-epoch its build date is within 8 days of that epoch (freshness);
#     GPU cells (cudaX.Y in the name, or --cuda): torch.version.cuda is X.Y; cpu (or --cuda none):
#     a CPU-only build; a nightly/stable/habitat image whose cell is unknown fails,
#   - with --gpu (runs `docker run --gpus all`): torch.cuda.is_available() and a real CUDA op,
#   - the family's key test dependencies import (or the --imports list),
#   - `uv pip check` finds no broken requirement (habitat: except habitat-sim's pillow pin and
#     habitat-lab's numpy pin, the deliberate overrides of docs/catalog.md; nothing "not installed"),
#   - habitat: libEGL loads and the NVIDIA EGL vendor file is there; with --gpu an EGL display
#     initializes headless (eglInitialize),
#   - every other platform of an index (linux/arm64 on an amd64 host) runs the same probe under
#     QEMU when the host has a binfmt handler for it, and is skipped with a SKIP line otherwise.
# An image the script pulled is removed afterwards (by digest, every platform it pulled), so a
# runner's disk does not fill with smoke-tested images; --keep-image keeps it.
# Prints one PASS/FAIL/SKIP line per check and exits 1 if any check fails (2 on usage errors).
#
# Usage: test_image.sh IMAGE [--gpu] [--size-budget-gb N] [--imports a,b,c] [--torch-version V]
#                            [--python X.Y] [--cuda X.Y] [--rebuild-epoch YYYY-MM-DD]
#                            [--timeout SECONDS] [--family F] [--keep-image]
# IMAGE may be repo:tag, repo:tag@sha256:... or repo@sha256:...; family and cell come from
# the repository's last path segment (<prefix>/<family>) and the tag (cuda12.4-py3.11-...).
# The registry manifest is read with `docker manifest inspect -v` (credentials from
# DOCKER_CONFIG, as for the pull; --insecure only for localhost/127.x registries), parsed with
# the host's python3. Every docker call is bounded by --timeout (default 1800 s).
# Environment: IMAGE_SIZE_BUDGET_GB (default 10), TORCH_VERSION, MLCI_REBUILD_EPOCH,
# DOCKER (default docker), MLCI_BINFMT_DIR (default /proc/sys/fs/binfmt_misc: the QEMU handlers
# of the host that runs the engine). Needs bash 4+, GNU coreutils (timeout, date) and python3.
set -euo pipefail

usage() {
    sed -n '2,39p' "$0" | sed 's/^# \{0,1\}//' >&2
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
rebuild_epoch="${MLCI_REBUILD_EPOCH:-}"
timeout_s=1800
docker_bin="${DOCKER:-docker}"
freshness_days=8
keep_image=0
binfmt_dir="${MLCI_BINFMT_DIR:-/proc/sys/fs/binfmt_misc}"

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
        --rebuild-epoch) rebuild_epoch="${2:?--rebuild-epoch needs a value}"; shift ;;
        --rebuild-epoch=*) rebuild_epoch="${1#*=}" ;;
        --timeout) timeout_s="${2:?--timeout needs a value}"; shift ;;
        --timeout=*) timeout_s="${1#*=}" ;;
        --keep-image) keep_image=1 ;;
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
if ! [[ "$timeout_s" =~ ^[1-9][0-9]*$ ]]; then
    echo "--timeout must be a whole number of seconds, got '$timeout_s'" >&2
    exit 2
fi
epoch_seconds=""
if [[ -n "$rebuild_epoch" ]]; then
    if ! [[ "$rebuild_epoch" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]] || ! epoch_seconds="$(date -u -d "$rebuild_epoch" +%s 2>/dev/null)" \
        || [[ "$(date -u -d "@$epoch_seconds" +%F)" != "$rebuild_epoch" ]]; then
        echo "--rebuild-epoch must be a date YYYY-MM-DD, got '$rebuild_epoch'" >&2
        exit 2
    fi
fi

# --- what the image should be, from its name -------------------------------------------
name="${image%%@*}"              # drop @sha256:...
digest=""
[[ "$image" == *@* ]] && digest="${image#*@}"
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
        nightly|stable|cpu)
            imports="torchvision,tensordict,gymnasium,mujoco,pytest,xdist,hydra"
            # dm_control is not installed on Python >= 3.13: labmaze has no cp313 wheel (docs/catalog.md)
            if [[ "$python_expected" =~ ^([0-9]+)[.]([0-9]+)$ ]] && (( BASH_REMATCH[1] == 3 && BASH_REMATCH[2] < 13 )); then
                imports="$imports,dm_control"
            fi ;;
        habitat) imports="tensordict,habitat_sim,habitat" ;;
        *) imports="" ;;
    esac
fi
check_torch=1
[[ "$family" == "base" ]] && check_torch=0

passed=0
failed=0
skipped=0
pulled=0
pulled_ids=()
pass() { echo "PASS $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
skip() { echo "SKIP $*"; skipped=$((skipped + 1)); }
# Removes what this run pulled: the digest ref (repository@sha256:…), the ref as given, and every
# image id a pull or a per-platform run brought in. An image that was already local is left alone.
cleanup() {
    [[ "$pulled" -eq 1 && "$keep_image" -eq 0 ]] || return 0
    local digest_ref="" removed=()
    if [[ -n "$digest" ]]; then digest_ref="$repository@$digest"
    else digest_ref="$(timeout 60 "$docker_bin" image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$image" 2>/dev/null | head -n 1 || true)"; fi
    local ref
    for ref in "$digest_ref" "$image"; do
        [[ -n "$ref" ]] || continue
        if timeout 120 "$docker_bin" image rm "$ref" >/dev/null 2>&1; then removed+=("$ref"); fi
    done
    for ref in "${pulled_ids[@]+"${pulled_ids[@]}"}"; do
        if timeout 60 "$docker_bin" image inspect "$ref" >/dev/null 2>&1 && timeout 120 "$docker_bin" image rm "$ref" >/dev/null 2>&1; then removed+=("$ref"); fi
    done
    if [[ "${#removed[@]}" -gt 0 ]]; then echo "cleanup: removed ${removed[*]} (pulled for this test; --keep-image keeps it)"; fi
}
finish() {
    cleanup
    if [[ "$skipped" -gt 0 ]]; then echo "SUMMARY: $passed passed, $failed failed, $skipped skipped"
    else echo "SUMMARY: $passed passed, $failed failed"; fi
    [[ "$failed" -eq 0 ]] && exit 0
    exit 1
}
remember_id() { local id; id="$(timeout 60 "$docker_bin" image inspect --format '{{.Id}}' "$1" 2>/dev/null || true)"; [[ -n "$id" ]] && pulled_ids+=("$id"); return 0; }

# Every docker call runs under `timeout`; exit 124 means it was cut off.
dock() { timeout --kill-after=15 "$timeout_s" "$docker_bin" "$@"; }
timed_out() { [[ "$1" -eq 124 || "$1" -eq 137 ]]; }
gb() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1e9 }'; }

echo "image: $image (family $family, python ${python_expected:-?}, cuda ${cuda_expected:-none})"

# --- pull (the probe needs the image; the uncompressed size comes from the local copy) ----
status=0
dock image inspect --format '{{.Size}}' "$image" >/dev/null 2>&1 || status=$?
if [[ "$status" -ne 0 ]]; then
    status=0
    pull_output="$(dock pull "$image" 2>&1)" || status=$?
    if [[ "$status" -ne 0 ]]; then
        if timed_out "$status"; then fail "pull: docker pull $image timed out after ${timeout_s}s"
        else fail "pull: cannot pull $image: $(tail -n 1 <<< "$pull_output")"; fi
        finish
    fi
    pulled=1
    remember_id "$image"
fi
uncompressed_bytes="$(dock image inspect --format '{{.Size}}' "$image" 2>/dev/null || true)"
local_platform="$(dock image inspect --format '{{.Os}}/{{.Architecture}}' "$image" 2>/dev/null || true)"

# --- size: compressed, from the registry manifest ----------------------------------------
manifest_ref="$image"
[[ -n "$digest" ]] && manifest_ref="$repository@$digest"
registry_host="${repository%%/*}"
[[ "$repository" == */* && ( "$registry_host" == *.* || "$registry_host" == *:* || "$registry_host" == localhost ) ]] || registry_host="docker.io"
manifest_args=(manifest inspect -v)
case "${registry_host%:*}" in localhost|127.*|\[::1\]) manifest_args+=(--insecure) ;; esac
status=0
manifest_json="$(dock "${manifest_args[@]}" "$manifest_ref" 2>&1)" || status=$?
# One line per platform: "<os>/<arch> <compressed bytes>", attestation manifests skipped.
read -r -d '' sum_manifest <<'PY' || true
import json, sys
doc = json.load(sys.stdin)
for entry in doc if isinstance(doc, list) else [doc]:
    platform = (entry.get("Descriptor") or {}).get("platform") or {}
    name = "%s/%s%s" % (platform.get("os", "?"), platform.get("architecture", "?"), "/" + platform["variant"] if platform.get("variant") else "")
    if name == "unknown/unknown":
        continue
    manifest = entry.get("OCIManifest") or entry.get("SchemaV2Manifest") or {}
    layers = manifest.get("layers")
    if layers is None:
        raise SystemExit("no layers in the manifest of %s" % name)
    print(name, manifest.get("config", {}).get("size", 0) + sum(layer["size"] for layer in layers))
PY
platform_sizes=""
if [[ "$status" -eq 0 ]]; then
    if ! command -v python3 >/dev/null; then
        status=1; manifest_json="python3 is needed on the host to read the manifest"
    else
        platform_sizes="$(python3 -c "$sum_manifest" <<< "$manifest_json" 2>&1)" || { status=1; manifest_json="$platform_sizes"; platform_sizes=""; }
    fi
fi
if [[ "$status" -ne 0 || -z "$platform_sizes" ]]; then
    if timed_out "$status"; then reason="docker manifest inspect timed out after ${timeout_s}s"
    else reason="$(tail -n 1 <<< "$manifest_json")"; fi
    fail "size: cannot read the registry manifest of $manifest_ref ($reason); the budget is on the compressed size in the registry, push the image first"
else
    while read -r platform compressed; do
        if [[ "$platform" == "$local_platform" && "$uncompressed_bytes" =~ ^[0-9]+$ ]]; then
            uncompressed="uncompressed $(gb "$uncompressed_bytes") GB"
        else
            uncompressed="uncompressed: not pulled here"
        fi
        if awk -v b="$compressed" -v g="$budget_gb" 'BEGIN { exit !(b <= g * 1e9) }'; then
            pass "size $platform: compressed $(gb "$compressed") GB <= budget ${budget_gb} GB ($uncompressed)"
        else
            fail "size $platform: compressed $(gb "$compressed") GB > budget ${budget_gb} GB ($uncompressed)"
        fi
    done <<< "$platform_sizes"
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
            try:
                x = torch.ones(1024, device="cuda")
                out("cuda_op", float((x * 2).sum().item()))
            except Exception as e:
                out("cuda_op_error", "%s: %s" % (type(e).__name__, e))
    except Exception as e:
        out("torch_error", "%s: %s" % (type(e).__name__, e))
for module in [m for m in sys.argv[1].split(",") if m]:
    try:
        importlib.import_module(module)
        out("import_ok", module)
    except Exception as e:
        out("import_fail", "%s: %s: %s" % (module, type(e).__name__, e))
import shutil, subprocess
uv = shutil.which("uv")
if uv is None:
    out("pip_check_error", "uv is not on PATH in the image")
else:
    try:
        res = subprocess.run([uv, "pip", "check", "--python", sys.executable], capture_output=True, text=True, timeout=300)
        out("pip_check_status", res.returncode)
        for line in (res.stdout + res.stderr).splitlines():
            if line.strip():
                out("pip_check_line", line.strip())
    except Exception as e:
        out("pip_check_error", "uv pip check did not run: %s: %s" % (type(e).__name__, e))
if len(sys.argv) > 4 and sys.argv[4] == "1":
    import ctypes, os
    # The paths can be moved only for the script's own tests (which run the probe on the host).
    out("egl_vendor_file", os.path.exists(os.environ.get("MLCI_EGL_VENDOR_FILE", "/usr/share/glvnd/egl_vendor.d/10_nvidia.json")))
    try:
        egl = ctypes.CDLL(os.environ.get("MLCI_EGL_LIBRARY", "libEGL.so.1"))
        out("egl_loaded", True)
        if sys.argv[3] == "1":
            egl.eglGetDisplay.restype = ctypes.c_void_p
            egl.eglGetDisplay.argtypes = [ctypes.c_void_p]
            egl.eglInitialize.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int)]
            egl.eglQueryString.restype = ctypes.c_char_p
            egl.eglQueryString.argtypes = [ctypes.c_void_p, ctypes.c_int]
            display = egl.eglGetDisplay(None)  # EGL_DEFAULT_DISPLAY, no X server
            major, minor = ctypes.c_int(), ctypes.c_int()
            if display and egl.eglInitialize(display, ctypes.byref(major), ctypes.byref(minor)):
                vendor = egl.eglQueryString(display, 0x3053)  # EGL_VENDOR
                out("egl_display", "EGL %d.%d, vendor %s" % (major.value, minor.value, (vendor or b"?").decode()))
            else:
                out("egl_display_error", "eglInitialize failed on the default display")
    except Exception as e:
        out("egl_error", "%s: %s" % (type(e).__name__, e))
PY

container="mlci-smoke-$$-$RANDOM"
run_args=(run --rm --name "$container")
[[ "$gpu" -eq 1 ]] && run_args+=(--gpus all)
probe_status=0
egl_check=0
[[ "$family" == "habitat" ]] && egl_check=1
probe_output="$(dock "${run_args[@]}" "$image" python -c "$probe" "$imports" "$check_torch" "$gpu" "$egl_check" 2>&1)" || probe_status=$?
if timed_out "$probe_status"; then
    timeout 60 "$docker_bin" rm -f "$container" >/dev/null 2>&1 || true   # the client was killed, not the container
    fail "probe: docker run timed out after ${timeout_s}s"
    finish
fi

declare -A facts=()
import_lines=()
pip_check_lines=()
while IFS= read -r line; do
    [[ "$line" == MLCI_PROBE\ * ]] || continue
    kv="${line#MLCI_PROBE }"
    key="${kv%%=*}"
    value="${kv#*=}"
    case "$key" in
        import_ok|import_fail) import_lines+=("$key=$value") ;;
        pip_check_line) pip_check_lines+=("$value") ;;
        *) facts[$key]="$value" ;;
    esac
done <<< "$probe_output"

if [[ -z "${facts[python_version]:-}" ]]; then
    fail "probe: could not run python in the image (docker run exit $probe_status): $(tail -n 3 <<< "$probe_output" | tr '\n' ' ')"
    finish
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
        public="${tv%%+*}"                 # 2.12.0.dev20261120+cu130 -> 2.12.0.dev20261120
        release="${public%%.dev*}"         # -> 2.12.0
        case "$family" in
            nightly|habitat)
                if [[ "$tv" != *dev* ]]; then fail "torch: $tv is not a nightly (expected 'dev' in the version)"
                elif [[ -z "$torch_version" ]]; then pass "torch: $tv is a nightly (dev) build"
                elif [[ "$public" == "$torch_version" || "$release" == "$torch_version" ]]; then pass "torch: $tv is a nightly (dev) build of $torch_version"
                else fail "torch: $tv is a nightly of $release (expected $torch_version)"; fi ;;
            *)
                if [[ -z "$torch_version" ]]; then pass "torch: $tv imports (no expected version given)"
                elif [[ "$public" == "$torch_version" || "$release" == "$torch_version" ]]; then pass "torch: $tv (expected $torch_version)"
                else fail "torch: $tv (expected $torch_version)"; fi ;;
        esac
        # Freshness: a nightly's dev date must be within 8 days of the rebuild epoch.
        if [[ -n "$epoch_seconds" && "$tv" == *dev* ]]; then
            if [[ "$tv" =~ dev([0-9]{8}) ]] && built="$(date -u -d "${BASH_REMATCH[1]}" +%s 2>/dev/null)"; then
                build_date="$(date -u -d "@$built" +%F)"
                days=$(( (epoch_seconds - built) / 86400 ))
                distance=${days#-}
                if [[ "$days" -ge 0 ]]; then when="$distance days before"; else when="$distance days after"; fi
                if [[ "$distance" -le "$freshness_days" ]]; then
                    pass "freshness: torch built $build_date, $when the rebuild epoch $rebuild_epoch (at most $freshness_days)"
                elif [[ "$days" -ge 0 ]]; then
                    fail "freshness: torch built $build_date, $when the rebuild epoch $rebuild_epoch (at most $freshness_days): a stale nightly"
                else
                    fail "freshness: torch built $build_date, $when the rebuild epoch $rebuild_epoch (at most $freshness_days): wrong --rebuild-epoch?"
                fi
            else
                fail "freshness: no build date (devYYYYMMDD) in torch $tv"
            fi
        fi
        tc="${facts[torch_cuda]:-None}"
        if [[ -z "$cuda_expected" && " nightly stable habitat " == *" $family "* ]]; then
            fail "cuda: torch.version.cuda=$tc, but no cudaX.Y in the image name and no --cuda X.Y (a GPU family's cell must be known; --cuda none for a CPU cell)"
        elif [[ -n "$cuda_expected" && "$cuda_expected" != none ]]; then
            tc_major_minor="$(cut -d. -f1,2 <<< "$tc")"
            if [[ "$tc_major_minor" == "$cuda_expected" ]]; then pass "cuda: torch.version.cuda=$tc (expected $cuda_expected)"
            else fail "cuda: torch.version.cuda=$tc (expected $cuda_expected)"; fi
        elif [[ "$family" == "cpu" || "$cuda_expected" == none ]]; then
            if [[ "$tc" == "None" ]]; then pass "cuda: CPU-only torch (torch.version.cuda=None)"
            else fail "cuda: torch.version.cuda=$tc in a CPU image (expected a CPU-only build)"; fi
        fi
        if [[ "$gpu" -eq 1 ]]; then
            if [[ "${facts[cuda_available]:-}" == "True" ]]; then
                pass "gpu: torch.cuda.is_available() on ${facts[cuda_device]:-a GPU}"
                if [[ "${facts[cuda_op]:-}" == "2048.0" ]]; then pass "gpu op: (torch.ones(1024, device='cuda') * 2).sum() = 2048.0"
                else fail "gpu op: (torch.ones(1024, device='cuda') * 2).sum() gave ${facts[cuda_op]:-${facts[cuda_op_error]:-no result}} (expected 2048.0)"; fi
            else
                fail "gpu: torch.cuda.is_available() is ${facts[cuda_available]:-unknown} with --gpus all"
            fi
        fi
    fi
fi

# imports
IFS=',' read -r -a wanted <<< "$imports"
for module in "${wanted[@]+"${wanted[@]}"}"; do
    [[ -n "$module" ]] || continue
    result=""
    for entry in "${import_lines[@]+"${import_lines[@]}"}"; do
        if [[ "$entry" == "import_ok=$module" ]]; then result="ok"; break; fi
        if [[ "$entry" == "import_fail=$module: "* ]]; then result="${entry#import_fail=}"; break; fi
    done
    if [[ "$result" == "ok" ]]; then pass "import $module"
    else fail "import ${result:-$module: no result from the probe}"; fi
done

# uv pip check: every installed distribution's requirements are met. habitat installs habitat-sim
# and habitat-lab with --no-deps over the parent's numpy and pillow (docs/catalog.md, "habitat and
# the torch environment"): their own pins are the deliberate exceptions.
if [[ -n "${facts[pip_check_error]:-}" ]]; then
    fail "pip check: ${facts[pip_check_error]}"
elif [[ -z "${facts[pip_check_status]:-}" ]]; then
    fail "pip check: no result from the probe"
else
    broken=()
    allowed=0
    for entry in "${pip_check_lines[@]+"${pip_check_lines[@]}"}"; do
        # uv prints a summary ("Checked N packages …", "Found N incompatibilities") and one line per problem.
        [[ "$entry" =~ ^(Checked|Found|All installed|Resolved|Using) ]] && continue
        # Only the two documented overrides: habitat-sim's pillow pin and habitat-lab's numpy pin, each
        # with another version installed. Anything else (another package, "but it's not installed") fails.
        if [[ "$family" == "habitat" ]] && { [[ "$entry" =~ ^The\ package\ \`habitat[-_]sim\`\ requires\ \`pillow[^\`]*\`,\ but\ \`[^\`]+\`\ is\ installed$ ]] \
            || [[ "$entry" =~ ^The\ package\ \`habitat[-_]lab\`\ requires\ \`numpy[^\`]*\`,\ but\ \`[^\`]+\`\ is\ installed$ ]]; }; then
            allowed=$((allowed + 1)); continue
        fi
        broken+=("$entry")
    done
    if [[ "${#broken[@]}" -eq 0 && ( "${facts[pip_check_status]}" == "0" || "$allowed" -gt 0 ) ]]; then
        if [[ "$allowed" -gt 0 ]]; then pass "pip check: uv pip check finds no broken requirement besides $allowed deliberate override(s) (habitat-sim's pillow, habitat-lab's numpy pin)"
        else pass "pip check: uv pip check finds no broken requirement"; fi
    else
        fail "pip check: uv pip check (exit ${facts[pip_check_status]}): ${broken[*]:-see the image}"
    fi
fi

# habitat: headless EGL (habitat-sim renders through EGL without a display).
if [[ "$egl_check" -eq 1 ]]; then
    if [[ "${facts[egl_loaded]:-}" != "True" ]]; then fail "egl: libEGL.so.1 does not load: ${facts[egl_error]:-no result from the probe}"
    elif [[ "${facts[egl_vendor_file]:-}" != "True" ]]; then fail "egl: /usr/share/glvnd/egl_vendor.d/10_nvidia.json is missing (the NVIDIA EGL vendor file of the base image)"
    elif [[ "$gpu" -eq 1 ]]; then
        if [[ -n "${facts[egl_display]:-}" ]]; then pass "egl: headless display initialized (${facts[egl_display]})"
        else fail "egl: ${facts[egl_display_error]:-no display} with --gpus all (NVIDIA_DRIVER_CAPABILITIES must include graphics)"; fi
    else
        pass "egl: libEGL.so.1 loads and the NVIDIA vendor file is present (display initialization needs --gpu)"
    fi
fi

# Other platforms of an index (linux/arm64 beside a linux/amd64 host) run the same probe under QEMU.
while read -r platform _; do
    [[ -n "$platform" && "$platform" != "$local_platform" && -n "$local_platform" ]] || continue
    arch="${platform#*/}"; arch="${arch%%/*}"
    case "$arch" in arm64) qemu=aarch64 ;; amd64) qemu=x86_64 ;; *) qemu="$arch" ;; esac
    handler="$binfmt_dir/qemu-$qemu"
    if [[ ! -r "$handler" ]] || ! head -n 1 "$handler" | grep -qx enabled; then
        skip "$platform probe: no QEMU binfmt handler for $qemu on this host ($handler); register one (docker/setup-qemu-action, or docker run --privileged tonistiigi/binfmt --install $arch) to run it"
        continue
    fi
    status=0
    out="$(dock pull --platform "$platform" "$image" 2>&1)" || status=$?
    if [[ "$status" -ne 0 ]]; then fail "$platform probe: cannot pull the $platform image: $(tail -n 1 <<< "$out")"; continue; fi
    pulled=1
    remember_id "$image"
    status=0
    out="$(dock run --rm --platform "$platform" "$image" python -c "$probe" "$imports" "$check_torch" 0 0 2>&1)" || status=$?
    py="$(sed -n 's/^MLCI_PROBE python_version=//p' <<< "$out" | head -n 1)"
    tv="$(sed -n 's/^MLCI_PROBE torch_version=//p' <<< "$out" | head -n 1)"
    bad="$(sed -n 's/^MLCI_PROBE import_fail=//p; s/^MLCI_PROBE torch_error=/torch: /p' <<< "$out" | head -n 3 | tr '\n' ';')"
    if [[ -z "$py" ]]; then fail "$platform probe: python did not run under QEMU (exit $status): $(tail -n 2 <<< "$out" | tr '\n' ' ')"
    elif [[ -n "$python_expected" && "$py" != "$python_expected" ]]; then fail "$platform probe: python $py (expected $python_expected)"
    elif [[ -n "$bad" ]]; then fail "$platform probe: $bad"
    else pass "$platform probe (QEMU): python $py${tv:+, torch $tv}, imports ${imports:-none} load"; fi
done <<< "$platform_sizes"

finish
