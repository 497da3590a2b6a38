#!/usr/bin/env bash
# Runs the `local` stack: no cloud account. State lives in .pulumi-state/ (git-ignored), the
# registry is a registry:2 container on localhost, and the Pulumi CLI is the project's own
# devDependency (the npm `pulumi` package fetches the matching CLI on first use).
# Usage: scripts/local.sh preview|up|destroy [extra pulumi flags]
set -euo pipefail
cd "$(dirname "$0")/.."

cmd="${1:?usage: scripts/local.sh preview|up|destroy [pulumi flags]}"
shift
case "$cmd" in preview | up | destroy | refresh) ;; *) echo "unknown command: $cmd (preview|up|destroy|refresh)" >&2; exit 2 ;; esac

command -v docker >/dev/null || { echo "the local stack needs Docker (docker CLI and a running engine)" >&2; exit 1; }
docker info >/dev/null 2>&1 || { echo "the Docker engine is not reachable: start Docker and retry" >&2; exit 1; }

mkdir -p .pulumi-state
export PULUMI_BACKEND_URL="file://$PWD/.pulumi-state"
# The passphrase protects secrets of the local stack only; dev/prod use their own secrets provider.
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-mlci-local-only}"
export PULUMI_SKIP_UPDATE_CHECK=true

pulumi=(npx --no-install pulumi)
"${pulumi[@]}" stack select local --create --non-interactive >/dev/null
if [ "$cmd" = up ] || [ "$cmd" = destroy ]; then set -- --yes "$@"; fi
exec "${pulumi[@]}" "$cmd" --stack local --non-interactive "$@"
