#!/usr/bin/env bash
# Check every public reference history in tests/anchors (a copy of ../shared/anchors) with `torn check`
# and compare with the published verdict: etcd-jepsen/VERDICTS for the etcd
# CAS-register logs, *-ok / *-bad for the Porcupine key-value histories,
# knossos/good and knossos/bad for Knossos's cas-register data, and the
# anomalies Elle's tests and README state for its example histories.
# Skips visibly when the directory is absent.
set -u
TORN_BIN=${TORN_BIN:-$(dirname "$0")/../../torn}
root=${TORN_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
# A copy lives in tests/anchors/ (MIT, see its README), so a clean clone
# anywhere has them; TORN_ANCHORS points elsewhere (e.g. ../shared/anchors).
anchors=${TORN_ANCHORS:-$root/tests/anchors}
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d /tmp/torn-anchors.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

if [[ ! -d "$anchors" ]]; then
    echo "SKIP: no anchors directory at $anchors"
    echo "0 passed, 0 failed"
    exit 0
fi

one() {  # file model expected_exit
    local file=$1 model=$2 want=$3 rc start end
    start=$(date +%s%N)
    "$TORN_BIN" check --quiet --model "$model" --time-limit 30 "$file" >"$tmp/out" 2>&1
    rc=$?
    end=$(date +%s%N)
    if [[ $rc -eq $want ]]; then
        ok "$(printf '%-28s %-12s exit %d  %5d ms' "$(basename "$file")" "$model" "$rc" \
            $(((end - start) / 1000000)))"
    else
        bad "$(printf '%-28s %-12s exit %d, want %d' "$(basename "$file")" "$model" "$rc" "$want")"
        head -20 "$tmp/out" | sed 's/^/    /'
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
# Knossos's data/cas-register: good/ linearizable, bad/ not (Knossos's
# model starts at 0, torn's at nil: no good history reads or compares 0
# before a write, and every bad one fails for a reason the initial value
# does not touch).
for f in "$anchors"/knossos/good/*.edn; do
    [[ -e "$f" ]] && one "$f" cas-register 0
done
for f in "$anchors"/knossos/bad/*.edn; do
    [[ -e "$f" ]] && one "$f" cas-register 1
done

# criteria FILE_OR_-: the sorted, distinct criteria of the violations torn
# reports (stdin for -).
criteria() {
    "$TORN_BIN" check --time-limit 60 "$1" 2>&1 | sed -n 's/^violation [0-9]*: \([^:]*\):.*/\1/p' |
        sort -u | tr '\n' ' '
}
# elle/VERDICTS: FILE and the anomalies Elle states for it (Elle's names,
# torn's spelling: G-single-item is G-single).  torn must name each, and
# nothing else but their -realtime forms (Elle reports only the weakest
# cycle; torn also the one through real-time order where there is one).
if [[ -f "$anchors/elle/VERDICTS" ]]; then
    while read -r name want; do
        [[ -n "$name" ]] || continue
        got=$(criteria "$anchors/elle/$name") miss="" extra=""
        for w in $want; do [[ " $got" == *" $w "* ]] || miss+="$w "; done
        for g in $got; do [[ " $want " == *" $g "* || " $want " == *" ${g%-realtime} "* ]] || extra+="$g "; done
        [[ -z $miss && -z $extra ]] && ok "Elle $name: $got(Elle: $want)" ||
            bad "Elle $name: torn [$got], Elle states [$want]"
    done <"$anchors/elle/VERDICTS"
fi
if [[ -f "$anchors/elle/huge-scc.edn.gz" ]]; then
    # Elle's huge-scc-test: invalid, :anomaly-types [:G2-item-realtime
    # :cycle-search-timeout ...] -- a real-time write skew and nothing worse.
    got=$(gzip -dc "$anchors/elle/huge-scc.edn.gz" | criteria -)
    [[ $got == "G2-item-realtime " ]] && ok "Elle huge-scc (10254 transactions): G2-item-realtime, as Elle states" ||
        bad "Elle huge-scc: [$got], Elle states G2-item-realtime"
fi
finish
