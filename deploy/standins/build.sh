#!/usr/bin/env bash
# Builds local stand-ins for the registry images that deploy/ uses, from Debian packages
# only (no registry is reachable on the development machines and CI):
#   debian:bookworm-slim  debootstrap --variant=minbase, then `docker import`
#   python:3.10-slim      + this machine's CPython 3.10 (scripts/find-python310)
#   postgres:15  redis:7  nginx:1.27   + Debian's packages (see *.Dockerfile)
# Each image is tagged with a hash of what it is built from, and is built only when
# no image with that tag exists: a second run takes seconds.
# Prints the variables that deploy/docker-compose.yml reads, e.g. PYTHON_IMAGE=...
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
repo=training-assistant-standin
log() { echo "standins: $*" >&2; }
exists() { docker image inspect "$1" >/dev/null 2>&1; }
hash_of() { cat "$@" | sha256sum | cut -c1-12; }

# Where apt on this machine gets Debian from (the only package source there is).
mirror=${DEBIAN_MIRROR:-$(sed -n 's/^URIs: *\([^ ]*\/debian\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)}
mirror=${mirror:-$(awk '$1 == "deb" && $2 ~ /\/debian\/?$/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)}

debian=$repo/debian:bookworm
if ! exists "$debian"; then
  command -v debootstrap >/dev/null || { echo "debootstrap is missing: apt-get install debootstrap" >&2; exit 1; }
  [ -n "$mirror" ] || { echo "No Debian mirror found in /etc/apt: set DEBIAN_MIRROR" >&2; exit 1; }
  log "debootstrap bookworm (about 2 min)"
  dir=$(mktemp -d)
  debootstrap --variant=minbase bookworm "$dir" "$mirror" >"$dir.log" 2>&1 || { cat "$dir.log" >&2; exit 1; }
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
  tar -C "$dir" -c . | docker import -c 'CMD ["bash"]' - "$debian" >/dev/null
  rm -rf "$dir" "$dir.log"
fi

build() {  # build NAME DOCKERFILE CONTEXT_DIR HASH
  local image=$repo/$1:$4
  if ! exists "$image"; then
    log "building $image"
    docker build --quiet --network host --build-arg "DEBIAN_IMAGE=$debian" \
      -f "$2" -t "$image" "$3" >/dev/null
  fi
  echo "$image"
}

python=$("$root/scripts/find-python310")
prefix=$("$python" -c 'import sys; print(sys.base_prefix)')
version=$("$python" -c 'import platform; print(platform.python_version())')
python_image=$repo/python:$version-$(hash_of "$here/python.Dockerfile" <(echo "$prefix"))
if ! exists "$python_image"; then
  ctx=$(mktemp -d)
  # The interpreter without its own test suite and Tk (not needed to run the assistant).
  tar -C "$prefix" -c --exclude=lib/python3.10/test --exclude=lib/python3.10/idlelib \
      --exclude=lib/python3.10/tkinter --exclude='__pycache__' bin include lib share \
    | { mkdir "$ctx/python" && tar -C "$ctx/python" -x; }
  build python "$here/python.Dockerfile" "$ctx" "${python_image##*:}" >/dev/null
  rm -rf "$ctx"
fi

echo "PYTHON_IMAGE=$python_image"
echo "POSTGRES_IMAGE=$(build postgres "$here/postgres.Dockerfile" "$here" "$(hash_of "$here/postgres.Dockerfile" "$here/postgres-entrypoint.sh")")"
echo "REDIS_IMAGE=$(build redis "$here/redis.Dockerfile" "$here" "$(hash_of "$here/redis.Dockerfile")")"
echo "NGINX_IMAGE=$(build nginx "$here/nginx.Dockerfile" "$here" "$(hash_of "$here/nginx.Dockerfile")")"
