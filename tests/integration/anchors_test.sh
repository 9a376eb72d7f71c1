#!/usr/bin/env bash
# Check every public reference history in tests/anchors (a copy of ../shared/anchors) with `torn check`
# and compare with the published verdict: etcd-jepsen/VERDICTS for the etcd
# CAS-register logs, *-ok / *-bad for the Porcupine key-value histories.
# Skips visibly when the directory is absent.
set -u
TORN_BIN=${TORN_BIN:-$(dirname "$0")/../../torn}
root=${TORN_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
# A copy lives in tests/anchors/ (MIT, see its README), so a clean clone
# anywhere has them; TORN_ANCHORS points elsewhere (e.g. ../shared/anchors).
anchors=${TORN_ANCHORS:-$root/tests/anchors}
. "$(dirname "$0")/lib.sh"

if [[ ! -d "$anchors" ]]; then
    echo "SKIP: no anchors directory at $anchors"
    echo "0 passed, 0 failed"
    exit 0
fi

one() {  # file model expected_exit
    local file=$1 model=$2 want=$3 rc start end
    start=$(date +%s%N)
    "$TORN_BIN" check --quiet --model "$model" --time-limit 30 "$file" >/tmp/torn-anchor.$$ 2>&1
    rc=$?
    end=$(date +%s%N)
    if [[ $rc -eq $want ]]; then
        ok "$(printf '%-28s %-12s exit %d  %5d ms' "$(basename "$file")" "$model" "$rc" \
            $(((end - start) / 1000000)))"
    else
        bad "$(printf '%-28s %-12s exit %d, want %d' "$(basename "$file")" "$model" "$rc" "$want")"
        head -20 /tmp/torn-anchor.$$ | sed 's/^/    /'
    fi
}

if [[ -f "$anchors/etcd-jepsen/VERDICTS" ]]; then
    while read -r name verdict; do
        [[ -n "$name" ]] || continue
        case $verdict in
            linearizable) want=0 ;;
            not-linearizable) want=1 ;;
            *) bad "unknown verdict $verdict for $name"; continue ;;
        esac
        one "$anchors/etcd-jepsen/$name" cas-register "$want"
    done <"$anchors/etcd-jepsen/VERDICTS"
else
    echo "SKIP: no etcd-jepsen/VERDICTS"
fi

for f in "$anchors"/porcupine-kv/*-ok.txt; do
    [[ -e "$f" ]] && one "$f" kv 0
done
for f in "$anchors"/porcupine-kv/*-bad.txt; do
    [[ -e "$f" ]] && one "$f" kv 1
done
rm -f /tmp/torn-anchor.$$
finish
