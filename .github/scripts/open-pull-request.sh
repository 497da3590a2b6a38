#!/usr/bin/env bash
# Commits the working tree's changes to the branch automation/<name> and opens one pull request
# from it (or updates the open one: the branch is force-pushed). Nothing changed: nothing to do.
# Usage: open-pull-request.sh <name> <title> <body>. Needs GH_TOKEN (contents and pull-requests write;
# actions write with DISPATCH_WORKFLOWS). DISPATCH_WORKFLOWS: workflow files to run on the branch with
# workflow_dispatch, the one event a GITHUB_TOKEN push or PR may start (docs/pipelines.md).
set -euo pipefail
name="$1"; title="$2"; body="$3"
if git diff --quiet; then echo "nothing changed: no pull request"; exit 0; fi
branch="automation/$name"
git config user.name "github-actions[bot]"
git config user.email "41898282+github-actions[bot]@users.noreply.github.com"
git switch -C "$branch"
git commit -a -m "$title"
git push --force "https://x-access-token:${GH_TOKEN}@github.com/${GITHUB_REPOSITORY}.git" "$branch"
if [[ -n "$(gh pr list --head "$branch" --state open --json number --jq '.[].number')" ]]; then
    echo "updated the open pull request of $branch"
else
    gh pr create --base "${GITHUB_BASE_REF:-main}" --head "$branch" --title "$title" --body "$body"
fi
for wf in ${DISPATCH_WORKFLOWS:-}; do
    gh workflow run "$wf" --ref "$branch"
    echo "dispatched $wf on $branch"
done
