#!/usr/bin/env bash
# The Quick start on a fresh machine: `make run` installs what is missing and
# builds with the right flags in ONE invocation, and a build whose pkg-config
# lookup fails names the missing package and `make deps`.
#
# Nothing is uninstalled: a copy of this checkout is built with stand-ins.
# PKG_CONFIG points to a pkg-config that fails (as on a machine without the
# -dev packages) until a marker file exists; DEPS_SCRIPT points to a stand-in
# for scripts/deps.sh that creates the marker (as installing would).  Before
# the fix, make evaluated pkg-config once, before deps ran, and compiled with
# empty flags (libpq-fe.h: No such file or directory).
# Closes with "N passed, N failed".
set -u
ROOT=${TORN_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
work=$(mktemp -d /tmp/torn-fresh-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
. "$(dirname "$0")/lib.sh"
real_pc=$(command -v pkg-config) || { echo "pkg-config missing"; echo "0 passed, 1 failed"; exit 1; }

# The checkout as it is (tracked files, uncommitted edits included), no build.
clone=$work/torn
mkdir -p "$clone"
git -C "$ROOT" ls-files -z | (cd "$ROOT" && tar --null -T - -cf -) | tar -xf - -C "$clone"

mark=$work/installed
cat >"$work/pkg-config" <<PC
#!/bin/sh
# Fails like pkg-config on a machine without the -dev packages, until
# the stand-in deps script has "installed" them.
[ -e "$mark" ] || { echo "Package libpq was not found in the pkg-config search path." >&2; exit 1; }
exec "$real_pc" "\$@"
PC
cat >"$work/deps.sh" <<DEPS
#!/bin/sh
echo "deps.sh (stand-in): installing" >&2
touch "$mark"
DEPS
# Only libpq missing: the message must name it and its Debian package.
cat >"$work/pkg-config-nolibpq" <<PC
#!/bin/sh
for a in "\$@"; do [ "\$a" = libpq ] && { echo "Package libpq was not found" >&2; exit 1; }; done
exec "$real_pc" "\$@"
PC
chmod +x "$work/pkg-config" "$work/deps.sh" "$work/pkg-config-nolibpq"

# 1. A plain build without the packages: one line naming them, exit 2.
out=$(make -C "$clone" --no-print-directory PKG_CONFIG="$work/pkg-config-nolibpq" torn 2>&1)
rc=$?
if [[ $rc -eq 2 ]] && grep -q "finds no libpq (Debian: libpq-dev); run 'make deps'" <<<"$out" \
    && ! grep -q 'No such file' <<<"$out"; then
    ok "a build without libpq stops with one line naming libpq, libpq-dev and 'make deps' (exit 2)"
else
    bad "a build without libpq: exit $rc, output:"; sed 's/^/     /' <<<"$out" | tail -5
fi
[[ ! -e "$clone/build/harness/cli/main.o" ]] && ok "nothing was compiled with empty flags" \
    || bad "objects were compiled before the missing package was named"

# 2. `make run` on the "fresh machine": installs, builds, runs, first time.
start=$(date +%s)
out=$(make -C "$clone" --no-print-directory -j2 PKG_CONFIG="$work/pkg-config" \
    DEPS_SCRIPT="$work/deps.sh" \
    RUN_ARGS="--quiet --target file:durable --scenario corrupt-read --run-dir $work" run 2>&1)
rc=$?
if [[ $rc -eq 0 ]]; then
    ok "make run succeeds on its first invocation ($(($(date +%s) - start)) s, build included)"
else
    bad "make run, first invocation: exit $rc"; sed 's/^/     /' <<<"$out" | tail -8
fi
grep -q 'deps.sh (stand-in): installing' <<<"$out" && ok "make run installed the packages first" \
    || bad "make run did not call the deps script"
[[ -x "$clone/build/torn" ]] && ok "the first make run built torn" || bad "no torn binary"

# 3. `make test` installs first and builds in a fresh make, like run (its
# recipe: the deps script, then a sub-make; checked without running the suite).
out=$(make -C "$clone" --no-print-directory -n test DEPS_SCRIPT="$work/deps.sh" 2>&1 | head -3)
grep -q "$work/deps.sh" <<<"$out" && ok "make test runs the deps script before building" \
    || { bad "make test does not install first:"; sed 's/^/     /' <<<"$out"; }

finish
