#!/bin/sh
# Runs a command with a throwaway DOCKER_CONFIG holding one registry login, removed on exit.
# The smoke test runs through it: docker-build keeps its registry credentials in memory, so the
# host's Docker has no ECR login after a push, and the smoke test must not rely on one.
#
# Usage: with-registry-auth.sh COMMAND [ARG...]
# Environment:
#   MLCI_REGISTRY_HOST  registry host, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com
#   MLCI_REGISTRY_AUTH  "user:password" (ECR: "AWS:<token>"), a secret; empty for a registry that
#                       needs no login (localhost). Never printed; not passed on to COMMAND.
set -eu
[ "$#" -gt 0 ] || { echo "usage: with-registry-auth.sh COMMAND [ARG...]" >&2; exit 2; }
config_dir="$(mktemp -d "${TMPDIR:-/tmp}/mlci-docker-config.XXXXXX")"
trap 'rm -rf "$config_dir"' EXIT INT TERM
umask 077
if [ -n "${MLCI_REGISTRY_AUTH:-}" ]; then
    [ -n "${MLCI_REGISTRY_HOST:-}" ] || { echo "MLCI_REGISTRY_HOST is needed with MLCI_REGISTRY_AUTH" >&2; exit 2; }
    auth="$(printf '%s' "$MLCI_REGISTRY_AUTH" | base64 | tr -d '\n')"
    printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$MLCI_REGISTRY_HOST" "$auth" > "$config_dir/config.json"
else
    printf '{"auths":{}}\n' > "$config_dir/config.json"
fi
unset MLCI_REGISTRY_AUTH
status=0
DOCKER_CONFIG="$config_dir" "$@" || status=$?
exit "$status"
