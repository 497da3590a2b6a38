#!/usr/bin/env bash
# Re-resolves every upstream image the stacks pin by digest (mlci:families.<f>.baseImages in
# Pulumi.<stack>.yaml: `<repository>:<tag>@sha256:<digest>`) to the digest its tag points at now,
# and rewrites the pin where it moved (a re-push: NVIDIA/nvidia-container-toolkit#152). Used by
# .github/workflows/digest-bump.yml. Needs docker with buildx (imagetools) and python3.
set -euo pipefail
cd "$(dirname "$0")/../.."
changed=0
for ref in $(grep -hoE '[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)+:[A-Za-z0-9_][A-Za-z0-9._-]*@sha256:[0-9a-f]{64}' Pulumi.*.yaml | sort -u); do
    image="${ref%@*}"
    pinned="${ref#*@}"
    current="$(docker buildx imagetools inspect "docker.io/$image" --format '{{json .Manifest}}' | python3 -c 'import json, sys; print(json.load(sys.stdin)["digest"])')"
    if ! [[ "$current" =~ ^sha256:[0-9a-f]{64}$ ]]; then echo "$image: no digest from the registry (got '$current')" >&2; exit 1; fi
    if [[ "$current" != "$pinned" ]]; then
        sed -i "s|$image@$pinned|$image@$current|g" Pulumi.*.yaml
        echo "$image: $pinned -> $current"
        changed=1
    fi
done
[[ "$changed" -eq 1 ]] || echo "every pinned base image is current"
