#!/usr/bin/env bash
# Makes a Node base image for deploy/Dockerfile from this machine's own Node, for engines that
# cannot pull from a registry (CI here has none). Where a registry is reachable, build with the
# Dockerfile's default base (node:<LTS>-bookworm-slim) instead and never run this.
#
#   node-base-image.sh [TAG]   prints the tag; default dockward-local/node:<node version>
#
# The image holds what the official image gives a Node program and nothing else: the node binary,
# the shared libraries `ldd` names, npm, the CA bundle (npm ci reaches the registry through it),
# a static busybox for /bin/sh and the usual commands (RUN and npm scripts need them), /etc/passwd and /etc/group with
# root and nobody, /tmp. It is made with `docker import` from a root file system built in a temp
# folder, so no registry is involved. An image with the same tag already on the engine is reused:
# the tag names the Node version, and a different node binary gets a different tag.
# Uses DOCKER_HOST like the docker CLI does.
set -euo pipefail

log () { printf 'node-base-image.sh: %s\n' "$*" >&2; }
die () { log "error: $*"; exit 1; }

docker_cli () {
  if [[ -x /usr/local/bin/docker ]]; then echo /usr/local/bin/docker
  elif command -v docker > /dev/null; then command -v docker
  else die 'no docker CLI'
  fi
}
DOCKER=$(docker_cli)

NODE=$(readlink -f "$(command -v node)") || die 'no node on PATH'
NODE_VERSION=$("$NODE" --version)
# Same version, different build (another distribution's binary): a different tag.
NODE_SUM=$(sha256sum "$NODE" | cut -c1-12)
TAG=${1:-dockward-local/node:${NODE_VERSION#v}-$NODE_SUM}

if "$DOCKER" image inspect "$TAG" > /dev/null 2>&1; then
  log "reusing $TAG"
  echo "$TAG"
  exit 0
fi

NPM_DIR=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
[[ -f $NPM_DIR/package.json ]] || die "cannot find npm's folder (from $(command -v npm))"
BUSYBOX=/bin/busybox
# A dynamic busybox would not find its libraries in this root file system.
if [[ ! -x $BUSYBOX ]] || ldd "$BUSYBOX" > /dev/null 2>&1; then die 'needs a static /bin/busybox (apt-get install busybox-static)'; fi
CA=/etc/ssl/certs/ca-certificates.crt
[[ -f $CA ]] || die "no CA bundle at $CA (apt-get install ca-certificates)"

ROOT=$(mktemp -d /tmp/dw-node-rootfs.XXXXXX)
trap 'rm -rf "$ROOT"' EXIT

mkdir -p "$ROOT"/{bin,etc/ssl/certs,root,tmp,usr/bin,usr/local/bin,usr/local/lib/node_modules}
chmod 1777 "$ROOT/tmp"
cp "$NODE" "$ROOT/usr/local/bin/node"
# Every library the binary loads, at the path the loader looks for it.
for lib in $(ldd "$NODE" | awk '/=> \//{print $3} /^[ \t]*\/[^ ]+ \(/{print $1}'); do
  mkdir -p "$ROOT$(dirname "$lib")"
  cp -L "$lib" "$ROOT$lib"
done
cp -a "$NPM_DIR" "$ROOT/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$ROOT/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$ROOT/usr/local/bin/npx"
cp "$BUSYBOX" "$ROOT/bin/busybox"
# Every applet, as a slim distribution image has its coreutils.
for applet in $("$BUSYBOX" --list); do [[ -e $ROOT/bin/$applet ]] || ln -s busybox "$ROOT/bin/$applet"; done
# npm's scripts start with `#!/usr/bin/env node`.
ln -s ../../bin/busybox "$ROOT/usr/bin/env"
cp "$CA" "$ROOT$CA"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$ROOT/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$ROOT/etc/group"

log "importing $TAG ($(du -sh "$ROOT" | cut -f1))"
tar -C "$ROOT" -c . | "$DOCKER" import \
  -c 'ENV PATH=/usr/local/bin:/usr/bin:/bin NODE_VERSION='"${NODE_VERSION#v}" \
  -c 'CMD ["node"]' \
  -m "node $NODE_VERSION from $NODE, for deploy/Dockerfile without a registry" \
  - "$TAG" > /dev/null
echo "$TAG"
