#!/usr/bin/env bash
# Clone the public corpora of scripts/corpora.lock at their recorded commits into SRC
# (default .cache/sources/<owner>+<name>). BASE is where repositories come from: a GitHub URL
# prefix (default https://github.com) or a folder of local mirrors laid out as
# <owner>+<name>/repo. Nothing else in the project downloads data.
set -euo pipefail
SRC=${SRC:-.cache/sources}
BASE=${BASE:-https://github.com}
mkdir -p "$SRC"
grep -v '^#' "$(dirname "$0")/corpora.lock" | while IFS=$'\t' read -r name repo commit paths; do
  dest="$SRC/${repo/\//+}"
  if [ -d "$BASE/${repo/\//+}/repo" ]; then url="$BASE/${repo/\//+}/repo"; else url="$BASE/$repo"; fi
  [ -d "$dest/.git" ] || git clone -q --no-checkout "$url" "$dest"
  # only the paths read: some repositories hold large files (LFS) the build never needs
  git -C "$dest" checkout -q "$commit" -- $paths
  echo "$name $commit $dest ($paths)"
done
