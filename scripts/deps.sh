#!/usr/bin/env bash
# Install the Debian 12 packages torn needs, only those that are missing.
# Idempotent and quiet when everything is present.  Run as root (or with sudo).
set -euo pipefail

PKGS=(
  build-essential pkg-config clang clang-14 libclang-rt-14-dev
  libhiredis-dev libpq-dev libcurl4-openssl-dev libcjson-dev libssl-dev
  libfuse3-dev fuse3 libwebsockets-dev libmicrohttpd-dev libwslay-dev
  redis-server redis-tools postgresql postgresql-contrib
  afl++ lld-14 wrk python3 libxml2-utils procps chromium jq man-db zsh fish
  prometheus-pushgateway
)
# Optional extra packages (e.g. TORN_DEPS_SKIP="chromium") can be skipped.
skip=" ${TORN_DEPS_SKIP:-} "

missing=()
for p in "${PKGS[@]}"; do
  [[ "$skip" == *" $p "* ]] && continue
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  SUDO="sudo"
fi
echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts the packaged servers on install; torn runs its own, so stop
# the system ones when we just installed them (they would hold default ports).
for svc in redis-server postgresql prometheus-pushgateway; do
  if [[ " ${missing[*]} " == *" $svc "* ]] && command -v service >/dev/null; then
    $SUDO service "$svc" stop >/dev/null 2>&1 || true
  fi
done
echo "deps.sh: done" >&2
