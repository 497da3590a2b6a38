#!/bin/sh
# Runs a command with a throwaway DOCKER_CONFIG that is the caller's Docker config plus one registry
# login, removed on exit. The smoke test runs through it: docker-build keeps its registry credentials
# in memory, so the host's Docker has no ECR login after a push, and the smoke test must not rely on one.
#
# The caller's Docker stays the one the command talks to: its config.json is copied with
# currentContext, credHelpers of other registries, other logins and every other key; the entries of
# its config dir (contexts/, cli-plugins/, buildx/, …) are linked; DOCKER_HOST and DOCKER_CONTEXT pass
# through. Only this registry's login changes: its credHelpers entry and a credsStore are dropped
# (Docker would ask them instead of the inline auth), and its `auths` entry is set.
# Dropping credsStore also drops, inside COMMAND, every login the caller keeps in that store (a
# `docker login` to Docker Hub or another private registry with credsStore desktop, osxkeychain,
# pass…): only inline `auths` and the credHelpers of other registries remain. A command that must pull
# from such a registry needs a credHelpers entry for it (e.g. docker-credential-ecr-login), not the store.
#
# Usage: with-registry-auth.sh COMMAND [ARG...]
# Environment:
#   MLCI_REGISTRY_HOST  registry host, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com
#   MLCI_REGISTRY_AUTH  "user:password" (ECR: "AWS:<token>"), a secret; empty for a registry that
#                       needs no login (localhost). Never printed; not passed on to COMMAND.
#   DOCKER_CONFIG       the caller's Docker config dir. @default $HOME/.docker
set -eu
[ "$#" -gt 0 ] || { echo "usage: with-registry-auth.sh COMMAND [ARG...]" >&2; exit 2; }
caller_dir="${DOCKER_CONFIG:-${HOME:-}/.docker}"
config_dir="$(mktemp -d "${TMPDIR:-/tmp}/mlci-docker-config.XXXXXX")"
trap 'rm -rf "$config_dir"' EXIT INT TERM
umask 077
if [ -n "${MLCI_REGISTRY_AUTH:-}" ]; then
    [ -n "${MLCI_REGISTRY_HOST:-}" ] || { echo "MLCI_REGISTRY_HOST is needed with MLCI_REGISTRY_AUTH" >&2; exit 2; }
fi
# The caller's config dir entries (contexts, CLI plugins, buildx state), linked, never copied or removed.
if [ -d "$caller_dir" ]; then
    for entry in "$caller_dir"/* "$caller_dir"/.[!.]*; do
        [ -e "$entry" ] || continue
        [ "$(basename "$entry")" = config.json ] && continue
        ln -s "$entry" "$config_dir/$(basename "$entry")"
    done
fi
# node is there wherever the program or the CLI runs; the secret goes through the environment, never argv.
MLCI_CALLER_CONFIG="$caller_dir/config.json" MLCI_OUT_CONFIG="$config_dir/config.json" node -e '
const fs = require("fs");
const src = process.env.MLCI_CALLER_CONFIG, host = process.env.MLCI_REGISTRY_HOST, auth = process.env.MLCI_REGISTRY_AUTH;
let config = {};
if (fs.existsSync(src)) {
    try { config = JSON.parse(fs.readFileSync(src, "utf8")); } catch (e) { console.error(`with-registry-auth.sh: ${src} is not valid JSON (${e.message})`); process.exit(2); }
}
config.auths = config.auths ?? {};
if (auth) {
    if (config.credHelpers) { delete config.credHelpers[host]; if (Object.keys(config.credHelpers).length === 0) delete config.credHelpers; }
    delete config.credsStore;
    config.auths[host] = { auth: Buffer.from(auth).toString("base64") };
}
fs.writeFileSync(process.env.MLCI_OUT_CONFIG, JSON.stringify(config) + "\n", { mode: 0o600 });
'
unset MLCI_REGISTRY_AUTH
status=0
DOCKER_CONFIG="$config_dir" "$@" || status=$?
exit "$status"
