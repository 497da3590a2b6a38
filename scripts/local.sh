#!/usr/bin/env bash
# Runs the `local` stack: no cloud account. State lives in .pulumi-state/ (git-ignored), the
# registry is a registry:2 container on localhost, and the Pulumi CLI is the project's own
# devDependency (the npm `pulumi` package fetches the matching CLI on first use).
# Usage: scripts/local.sh preview|up|destroy|refresh [extra pulumi flags]
# Environment: MLCI_LOCAL_BUILDER (default mlci-local; must match mlci:build.builder.name).
set -euo pipefail
cd "$(dirname "$0")/.."

cmd="${1:?usage: scripts/local.sh preview|up|destroy|refresh [pulumi flags]}"
shift
case "$cmd" in preview | up | destroy | refresh) ;; *) echo "unknown command: $cmd (preview|up|destroy|refresh)" >&2; exit 2 ;; esac

command -v docker >/dev/null || { echo "the local stack needs Docker (docker CLI and a running engine)" >&2; exit 1; }
docker info >/dev/null 2>&1 || { echo "the Docker engine is not reachable: start Docker and retry" >&2; exit 1; }

# docker-build never uses the engine's default `docker` driver: it needs a BuildKit builder. In a
# default `docker-container` builder `localhost:5000` is the builder container itself, so pushes
# and the children's `FROM localhost:5000/…@sha256:…` fail. The local stack builds on a builder on
# the host network, named in Pulumi.local.yaml (mlci:build.builder.name), created once here.
builder="${MLCI_LOCAL_BUILDER:-mlci-local}"
if [ "$cmd" = preview ] || [ "$cmd" = up ]; then
if ! docker buildx version >/dev/null 2>&1; then
    cat >&2 <<MSG
the local stack needs the Docker buildx plugin (docker-build builds on BuildKit builders).
Debian 12's docker.io has no buildx package. Install one of:
  - docker-buildx-plugin from Docker's apt repository (https://docs.docker.com/engine/install/debian/)
  - a docker-buildx release binary (https://github.com/docker/buildx/releases) saved as
    ~/.docker/cli-plugins/docker-buildx and made executable
Docker Desktop includes it. Check with: docker buildx version
MSG
    exit 1
fi
if docker buildx inspect "$builder" >/dev/null 2>&1; then
    # Reused as is: a builder of that name without network=host cannot reach localhost:5000.
    docker buildx inspect "$builder" | grep -q 'network="\{0,1\}host' ||
        echo "warning: builder $builder exists but was not created with --driver-opt network=host; remove it (docker buildx rm $builder) and rerun" >&2
else
    docker buildx create --name "$builder" --driver docker-container --driver-opt network=host --bootstrap >/dev/null
    echo "created buildx builder $builder (docker-container, host network)" >&2
fi
fi

mkdir -p .pulumi-state
export PULUMI_BACKEND_URL="file://$PWD/.pulumi-state"
# The passphrase protects secrets of the local stack only; dev/prod use their own secrets provider.
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-mlci-local-only}"
export PULUMI_SKIP_UPDATE_CHECK=true

pulumi=(npx --no-install pulumi)
"${pulumi[@]}" stack select local --create --non-interactive >/dev/null
# Non-interactive up/destroy/refresh need --yes (refresh asks for confirmation too).
if [ "$cmd" = up ] || [ "$cmd" = destroy ] || [ "$cmd" = refresh ]; then set -- --yes "$@"; fi
exec "${pulumi[@]}" "$cmd" --stack local --non-interactive "$@"
