#!/usr/bin/env bash
# Builds the Fluxo image where no image registry is reachable: makes the two base images the Dockerfile's
# build arguments need from this machine, then builds deploy/docker/Dockerfile with them.
#
#   deploy/docker/build-base-image.sh [--tag fluxo:local] [--rebuild-bases] [--bases-only] [--context worktree|head]
#
#   runtime base (BASE_IMAGE)  this machine's node binary and the glibc shared libraries it and the native
#                              addons link against, nothing else (no shell): ~110 MB, `docker import`ed.
#   build base  (BUILD_IMAGE)  a Debian bookworm minbase root filesystem (debootstrap, from Debian's
#                              packages) with python3, make and g++, plus this machine's node, npm and Node
#                              headers, so `npm ci` can compile zstd-napi. It trusts this machine's CA
#                              bundle, so npm reaches the registry through the same TLS proxy the host uses.
#
# --context head (or FLUXO_BUILD_CONTEXT=head) builds the last commit (git archive HEAD) instead of the
# working tree's files.
# Base images are kept and reused (tags below); --rebuild-bases makes them again. Needs root (debootstrap),
# a running Docker engine, Node 20 on glibc, and debootstrap (Debian package `debootstrap`).
# Users with a registry do not need this script: `docker build -f deploy/docker/Dockerfile .` uses the
# official node images.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DOCKER="${DOCKER:-docker}"
TAG="fluxo:local"
RUNTIME_BASE="${FLUXO_RUNTIME_BASE:-fluxo-base-runtime:node20}"
BUILD_BASE="${FLUXO_BUILD_BASE:-fluxo-base-build:node20}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
REBUILD_BASES=0
BASES_ONLY=0
CONTEXT="${FLUXO_BUILD_CONTEXT:-worktree}"

while [ $# -gt 0 ]; do
  case "$1" in
    --tag) TAG="$2"; shift 2 ;;
    --rebuild-bases) REBUILD_BASES=1; shift ;;
    --bases-only) BASES_ONLY=1; shift ;;
    --context) CONTEXT="$2"; shift 2 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "build-base-image.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

log() { echo "build-base-image: $*" >&2; }
die() { log "error: $*"; exit 1; }

"$DOCKER" version --format '{{.Server.Version}}' > /dev/null 2>&1 || die "no Docker engine answers (start dockerd first)"
NODE_BIN="$(command -v node)" || die "node not found"
NODE_BIN="$(readlink -f "$NODE_BIN")"
NODE_MAJOR="$("$NODE_BIN" -p 'process.versions.node.split(".")[0]')"
[ "$NODE_MAJOR" -ge 20 ] || die "Node 20 or newer needed, found $("$NODE_BIN" --version)"
NODE_LIBS="$(ldd "$NODE_BIN")"
case "$NODE_LIBS" in *libc.so.6*) ;; *) die "$NODE_BIN is not linked against glibc" ;; esac

WORK="$(mktemp -d /tmp/fluxo-base.XXXXXX)"
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT

have_image() { "$DOCKER" image inspect "$1" > /dev/null 2>&1; }

# Copies a file into ROOTFS at the same path (symlinks resolved, so the library lands under its soname).
copy_same_path() {
  local rootfs="$1" file="$2"
  mkdir -p "$rootfs$(dirname "$file")"
  cp -L "$file" "$rootfs$file"
}

# /etc/passwd and /etc/group with the runtime user (uid/gid 10001, the Dockerfile's USER).
write_users() {
  local rootfs="$1"
  mkdir -p "$rootfs/etc"
  grep -q '^fluxo:' "$rootfs/etc/passwd" 2>/dev/null || echo 'fluxo:x:10001:10001:fluxo:/var/lib/fluxo:/sbin/nologin' >> "$rootfs/etc/passwd"
  grep -q '^fluxo:' "$rootfs/etc/group" 2>/dev/null || echo 'fluxo:x:10001:' >> "$rootfs/etc/group"
}

build_runtime_base() {
  local rootfs="$WORK/runtime"
  log "making $RUNTIME_BASE from $NODE_BIN ($("$NODE_BIN" --version)) and its shared libraries"
  mkdir -p "$rootfs/usr/local/bin" "$rootfs/tmp" "$rootfs/etc"
  chmod 1777 "$rootfs/tmp"
  cp -L "$NODE_BIN" "$rootfs/usr/local/bin/node"
  local libs
  libs="$(ldd "$NODE_BIN" | awk '/=> \//{print $3} /^[ \t]*\/lib.*ld-linux/{print $1}')"
  for lib in $libs; do copy_same_path "$rootfs" "$lib"; done
  # The native addons also link librt (classic-level) and libstdc++/libgcc_s/libm (zstd-napi, napi-rs ones).
  local libdir
  libdir="$(dirname "$(ldd "$NODE_BIN" | awk '/libc.so.6/{print $3}')")"
  for so in librt.so.1 libm.so.6 libdl.so.2 libpthread.so.0 libstdc++.so.6 libgcc_s.so.1; do
    [ -e "$libdir/$so" ] && copy_same_path "$rootfs" "$libdir/$so"
  done
  write_users "$rootfs"
  echo 'root:x:0:0:root:/root:/sbin/nologin' >> "$rootfs/etc/passwd"
  echo 'root:x:0:' >> "$rootfs/etc/group"
  tar -C "$rootfs" -c . | "$DOCKER" import \
    --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
    --change 'CMD ["node"]' \
    - "$RUNTIME_BASE" > /dev/null
  "$DOCKER" run --rm "$RUNTIME_BASE" node -e 'process.exit(0)' || die "$RUNTIME_BASE cannot run node"
}

build_build_base() {
  command -v debootstrap > /dev/null || die "debootstrap not found (apt-get install -y debootstrap)"
  local rootfs="$WORK/build"
  log "making $BUILD_BASE: debootstrap bookworm minbase from $DEBIAN_MIRROR (python3, make, g++)"
  debootstrap --variant=minbase --include=python3,make,g++,ca-certificates bookworm "$rootfs" "$DEBIAN_MIRROR" \
    > "$WORK/debootstrap.log" 2>&1 || { tail -20 "$WORK/debootstrap.log" >&2; die "debootstrap failed"; }
  rm -rf "$rootfs/var/cache/apt/archives/"*.deb "$rootfs/var/lib/apt/lists/"*
  cp -L "$NODE_BIN" "$rootfs/usr/local/bin/node"
  local npm_dir headers
  npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
  [ -f "$npm_dir/package.json" ] || die "npm's package folder not found (from $(command -v npm))"
  mkdir -p "$rootfs/usr/local/lib/node_modules"
  cp -r "$npm_dir" "$rootfs/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  # Node's headers, so node-gyp builds without downloading them (npm_config_nodedir below).
  headers="$(dirname "$(dirname "$NODE_BIN")")/include/node"
  [ -f "$headers/node_api.h" ] || die "Node headers not found at $headers"
  mkdir -p "$rootfs/usr/local/include"
  cp -r "$headers" "$rootfs/usr/local/include/node"
  # This machine's CA bundle (it may hold the CA of a TLS-intercepting egress proxy npm goes through).
  local ca=/etc/ssl/certs/ca-certificates.crt
  [ -f "$ca" ] && cp -L "$ca" "$rootfs/etc/ssl/certs/host-ca-certificates.crt"
  write_users "$rootfs"
  tar -C "$rootfs" -c . | "$DOCKER" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV npm_config_nodedir=/usr/local' \
    --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/host-ca-certificates.crt' \
    --change 'ENV npm_config_cafile=/etc/ssl/certs/host-ca-certificates.crt' \
    --change 'CMD ["bash"]' \
    - "$BUILD_BASE" > /dev/null
  "$DOCKER" run --rm "$BUILD_BASE" sh -c 'node --version && npm --version && g++ --version | head -1' >&2 \
    || die "$BUILD_BASE is not usable"
}

if [ "$REBUILD_BASES" = 1 ] || ! have_image "$RUNTIME_BASE"; then build_runtime_base; else log "reusing $RUNTIME_BASE"; fi
if [ "$REBUILD_BASES" = 1 ] || ! have_image "$BUILD_BASE"; then build_build_base; else log "reusing $BUILD_BASE"; fi
[ "$BASES_ONLY" = 1 ] && exit 0

# The build context is the working tree's source files (tracked and new, not ignored): no node_modules or
# dist from this machine, whichever builder (classic or BuildKit) the docker client uses.
cd "$REPO_ROOT"
if [ "$CONTEXT" = head ]; then
  git archive --format=tar -o "$WORK/context.tar" HEAD
  tar -rf "$WORK/context.tar" deploy/docker/Dockerfile deploy/docker/*.mjs   # committed or not
elif [ "$CONTEXT" != worktree ]; then
  die "--context must be worktree or head"
elif git rev-parse --is-inside-work-tree > /dev/null 2>&1; then
  git ls-files -z --cached --others --exclude-standard | xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh \
    | tar --null -T - -cf "$WORK/context.tar"
else
  tar --exclude=node_modules --exclude=dist --exclude=.git -cf "$WORK/context.tar" .
fi
log "building $TAG (context $(du -h "$WORK/context.tar" | cut -f1))"
"$DOCKER" build -f deploy/docker/Dockerfile \
  --build-arg "BUILD_IMAGE=$BUILD_BASE" --build-arg "BASE_IMAGE=$RUNTIME_BASE" \
  -t "$TAG" - < "$WORK/context.tar" >&2
log "built $TAG ($("$DOCKER" image inspect --format '{{.Size}}' "$TAG" | awk '{printf "%.0f MB", $1/1e6}'))"
