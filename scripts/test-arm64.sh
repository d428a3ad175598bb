#!/usr/bin/env bash
# scripts/test-arm64.sh: Corral's own suite (mix test) on AArch64 Linux,
# emulated with qemu-user on an x86-64 host, in a Debian 12 (bookworm) arm64
# chroot made from Debian's own packages (OTP 25, Elixir 1.14, gcc 12).
#
#   scripts/test-arm64.sh [mix test arguments]
#       (default: --exclude toolchain --exclude address_space_limit: the
#       build-tool tests, far too slow emulated, and the ulimit -v test,
#       a limit qemu-user does not apply to the program it runs)
#   scripts/test-arm64.sh test/lock_test.exs     (one file)
#   CORRAL_MATRIX_DIR=/var/cache/corral-matrix   (where the chroot is kept)
#   CORRAL_MATRIX_MIRROR=http://deb.debian.org/debian
#   CORRAL_ARM64_TIMEOUT=3000                    (seconds for mix test)
#
# Everything inside the chroot runs under qemu-aarch64 (binfmt_misc), some
# 10-30 times slower than natively, on a 2-core host:
#   - building the chroot (once; kept in $CORRAL_MATRIX_DIR/arm64 and reused
#     while .corral-ready is there): about 5-10 minutes;
#   - the first compile of Corral and its test NIF libraries: several
#     minutes;
#   - the suite without the `toolchain` tests (compilers, rebar3, dialyzer:
#     far too slow emulated): tens of minutes; mix test is killed after
#     $CORRAL_ARM64_TIMEOUT seconds (exit status 124).
# Emulation runs the AArch64 code on an x86-64 host: qemu's TCG keeps much of
# the host's stronger memory ordering, so a passing run here is weak
# evidence about memory ordering on real AArch64 hardware; it does check the
# ABI (va_list, unsigned char, alignment, 128-bit integers) and the build.
#
# OTP 25's JIT writes its code through a second, writable mapping of the
# same memory (dual mapping); qemu-user does not see those writes as code
# changes and runs stale translations, so beam.smp crashes at once with
# SIGSEGV (qemu issue 1034; erlang/docker-erlang-otp#400). +JPperf true
# makes OTP 25 use single-mapped RWX memory for JIT code, which qemu
# handles (it only writes /tmp/perf-<pid>.map files besides). Debian ships
# no non-JIT emulator (-emu_flavor emu) to use instead. ERL_AFLAGS is not
# enough: Corral.Isolated starts its native VMs with ERL_AFLAGS cleared, so
# the chroot's beam.smp becomes a wrapper that adds the flag to every VM.
#
# The checkout is copied in (tracked and untracked files, not _build or
# deps), so what is tested is the work tree as it is now. The script exits
# with mix test's status. A step that cannot be done (no root, no network,
# no binfmt_misc) is a failure with the reason, never a silent skip.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cache=${CORRAL_MATRIX_DIR:-/var/cache/corral-matrix}
mirror=${CORRAL_MATRIX_MIRROR:-http://deb.debian.org/debian}
limit=${CORRAL_ARM64_TIMEOUT:-3000}
root=$cache/arm64
packages=erlang-nox,erlang-dev,elixir,gcc,make,libc6-dev,pkg-config,zlib1g-dev,libsqlite3-dev,sqlite3,git,ca-certificates
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(--exclude toolchain --exclude address_space_limit)

fail() { echo "test-arm64: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || fail "registering binfmt, building and entering the chroot need root (run as root, or with sudo)"
[[ "$limit" =~ ^[0-9]+$ ]] || fail "CORRAL_ARM64_TIMEOUT must be a number of seconds, not '$limit'"

mounted=()
# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
  local k p
  # What mix left running when timeout stopped it (C compilers it started,
  # VMs of tests): every process whose root is this chroot, before the
  # unmounts. (A second run in the same chroot at the same time would lose
  # its processes too: run one at a time.)
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && kill -KILL "${p#/proc/}" 2>/dev/null
  done
  # Innermost first: the rbinds of /dev and /sys carry submounts.
  for ((k = ${#mounted[@]} - 1; k >= 0; k--)); do
    umount -R "${mounted[k]}" 2>/dev/null || umount -l "${mounted[k]}" 2>/dev/null || true
  done
}
trap cleanup EXIT

# (a) qemu-user-static and an enabled binfmt_misc entry for aarch64 with the
# F flag (the interpreter is opened at registration, so it works inside a
# chroot that has no qemu of its own).
ensure_qemu() {
  if [ "$(uname -m)" = aarch64 ]; then return 0; fi
  local missing=()
  command -v qemu-aarch64-static >/dev/null || missing+=(qemu-user-static)
  command -v update-binfmts >/dev/null || missing+=(binfmt-support)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "== installing ${missing[*]}"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; } ||
      fail "could not install ${missing[*]} with apt-get"
  fi
  if [ ! -e /proc/sys/fs/binfmt_misc/status ]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc ||
      fail "binfmt_misc is not mounted and cannot be (mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc)"
  fi
  local entry=/proc/sys/fs/binfmt_misc/qemu-aarch64
  if [ ! -e "$entry" ] || ! grep -qx enabled "$entry"; then
    update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || systemctl restart binfmt-support >/dev/null 2>&1 || true
  fi
  if [ ! -e "$entry" ] || ! grep -qx enabled "$entry"; then
    fail "no enabled binfmt_misc entry qemu-aarch64 (update-binfmts --enable qemu-aarch64)"
  fi
  grep -q '^flags:.*F' "$entry" ||
    fail "the qemu-aarch64 binfmt entry lacks the F flag, so it does not work inside a chroot ($(grep '^flags' "$entry"))"
}

# (b) The arm64 bookworm chroot, built once. debootstrap runs the second
# stage through qemu by itself when binfmt is registered.
build_root() {
  if [ -f "$root/.corral-ready" ]; then
    return 0
  fi
  echo "== arm64: building the chroot in $root (debootstrap under emulation, 5-10 minutes)"
  rm -rf "$root.tmp"
  mkdir -p "$cache"
  if ! debootstrap --arch=arm64 --variant=minbase --include="$packages" bookworm "$root.tmp" "$mirror" \
      >"$cache/arm64.debootstrap.log" 2>&1; then
    tail -n 20 "$cache/arm64.debootstrap.log" >&2
    fail "debootstrap of arm64 bookworm from $mirror failed (log: $cache/arm64.debootstrap.log)"
  fi
  rm -rf "$root"
  mv "$root.tmp" "$root"
  touch "$root/.corral-ready"
}

# (c) proc, dev and sys as on the host, and a fresh tmpfs on /tmp.
mount_into() {
  mountpoint -q "$root/proc" || { mount -t proc proc "$root/proc"; mounted+=("$root/proc"); }
  mountpoint -q "$root/dev" || { mount --rbind /dev "$root/dev"; mount --make-rslave "$root/dev"; mounted+=("$root/dev"); }
  mountpoint -q "$root/sys" || { mount --rbind /sys "$root/sys"; mount --make-rslave "$root/sys"; mounted+=("$root/sys"); }
  mountpoint -q "$root/tmp" || { mount -t tmpfs tmpfs "$root/tmp"; mounted+=("$root/tmp"); }
  cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
}

ensure_qemu
build_root
[ "$(chroot "$root" uname -m)" = aarch64 ] || fail "the chroot in $root does not run as aarch64 ($(chroot "$root" uname -m 2>&1))"
mount_into

# Every VM in the chroot with single-mapped JIT memory (see the header).
jit_wrapper() {
  local beam
  for beam in "$root"/usr/lib/erlang/erts-*/bin/beam.smp; do
    [ -e "$beam" ] || fail "no beam.smp in the chroot (is erlang-nox installed in $root?)"
    if [ ! -e "$beam.jit" ]; then
      mv "$beam" "$beam.jit"
      # shellcheck disable=SC2016  # $0 and $@ are the wrapper's own
      printf '#!/bin/sh\n# qemu-user: single-mapped JIT memory, see scripts/test-arm64.sh\nexec "$0.jit" -JPperf true "$@"\n' >"$beam"
      chmod 755 "$beam"
    fi
  done
}
jit_wrapper

erl_flags="+JPperf true -kernel shell_history disabled"
versions=$(chroot "$root" env ERL_AFLAGS="$erl_flags" sh -c 'erl -noshell -eval "io:format(\"OTP ~s, erts ~s, ~s\", [erlang:system_info(otp_release), erlang:system_info(version), erlang:system_info(system_architecture)]), halt()." && elixir --short-version 2>/dev/null | sed "s/^/, Elixir /" && gcc -dumpversion | sed "s/^/, gcc /"' | tr -d '\n') ||
  fail "Erlang does not start in the arm64 chroot"
echo "== arm64: $versions"

# A fresh copy of the work tree each run: no _build of the host leaks in.
rm -rf "$root/corral"
mkdir -p "$root/corral"
(cd "$here" && git ls-files -z --cached --others --exclude-standard | grep -zv -e '^_build/' -e '^deps/' -e '/_build/' -e '/deps/' |
  tar --null -T - -cf -) | tar -C "$root/corral" -xf -

# (d) mix test, bounded; its status is the script's.
quoted=$(printf ' %q' "${args[@]}")
echo "== arm64: mix test$quoted (at most $limit s)"
start=$SECONDS
status=0
chroot "$root" env -i HOME=/root PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin LANG=C.UTF-8 LC_ALL=C.UTF-8 \
  TERM=dumb CI="${CI:-}" MIX_ENV=test ERL_AFLAGS="$erl_flags" \
  sh -c "cd /corral && timeout -k 30 $limit mix test$quoted" || status=$?
if [ "$status" -eq 0 ]; then
  echo "== arm64: passed in $((SECONDS - start)) s"
elif [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  echo "== arm64: mix test did not finish in $limit s (status $status)" >&2
else
  echo "== arm64: FAILED with status $status (after $((SECONDS - start)) s)" >&2
fi
exit "$status"
