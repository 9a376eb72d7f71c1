# Helpers shared by every tests/integration/*_test.sh and by
# tests/verify/lib.sh (sourced, not run; defines functions and the two
# counters, starts nothing and makes no directory).
#
#   ok WHAT / bad WHAT      count a case and print "ok   WHAT" / "FAIL WHAT";
#                           bad also shows the last 15 lines of the file
#                           $bad_show names, when set (a run's output)
#   check WHAT CMD...       ok WHAT when CMD succeeds, bad WHAT otherwise
#   expect_rc WHAT RC CMD...  CMD must exit RC; its stdout and stderr are kept
#                           in $tmp/out and $tmp/err ($tmp: the script's
#                           scratch directory) for the checks that follow
#   run_expect RC PATTERN WHAT ARGS...  `$torn run ... ARGS` exits RC and prints
#                           PATTERN (output in $tmp/last.out)
#   verdict FILE [SCENARIO] the verdict of SCENARIO's result in a JSON report
#                           (of its first result without SCENARIO); MISSING
#                           when there is no such result, nothing when the
#                           report cannot be read
#   free_port               a loopback TCP port free at the time of asking
#   torn_copy BIN DIR       copy torn BIN (a link is followed) and the
#                           torn-engine beside it into DIR: a private copy
#                           that runs while the shared tree is relinked
#   redis_start DIR [ARG..] a scratch redis-server (no persistence, extra
#                           ARGs) on a free loopback port, data and
#                           redis.log in DIR (made): sets redis_port and
#                           redis_pid; waits (5 s at most) until it answers
#   mounts_under DIR        how many torn-fs mounts are at or below DIR
#   procs_in DIR            the pids whose working directory is below DIR
#   left_segments T0 [INO]  SysV shared memory segments of the postgres user
#                           (ours without one) created since epoch second T0
#                           that nothing attaches and whose creator is gone:
#                           what a killed postgres leaves (a live server of
#                           another test keeps its creator and attachment);
#                           with INO (a file of pg_data_inodes lines) only
#                           those of the servers listed there
#   pg_data_inodes DIR      see below
#   finish [PREFIX [TAIL]]  the closing line run.sh reads, "[PREFIX: ]N passed,
#                           N failed[TAIL]"; returns 1 when anything failed
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() {
    fail=$((fail + 1))
    echo "FAIL $*"
    [[ -n ${bad_show:-} && -f $bad_show ]] && sed 's/^/     /' "$bad_show" | cut -c1-300 | tail -15
    return 0
}
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
torn_copy() {
    local bin
    bin=$(readlink -f "$1") && cp "$bin" "$2/torn" && cp "${bin%/*}/torn-engine" "$2/torn-engine"
}

expect_rc() {
    local what=$1 want=$2 rc; shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [[ $rc -eq $want ]]; then
        ok "$what (exit $rc)"
    else
        bad "$what: exit $rc, want $want"
        sed 's/^/    /' "$tmp/out" "$tmp/err" | head -20
    fi
}

# run_expect RC PATTERN WHAT ARGS...: `$torn run --quiet --no-color
# --repro-runs 0 ARGS` (150 s at most: a loaded machine) exits RC and
# prints PATTERN; its output is left in $tmp/last.out.
run_expect() {
    local want=$1 pat=$2 what=$3 rc; shift 3
    timeout -k 2 150 "$torn" run --quiet --no-color --repro-runs 0 "$@" >"$tmp/last.out" 2>&1
    rc=$?
    if [[ $rc == "$want" ]] && grep -q -- "$pat" "$tmp/last.out"; then ok "$what (exit $rc)"; else
        bad "$what: wanted exit $want and '$pat', got exit $rc"; fi
}

verdict() {
    python3 -c 'import json,sys
r=json.load(open(sys.argv[1]))["results"]
if len(sys.argv) < 3: print(r[0]["verdict"])
else: print(next((x["verdict"] for x in r if x["scenario"]==sys.argv[2]),"MISSING"))' "$@" 2>/dev/null
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

redis_start() {
    local dir=$1
    shift
    mkdir -p "$dir"
    redis_port=$(free_port)
    redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$dir" --save '' --appendonly no "$@" \
        >"$dir/redis.log" 2>&1 &
    redis_pid=$!
    for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.05; done
}

mounts_under() { awk -v w="$1" 'index($2, w) == 1 && $3 == "fuse.torn"' /proc/mounts | wc -l; }

procs_in() {
    local p cwd out=""
    for p in /proc/[0-9]*; do
        cwd=$(readlink "$p/cwd" 2>/dev/null) || continue
        [[ "$cwd" == "$1"* ]] && out="$out ${p#/proc/}"
    done
    echo "$out"
}

left_segments() {
    local uid
    uid=$(id -u postgres 2>/dev/null || id -u)
    awk -v t0="$1" -v uid="$uid" 'NR > 1 && $7 == 0 && $8 == uid && $14 >= t0 {print $2, $5, $1}' \
        /proc/sysvipc/shm | while read -r id cpid key; do
        kill -0 "$cpid" 2>/dev/null && continue
        if [[ -n ${2:-} ]]; then  # only the servers whose data directories are listed
            awk -v k="$key" '$1 + 0 <= k + 0 && k - $1 < 16 {f = 1} END {exit !f}' "$2" ||
                continue
        fi
        echo "$id"
    done
}
# pg_data_inodes DIR: the inode of every torn-pg-*/data below DIR (2 levels
# deep) now: PostgreSQL keys its SysV segment on it (key - inode < 16), so a
# test that lists them judges its own servers' segments, not those of
# another program's postgres on the same machine.
pg_data_inodes() {
    find "$1" -maxdepth 4 -path '*torn-pg-*/data' -type d -printf '%i\n' 2>/dev/null
}

finish() {
    echo "${1:+$1: }$pass passed, $fail failed${2:-}"
    [[ $fail -eq 0 ]]
}
