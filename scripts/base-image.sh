#!/usr/bin/env bash
# Build, or re-import from cache, ONE local base image standing in for
# python:3.12-slim, nginx:stable and redis:7 on a machine with no container registry.
#
# Strategy: debootstrap a minimal Debian bookworm holding python3 (3.11, with
# venv), nginx-light and redis-server, add the host's CA certificates (containers reach PyPI
# through a TLS-intercepting proxy here, so pip inside a build needs them),
# trim it, and cache the root filesystem as a compressed tarball under
# .cache/base-image/ (git-ignored). The image tag carries a hash of the recipe
# and the host's CA certificates, so a changed recipe builds afresh while an
# unchanged one is re-imported from the tarball in seconds.
#
# Prints the assignments for docker compose on stdout, progress on stderr:
#     PYTHON_IMAGE=framework-base:bookworm-<hash>
#     NGINX_IMAGE=framework-base:bookworm-<hash>
#     REDIS_IMAGE=framework-base:bookworm-<hash>
#     NOFILE=<n>    (only where the engine allows containers fewer than 65536 open files)
# so a user without a registry runs:
#     export $(scripts/base-image.sh) && docker compose up --build
#
# Usage: scripts/base-image.sh [--rebuild]   (--rebuild ignores the cache)
# Needs root (debootstrap, chroot) on the first, cold run only.
set -euo pipefail
cd "$(dirname "$0")/.."

SUITE=bookworm
PACKAGES=python3,python3-venv,nginx-light,redis-server,ca-certificates
CACHE_DIR=.cache/base-image
REPO=framework-base

say() { echo "== base-image: $*" >&2; }

rebuild=0
case "${1:-}" in
  --rebuild) rebuild=1 ;;
  "") ;;
  *) echo "usage: $0 [--rebuild]" >&2; exit 2 ;;
esac

host_cas() { ls /usr/local/share/ca-certificates/*.crt 2>/dev/null || true; }
emit() {
  printf 'PYTHON_IMAGE=%s\nNGINX_IMAGE=%s\nREDIS_IMAGE=%s\n' "$image" "$image" "$image"
  # Containers cannot exceed the engine's own open-file limit (20000 on this
  # machine kind) and docker-compose.yml asks for 65536 unless NOFILE says less.
  local limit
  limit=$(docker run --rm "$image" sh -c 'ulimit -Hn' 2>/dev/null) || limit=""
  if [[ $limit =~ ^[0-9]+$ ]] && [ "$limit" -lt 65536 ]; then echo "NOFILE=$limit"; fi
}

import_tarball() {
  say "importing $tarball as $image"
  "${decompress[@]}" "$tarball" | docker import \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'ENV LANG=C.UTF-8' \
    -c 'CMD ["/bin/bash"]' \
    - "$image" >/dev/null
}

debian_mirror() {
  # The first "URIs:" line of the deb822 sources, else the classic list, else Debian's CDN.
  local uri
  uri=$(grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1 | awk '{print $2}' || true)
  [ -n "$uri" ] || uri=$(grep -h '^deb ' /etc/apt/sources.list 2>/dev/null | head -1 | awk '{print $2}' || true)
  echo "${uri:-http://deb.debian.org/debian}"
}

ensure_debootstrap() {
  command -v debootstrap >/dev/null && return
  [ "$(id -u)" = 0 ] || { echo "base-image: debootstrap is missing; run as root or 'apt-get install debootstrap'" >&2; exit 1; }
  say "installing debootstrap"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >&2
}

trim_rootfs() {
  local root=$1
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/cache/debconf/*-old \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
    "$root"/usr/share/locale/* "$root"/usr/share/lintian "$root"/var/log/*.log \
    "$root"/var/log/apt/* "$root"/tmp/* "$root"/root/.cache
  : > "$root/etc/resolv.conf"        # docker mounts its own; keep the host's out of the image
  echo "$REPO" > "$root/etc/hostname"
}

build_rootfs() {
  [ "$(id -u)" = 0 ] || { echo "base-image: the first build needs root (debootstrap, chroot)" >&2; exit 1; }
  ensure_debootstrap
  local root="$CACHE_DIR/rootfs.tmp" mirror
  mirror=$(debian_mirror)
  rm -rf "$root"; mkdir -p "$root"
  say "debootstrap $SUITE from $mirror (about a minute)"
  debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$root" "$mirror" >"$CACHE_DIR/debootstrap.log" 2>&1 \
    || { tail -20 "$CACHE_DIR/debootstrap.log" >&2; exit 1; }
  if [ -n "$(host_cas)" ]; then
    say "adding the host's CA certificates"
    cp $(host_cas) "$root/usr/local/share/ca-certificates/"
    chroot "$root" update-ca-certificates >/dev/null 2>&1
  fi
  trim_rootfs "$root"
  say "caching $tarball"
  tar --numeric-owner -C "$root" -c . | "${compress[@]}" > "$tarball.tmp"
  mv "$tarball.tmp" "$tarball"
  find "$CACHE_DIR" -maxdepth 1 -name "$SUITE-*.tar.*" ! -name "${tarball##*/}" -delete  # older recipes
  rm -rf "$root"
}

# The recipe (suite, packages, the functions above) plus the CA certificates baked in.
key=$( { echo "$SUITE $PACKAGES"; declare -f import_tarball trim_rootfs build_rootfs; host_cas | xargs -r cat; } \
  | sha256sum | cut -c1-12)
image="$REPO:$SUITE-$key"
if command -v zstd >/dev/null; then
  tarball="$CACHE_DIR/$SUITE-$key.tar.zst"; compress=(zstd -q -T0 -6); decompress=(zstd -q -dc)
else
  tarball="$CACHE_DIR/$SUITE-$key.tar.gz"; compress=(gzip -6); decompress=(gzip -dc)
fi

mkdir -p "$CACHE_DIR"
if [ "$rebuild" = 0 ] && docker image inspect "$image" >/dev/null 2>&1; then
  say "$image is present"
else
  if [ "$rebuild" = 1 ] || [ ! -s "$tarball" ]; then
    build_rootfs
  fi
  import_tarball
fi
emit
