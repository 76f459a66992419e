#!/usr/bin/env bash
# Fills deploy/npm-cache with the packages package-lock.json names, so deploy/Dockerfile's
# `npm ci --prefer-offline` needs no registry inside the build (containers here cannot reach one;
# this machine's npm can). Done once per lockfile: a stamp holds the lockfile's sha256.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=deploy/npm-cache
STAMP=$CACHE/.lockfile-sha256
SUM=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ -f $STAMP && $(cat "$STAMP") == "$SUM" ]]; then exit 0; fi
WORK=$(mktemp -d /tmp/dw-npm-cache.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cp package.json package-lock.json "$WORK/"
# The same install the image runs, here, with the cache folder as npm's cache.
(cd "$WORK" && npm ci --cache "$OLDPWD/$CACHE" --prefer-offline --ignore-scripts --no-audit --no-fund --loglevel=error > /dev/null)
echo "$SUM" > "$STAMP"
