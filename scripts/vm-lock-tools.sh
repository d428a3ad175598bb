#!/usr/bin/env bash
# Shows that the VM's lock tools see a library built with vm_locks: true
# (docs/safety.md, "Locks the VM's tools can see"): lcnt counts its locks
# by their names, and a debug emulator's lock checker (OTP 26 and later)
# stops the VM when a Corral lock and another NIF lock are taken in both
# orders.
#
# Debian ships neither emulator, so this builds both, once, from Debian's
# source of the Erlang/OTP in the trixie chroot that `make test-matrix`
# keeps (OTP 27), and installs them beside that chroot's beam.smp, where
# `erl -emu_type lcnt` and `-emu_type debug` find them. Then, in the
# chroot, it builds scripts/vm_lock_tools (a Mix project with vm_locks:
# true) with this checkout of Corral and runs its two scripts.
#
# `make test-vm-lock-tools`. Not part of CI: it needs the chroot, and the
# first run configures the source and builds the two emulators (minutes:
# the two builds took about four on two cores; later runs take seconds).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cache=${CORRAL_MATRIX_DIR:-/var/cache/corral-matrix}
root=$cache/trixie
src=/opt/otpsrc

fail() { echo "vm-lock-tools: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || fail "entering the chroot needs root"
if [ ! -f "$root/.corral-ready" ]; then
  CORRAL_MATRIX_TARGET=deps "$here/scripts/test-matrix.sh" trixie >/dev/null ||
    fail "the trixie chroot could not be made (scripts/test-matrix.sh trixie)"
fi

in_root() { chroot "$root" env HOME=/root LANG=C.UTF-8 PATH=/usr/sbin:/usr/bin:/sbin:/bin sh -c "$1"; }

erts=$(in_root 'erl -noshell -eval "io:format(\"~s\", [code:root_dir() ++ \"/erts-\" ++ erlang:system_info(version)]), halt()."')

# Both emulators, unless an earlier run installed them.
if [ ! -x "$root$erts/bin/beam.debug.smp" ] || [ ! -x "$root$erts/bin/beam.lcnt.smp" ]; then
  echo "== building the debug and lcnt emulators of the chroot's Erlang/OTP (once; minutes)"
  echo "deb-src http://deb.debian.org/debian trixie main" >"$root/etc/apt/sources.list.d/corral-src.list"
  in_root "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dpkg-dev g++ libncurses-dev perl >/dev/null" ||
    fail "could not install the build tools in the chroot"
  # The upstream tarball only: the Debian revision of a security update
  # may be gone from the mirror, and the emulator needs none of its patches
  # to run the chroot's own libraries (the erts version is checked below).
  in_root "mkdir -p $src && cd $src && ls *.orig.tar.* >/dev/null 2>&1 || apt-get source --download-only erlang >/dev/null 2>&1; ls *.orig.tar.*" >/dev/null ||
    fail "could not download the source of erlang"
  in_root "cd $src && ls -d otp-*/ >/dev/null 2>&1 || tar xf *.orig.tar.*"
  otp=$src/$(in_root "cd $src && ls -d otp-*/ | head -n 1 | tr -d /")
  want=${erts##*/erts-}
  have=$(in_root "sed -n 's/^VSN *= *//p' $otp/erts/vsn.mk")
  [ "$have" = "$want" ] || fail "the source is erts $have, the chroot runs erts $want"
  in_root "cd $otp && export ERL_TOP=\$PWD && { [ -f make/config.status ] || ./configure --without-ssl --without-javac --without-wx --without-odbc --without-termcap >$src/configure.log 2>&1; }" ||
    fail "configure failed ($root$src/configure.log)"
  for type in debug lcnt; do
    # The emulator only (erts/emulator), not the tools around it: the
    # chroot has those.
    in_root "cd $otp && export ERL_TOP=\$PWD && make -C erts/emulator -j$(nproc) $type >$src/make-$type.log 2>&1" ||
      fail "the $type emulator did not build ($root$src/make-$type.log)"
    built=$(cd "$root$otp/bin" && ls -d */beam.$type.smp | head -n 1)
    install -m 755 "$root$otp/bin/$built" "$root$erts/bin/beam.$type.smp"
    # Its own erl_child_setup, which it starts by that name.
    install -m 755 "$root$otp/bin/${built%/*}/erl_child_setup.$type" "$root$erts/bin/erl_child_setup.$type"
  done
fi

# The project, with this checkout of Corral.
rm -rf "$root/opt/corral" "$root/opt/vm_lock_tools"
mkdir -p "$root/opt/corral"
git -C "$here" ls-files -z | (cd "$here" && xargs -0 tar cf -) | tar xf - -C "$root/opt/corral"
cp -r "$here/scripts/vm_lock_tools" "$root/opt/vm_lock_tools"
project="cd /opt/vm_lock_tools && export CORRAL_PATH=/opt/corral MIX_ENV=dev"
in_root "$project && mix compile >/dev/null" || fail "scripts/vm_lock_tools did not build"

status=0

echo "== lcnt"
line=$(grep -n "corral_lock(c, &x->mx)" "$here/scripts/vm_lock_tools/c_src/lock_check_nif/lock_check_nif.c" | head -n 1 | cut -d: -f1)
name="Elixir.LockCheck[mutex lock_check_nif.c:$line]"
lcnt=$(in_root "$project && elixir --erl '-emu_type lcnt' -S mix run lcnt.exs '$name'" 2>&1) || true
echo "$lcnt"
if ! echo "$lcnt" | grep -q "^count: 800000$"; then
  echo "vm-lock-tools: lcnt: the count under the lock is not 800000" >&2; status=1
elif ! echo "$lcnt" | grep -F "'$name'" | grep -q " 800000 "; then
  echo "vm-lock-tools: lcnt does not show '$name' taken 800000 times" >&2; status=1
else
  echo "ok: lcnt shows '$name' taken 800000 times"
fi

echo "== the debug emulator's lock checker"
order=$(in_root "$project && elixir --erl '-emu_type debug' -S mix run order.exs" 2>&1) || true
echo "$order"
if ! echo "$order" | grep -q "^mine then other: :ok$"; then
  echo "vm-lock-tools: the debug emulator did not run the first call" >&2; status=1
elif ! echo "$order" | grep -q "DYNAMIC LOCK ORDER VIOLATION"; then
  echo "vm-lock-tools: the lock checker did not stop the reversed order" >&2; status=1
elif ! echo "$order" | grep -F -q "'Elixir.LockCheck'"; then
  echo "vm-lock-tools: the violation does not name the library's locks" >&2; status=1
elif echo "$order" | grep -q "the VM was not stopped"; then
  echo "vm-lock-tools: the VM went on after the violation" >&2; status=1
else
  echo "ok: the lock checker stopped the VM on the reversed order, naming Elixir.LockCheck"
fi

exit $status
