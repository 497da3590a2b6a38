"""Fails the habitat build if installing habitat changed a package the parent pinned.

Usage: python check_parent_env.py PARENT_FREEZE NAME...
PARENT_FREEZE is `uv pip freeze` of the parent (nightly) environment, taken before any
habitat package was installed; each NAME must still have the parent's version.
"""
import importlib.metadata
import re
import sys

freeze, names = sys.argv[1], sys.argv[2:]
pinned = {}
for line in open(freeze):
    match = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)\s*$", line)
    if match:
        pinned[match.group(1).lower().replace("_", "-")] = match.group(2)
changed = []
for name in names:
    want = pinned.get(name.lower())
    if want is None:
        changed.append(f"{name}: not installed in the parent")
        continue
    have = importlib.metadata.version(name)
    if have != want:
        changed.append(f"{name}: parent has {want}, habitat has {have}")
if changed:
    sys.exit("habitat changed the torch environment: " + "; ".join(changed))
print("parent versions kept:", ", ".join(f"{n}=={pinned[n.lower()]}" for n in names))
