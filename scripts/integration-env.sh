#!/usr/bin/env bash
# A Docker engine and a registry for the integration suite (npm run test:integration).
#
# Usage: scripts/integration-env.sh start|stop|env|status
#   start   idempotent. Engine: reuses $DOCKER_HOST or /var/run/docker.sock when reachable, else
#           (as root) starts dockerd with its own socket, data and exec dirs. Registry: starts
#           Debian's docker-registry (distribution 2.8) on 127.0.0.1:<free port> (or, without
#           that binary, a registry:2 container). Installs docker.io, docker-registry and
#           busybox-static with apt-get when they are missing and it runs as root. Imports two
#           offline base images (cached in the engine across runs):
#             mlci-test/busybox:latest     busybox-static's /bin/busybox and its applets
#             mlci-test/python:latest      the host's python3 (binary, stdlib, libraries) + busybox
#   stop    stops only what start started (pid files); keeps the data dir as a cache.
#   env     prints `export DOCKER_HOST=... MLCI_TEST_REGISTRY=127.0.0.1:PORT ...` lines, plus
#           MLCI_TEST_DOCKER (a client that builds with BuildKit), MLCI_TEST_PYTHON_VERSION and
#           the two base image names.
#   status  prints what runs; exits 1 unless both engine and registry answer.
# State lives in ${MLCI_INTEGRATION_DIR:-/tmp/mlci-integration}.
set -euo pipefail

dir="${MLCI_INTEGRATION_DIR:-/tmp/mlci-integration}"
sock="$dir/docker.sock"
state="$dir/state"          # KEY=VALUE lines written by start
busybox_image="mlci-test/busybox:latest"
python_image="mlci-test/python:latest"

log() { echo "integration-env: $*" >&2; }
die() { log "$*"; exit 1; }

alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

engine_answers() { # DOCKER_HOST value
    DOCKER_HOST="$1" timeout 20 docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

registry_answers() { # host:port
    local code
    code="$(curl -s -o /dev/null -m 5 -w '%{http_code}' "http://$1/v2/" 2>/dev/null || true)"
    [[ "$code" == 200 || "$code" == 401 ]]
}

read_state() { # KEY -> value or empty
    [[ -f "$state" ]] || return 0
    sed -n "s/^$1=//p" "$state" | tail -n 1
}

write_state() { # KEY VALUE
    touch "$state"
    sed -i "/^$1=/d" "$state"
    echo "$1=$2" >> "$state"
}

install_packages() {
    local missing=()
    command -v docker >/dev/null || missing+=(docker.io)
    command -v dockerd >/dev/null || [[ " ${missing[*]-} " == *" docker.io "* ]] || missing+=(docker.io)
    command -v docker-registry >/dev/null || missing+=(docker-registry)
    [[ -x /bin/busybox ]] || missing+=(busybox-static)
    command -v curl >/dev/null || missing+=(curl)
    [[ ${#missing[@]} -eq 0 ]] && return 0
    if [[ "$(id -u)" -ne 0 ]] || ! command -v apt-get >/dev/null; then
        log "missing ${missing[*]} (not root or no apt-get: not installing)"
        return 0
    fi
    log "installing ${missing[*]} with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

start_engine() {
    if alive "$dir/dockerd.pid" && engine_answers "unix://$sock"; then
        write_state DOCKER_HOST "unix://$sock"
        return 0
    fi
    if [[ -n "${DOCKER_HOST:-}" && "${DOCKER_HOST}" != "unix://$sock" ]] && engine_answers "$DOCKER_HOST"; then
        log "reusing the engine at DOCKER_HOST=$DOCKER_HOST"
        write_state DOCKER_HOST "$DOCKER_HOST"
        return 0
    fi
    if [[ -S /var/run/docker.sock ]] && engine_answers "unix:///var/run/docker.sock"; then
        log "reusing the engine at /var/run/docker.sock"
        write_state DOCKER_HOST "unix:///var/run/docker.sock"
        return 0
    fi
    [[ "$(id -u)" -eq 0 ]] || die "no Docker engine: DOCKER_HOST and /var/run/docker.sock do not answer, and starting dockerd needs root"
    command -v dockerd >/dev/null || die "no dockerd (install Debian's docker.io)"
    mkdir -p "$dir/data" "$dir/exec"
    rm -f "$sock"
    log "starting dockerd (data $dir/data, socket $sock)"
    # setsid: dockerd must survive the shell (and the job control) that started it.
    setsid dockerd --storage-driver=vfs --iptables=false --ip6tables=false --bridge=none \
        --data-root="$dir/data" --exec-root="$dir/exec" --pidfile="$dir/dockerd.pid.daemon" \
        -H "unix://$sock" >"$dir/dockerd.log" 2>&1 < /dev/null 9>&- &
    echo $! > "$dir/dockerd.pid"
    for _ in $(seq 1 120); do
        engine_answers "unix://$sock" && { write_state DOCKER_HOST "unix://$sock"; return 0; }
        alive "$dir/dockerd.pid" || break
        sleep 0.5
    done
    tail -n 20 "$dir/dockerd.log" >&2 || true
    die "dockerd did not answer on $sock (log: $dir/dockerd.log)"
}

free_port() {
    local port
    for _ in $(seq 1 200); do
        port=$((20000 + RANDOM % 20000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return 0; fi
    done
    die "no free port found"
}

start_registry() {
    local addr
    addr="$(read_state MLCI_TEST_REGISTRY)"
    if [[ -n "$addr" ]] && { alive "$dir/registry.pid" || [[ -n "$(read_state REGISTRY_CONTAINER)" ]]; } && registry_answers "$addr"; then
        return 0
    fi
    local port
    port="$(free_port)"
    addr="127.0.0.1:$port"
    if command -v docker-registry >/dev/null; then
        # A fresh registry per start: a test must never pass on a previous run's pushes.
        rm -rf "$dir/registry"
        mkdir -p "$dir/registry"
        cat > "$dir/registry.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/registry
  delete:
    enabled: true
http:
  addr: $addr
EOF
        log "starting docker-registry on $addr"
        setsid docker-registry serve "$dir/registry.yml" >"$dir/registry.log" 2>&1 < /dev/null 9>&- &
        echo $! > "$dir/registry.pid"
    else
        log "no docker-registry binary: running registry:2 as a container on $addr"
        local id
        id="$(DOCKER_HOST="$(read_state DOCKER_HOST)" timeout 300 docker run -d --rm --name "mlci-integration-registry-$port" \
            -e REGISTRY_STORAGE_DELETE_ENABLED=true -p "$addr:5000" registry:2)" || die "could not start a registry:2 container"
        write_state REGISTRY_CONTAINER "$id"
    fi
    for _ in $(seq 1 60); do
        registry_answers "$addr" && { write_state MLCI_TEST_REGISTRY "$addr"; return 0; }
        sleep 0.25
    done
    tail -n 20 "$dir/registry.log" >&2 2>/dev/null || true
    die "the registry did not answer on $addr"
}

# Copies a file or directory to the same absolute path under $1, following symlinks (a
# relative library link such as libz.so.1 -> libz.so.1.2.13 may point across /lib -> /usr/lib).
copy_into() {
    local root="$1" f="$2"
    mkdir -p "$root$(dirname "$f")"
    cp -rL "$f" "$root$f"
}

busybox_rootfs() { # dir
    local root="$1"
    mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/root" "$root/proc" "$root/sys" "$root/dev"
    chmod 1777 "$root/tmp"
    cp /bin/busybox "$root/bin/busybox"
    local applet
    for applet in $(/bin/busybox --list); do
        [[ -e "$root/bin/$applet" ]] || ln -s busybox "$root/bin/$applet"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$root/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
}

import_images() {
    export DOCKER_HOST
    DOCKER_HOST="$(read_state DOCKER_HOST)"
    local work
    if ! timeout 30 docker image inspect "$busybox_image" >/dev/null 2>&1; then
        [[ -x /bin/busybox ]] || die "no /bin/busybox (install Debian's busybox-static)"
        work="$(mktemp -d)"
        busybox_rootfs "$work/rootfs"
        tar -C "$work/rootfs" -c . | timeout 120 docker import -c 'CMD ["/bin/sh"]' - "$busybox_image" >/dev/null
        rm -rf "$work"
        log "imported $busybox_image"
    fi
    if ! timeout 30 docker image inspect "$python_image" >/dev/null 2>&1; then
        # The host's interpreter: prefer the distribution's (pyenv shims are not real binaries).
        local py
        py="$(command -v /usr/bin/python3 || command -v python3 || true)"
        [[ -n "$py" ]] || die "no python3 on the host to build $python_image from"
        work="$(mktemp -d)"
        busybox_rootfs "$work/rootfs"
        local info exe stdlib dynload version
        info="$("$py" -c 'import sys, sysconfig, os; p = sysconfig.get_paths(); print(os.path.realpath(sys.executable)); print(p["stdlib"]); print(os.path.join(p["platstdlib"], "lib-dynload")); print("%d.%d" % sys.version_info[:2])')"
        { read -r exe; read -r stdlib; read -r dynload; read -r version; } <<< "$info"
        copy_into "$work/rootfs" "$exe"
        mkdir -p "$work/rootfs/usr/bin" "$work/rootfs$stdlib"
        ln -sf "$exe" "$work/rootfs/usr/bin/python3"
        ln -sf "$exe" "$work/rootfs/usr/bin/python"
        tar -C "$stdlib" -c --exclude=test --exclude=tests --exclude=idlelib --exclude=tkinter --exclude=turtledemo \
            --exclude=ensurepip --exclude=lib2to3 --exclude=__pycache__ --exclude='config-*' --exclude=site-packages \
            --exclude=dist-packages . | tar -C "$work/rootfs$stdlib" -x
        [[ -d "$dynload" ]] && copy_into "$work/rootfs" "$dynload"
        local lib
        for lib in $( { ldd "$exe"; [[ -d "$dynload" ]] && find "$dynload" -name '*.so' -exec ldd {} \; ; } 2>/dev/null \
            | grep -o '/[^ ]*' | sort -u); do
            [[ -e "$lib" ]] && copy_into "$work/rootfs" "$lib"
        done
        mkdir -p "$work/rootfs/usr/local/lib/python$version/dist-packages" "$work/rootfs/usr/local/lib/python$version/site-packages"
        tar -C "$work/rootfs" -c . | timeout 300 docker import -c 'CMD ["/usr/bin/python3"]' \
            -c "ENV PYTHONDONTWRITEBYTECODE=1" -c "ENV PATH=/usr/local/bin:/usr/bin:/bin" - "$python_image" >/dev/null
        rm -rf "$work"
        timeout 60 docker run --rm --network none "$python_image" python3 -c 'import json, importlib, sys' \
            || die "$python_image does not run python3"
        log "imported $python_image (python $version from $exe)"
    fi
    local version
    version="$(timeout 60 docker run --rm --network none "$python_image" python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    write_state MLCI_TEST_PYTHON_VERSION "$version"
}

# A docker client that builds with BuildKit: one with the buildx plugin, or a client older than
# 23.0, which speaks BuildKit itself (Debian 12's docker.io 20.10 client; /usr/local/bin/docker
# 28.x without buildx refuses DOCKER_BUILDKIT=1).
build_client() {
    local c major
    for c in $(command -v docker || true) /usr/bin/docker /usr/local/bin/docker; do
        [[ -x "$c" ]] || continue
        if timeout 20 "$c" buildx version >/dev/null 2>&1; then echo "$c"; return 0; fi
        major="$(timeout 20 "$c" version --format '{{.Client.Version}}' 2>/dev/null | cut -d. -f1 || true)"
        if [[ "$major" =~ ^[0-9]+$ && "$major" -lt 23 ]]; then echo "$c"; return 0; fi
    done
    log "warning: no docker client with buildx or built-in BuildKit found; builds may fail"
    command -v docker || echo docker
}

print_env() {
    [[ -f "$state" ]] || die "not started (run: $0 start)"
    local key value
    for key in DOCKER_HOST MLCI_TEST_REGISTRY MLCI_TEST_PYTHON_VERSION; do
        value="$(read_state "$key")"
        [[ -n "$value" ]] || die "not started (run: $0 start)"
        echo "export $key=$value"
    done
    echo "export MLCI_TEST_DOCKER=$(build_client)"
    echo "export MLCI_TEST_BUSYBOX_IMAGE=$busybox_image"
    echo "export MLCI_TEST_PYTHON_IMAGE=$python_image"
}

stop_pid() { # pidfile name
    alive "$1" || { rm -f "$1"; return 0; }
    local pid
    pid="$(cat "$1")"
    log "stopping $2 (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do
        kill -0 "$pid" 2>/dev/null || { rm -f "$1"; return 0; }
        sleep 0.5
    done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$1"
}

cmd="${1:-}"
case "$cmd" in
    start)
        mkdir -p "$dir"
        exec 9>"$dir/lock"
        flock -w 600 9 || die "another start/stop holds $dir/lock"
        install_packages
        start_engine
        start_registry
        import_images
        print_env
        ;;
    stop)
        [[ -d "$dir" ]] || exit 0
        exec 9>"$dir/lock"
        flock -w 600 9 || die "another start/stop holds $dir/lock"
        container="$(read_state REGISTRY_CONTAINER)"
        if [[ -n "$container" ]]; then
            DOCKER_HOST="$(read_state DOCKER_HOST)" timeout 60 docker rm -f "$container" >/dev/null 2>&1 || true
        fi
        stop_pid "$dir/registry.pid" docker-registry
        stop_pid "$dir/dockerd.pid" dockerd
        rm -f "$state" "$sock"
        ;;
    env)
        print_env
        ;;
    status)
        host="$(read_state DOCKER_HOST)"
        registry="$(read_state MLCI_TEST_REGISTRY)"
        ok=0
        if [[ -n "$host" ]] && engine_answers "$host"; then
            echo "engine: $host$(alive "$dir/dockerd.pid" && echo " (started here, pid $(cat "$dir/dockerd.pid"))")"
        else echo "engine: not running"; ok=1; fi
        if [[ -n "$registry" ]] && registry_answers "$registry"; then
            echo "registry: $registry$(alive "$dir/registry.pid" && echo " (started here, pid $(cat "$dir/registry.pid"))")"
        else echo "registry: not running"; ok=1; fi
        exit "$ok"
        ;;
    *)
        sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' >&2
        exit 2
        ;;
esac
