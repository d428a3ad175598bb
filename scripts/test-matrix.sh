#!/usr/bin/env bash
# make test-matrix: the whole `make test` of this checkout on the newer
# Erlang/OTP and Elixir releases, each in a Debian chroot made from Debian's
# own packages:
#   trixie  Debian 13       OTP 27, Elixir 1.18, gcc 14
#   forky   Debian testing  OTP 29, Elixir 1.20, gcc 16
# The chroots are built once with debootstrap and kept in $CORRAL_MATRIX_DIR
# (default /var/cache/corral-matrix); later runs only refresh their packages
# when the package lists are more than a week old. The checkout is copied in
# (tracked and untracked files, not _build), so what is tested is the work
# tree as it is now.
#
#   scripts/test-matrix.sh [trixie|forky ...]   (default: both)
#   CORRAL_MATRIX_TARGET="test-corral"          (the make target run inside)
#
# A chroot that cannot be built (no network, no root) is a failure with the
# reason, never a silent skip.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cache=${CORRAL_MATRIX_DIR:-/var/cache/corral-matrix}
mirror=${CORRAL_MATRIX_MIRROR:-http://deb.debian.org/debian}
target=${CORRAL_MATRIX_TARGET:-test}
packages=erlang-nox,erlang-dev,elixir,gcc,make,libc6-dev,pkg-config,zlib1g-dev,libsqlite3-dev,sqlite3,git,ca-certificates
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(trixie forky)

fail() { echo "test-matrix: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || fail "building and entering chroots needs root (run as root, or with sudo)"
command -v debootstrap >/dev/null || fail "debootstrap is missing (apt-get install debootstrap)"

# debootstrap knows trixie by name; forky (testing) is built with the sid
# script, which takes any suite name.
script_for() {
  case "$1" in
    forky) echo /usr/share/debootstrap/scripts/sid ;;
    *) echo "" ;;
  esac
}

mounted=()
cleanup() {
  local m
  for m in "${mounted[@]}"; do umount -l "$m" 2>/dev/null || true; done
}
trap cleanup EXIT

build_root() {
  local suite=$1 root=$cache/$1
  if [ -f "$root/.corral-ready" ]; then
    return 0
  fi
  echo "== $suite: building the chroot in $root (debootstrap, a few minutes)"
  rm -rf "$root.tmp"
  mkdir -p "$cache"
  # shellcheck disable=SC2046
  if ! debootstrap --variant=minbase --include="$packages" "$suite" "$root.tmp" "$mirror" $(script_for "$suite") \
      >"$cache/$suite.debootstrap.log" 2>&1; then
    tail -n 20 "$cache/$suite.debootstrap.log" >&2
    fail "debootstrap of $suite from $mirror failed (log: $cache/$suite.debootstrap.log)"
  fi
  rm -rf "$root"
  mv "$root.tmp" "$root"
  touch "$root/.corral-ready"
}

# Debian testing's Release file is valid for a week only; a mirror that
# serves an older snapshot of it would make every apt-get update in the
# chroot fail ("Release file ... is expired"), and with it the installs that
# make test asks for. The chroot is a throwaway test bed, so it accepts it.
apt_settings() {
  local root=$1
  printf '%s\n' 'Acquire::Check-Valid-Until "false";' >"$root/etc/apt/apt.conf.d/99corral-matrix"
}

mount_into() {
  local root=$1
  mountpoint -q "$root/proc" || { mount -t proc proc "$root/proc"; mounted+=("$root/proc"); }
  mountpoint -q "$root/dev" || { mount --rbind /dev "$root/dev"; mounted+=("$root/dev"); }
  cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
}

refresh_root() {
  local suite=$1 root=$cache/$1
  # Keep a cached chroot current (Debian testing moves), but at most weekly.
  if [ -z "$(find "$root/.corral-ready" -mtime -7 2>/dev/null)" ]; then
    echo "== $suite: refreshing packages"
    chroot "$root" sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get -y -qq upgrade >/dev/null" \
      || fail "could not refresh the packages of the $suite chroot"
    touch "$root/.corral-ready"
  fi
}

run_suite() {
  local suite=$1 root=$cache/$1 start=$SECONDS
  build_root "$suite"
  apt_settings "$root"
  mount_into "$root"
  refresh_root "$suite"
  local versions
  versions=$(chroot "$root" sh -c 'erl -noshell -eval "io:format(\"OTP ~s, erts ~s\", [erlang:system_info(otp_release), erlang:system_info(version)]), halt()." && elixir --short-version 2>/dev/null | sed "s/^/, Elixir /" && gcc -dumpversion | sed "s/^/, gcc /"' | tr -d '\n')
  echo "== $suite: $versions"
  # A fresh copy of the work tree each run: no _build of another OTP leaks in.
  rm -rf "$root/corral"
  mkdir -p "$root/corral"
  (cd "$here" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf -) | tar -C "$root/corral" -xf -
  if chroot "$root" env -i HOME=/root PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin LANG=C.UTF-8 \
      TERM=dumb CI="${CI:-}" sh -c "cd /corral && make -k $target"; then
    echo "== $suite: passed in $((SECONDS - start)) s"
  else
    echo "== $suite: FAILED (after $((SECONDS - start)) s)" >&2
    return 1
  fi
}

failed=()
for suite in "${suites[@]}"; do
  case "$suite" in
    trixie | forky) ;;
    *) fail "unknown suite $suite (trixie or forky)" ;;
  esac
  run_suite "$suite" || failed+=("$suite")
done

if [ ${#failed[@]} -gt 0 ]; then
  fail "make $target failed on: ${failed[*]}"
fi
echo "test-matrix: make $target passed on: ${suites[*]}"
