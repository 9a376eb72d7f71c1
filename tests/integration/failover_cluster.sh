#!/usr/bin/env bash
# A replicated store the way a user runs it, for failover_user_test.sh:
# real redis-server / postgres processes on loopback that torn did not start,
# a primary and a standby replicating from it through a delayed link (a
# `torn proxy` with 20 ms latency on the primary->standby stream: a network),
# crashed and promoted by the commands torn is given, as an operator,
# Sentinel or Patroni would.
#   failover_cluster.sh DIR KIND MODE start|crash|promote|rebuild
# KIND redis|postgres; MODE async|sync (postgres sync: synchronous_standby_names
# '*', synchronous_commit remote_apply).  DIR/ports holds "PRIMARY LINK STANDBY";
# the first start picks free ports.  Every process started is recorded by pid
# in DIR/pids and only those are killed.
set -u
dir=$1 kind=$2 mode=$3 what=$4
TORN=${TORN_BIN:-./torn}
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
asuser() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
[ -f "$dir/ports" ] || echo "$(free_port) $(free_port) $(free_port)" >"$dir/ports"
read -r P L S <"$dir/ports"

wait_port() {  # until 127.0.0.1:$1 accepts, 30 s at most
    for _ in $(seq 300); do
        python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),0.2)" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "port $1 never accepted" >&2; return 1
}
killpid() {  # SIGKILL pid $1 and its children (a postmaster's backends) at once
    [ -n "$1" ] && kill -9 "$1" $(pgrep -P "$1") 2>/dev/null
    for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.05; done
}
pidof_role() { awk -v r="$1" '$1 == r { print $2 }' "$dir/pids" 2>/dev/null | tail -1; }

link() {
    "$TORN" proxy --listen "127.0.0.1:$L" --upstream "127.0.0.1:$P" --quiet \
        --toxic latency=20ms@downstream >>"$dir/link.log" 2>&1 &
    echo "link $!" >>"$dir/pids"
    wait_port "$L"
}

redis_node() {  # redis_node NAME PORT [replicaof-port]
    mkdir -p "$dir/$1"
    { echo "port $2"; echo "bind 127.0.0.1"; echo "dir $dir/$1"; echo 'save ""'
      echo "appendonly no"; echo "requirepass s3cret"; echo "masterauth s3cret"
      echo "repl-diskless-sync-delay 0"
      [ -n "${3:-}" ] && echo "replicaof 127.0.0.1 $3"; } >"$dir/$1/redis.conf"
    chmod 600 "$dir/$1/redis.conf"
    redis-server "$dir/$1/redis.conf" >>"$dir/$1/log" 2>&1 &
    echo "$1 $!" >>"$dir/pids"
    wait_port "$2"
}

pg_node() {  # pg_node NAME PORT: start a data directory made before
    asuser "$PGBIN/postgres" -D "$dir/$1" -c port="$2" -c listen_addresses=127.0.0.1 \
        -c unix_socket_directories= -c fsync=off >>"$dir/$1.log" 2>&1 &
    for _ in $(seq 100); do [ -s "$dir/$1/postmaster.pid" ] && break; sleep 0.1; done
    echo "$1 $(head -1 "$dir/$1/postmaster.pid")" >>"$dir/pids"
    wait_port "$2"
}

pg_start() {
    local owner
    owner=$(id -u postgres 2>/dev/null || id -u)
    install -d -m 700 -o "$owner" "$dir/primary" "$dir/standby"
    asuser "$PGBIN/initdb" -D "$dir/primary" -A trust -U postgres >>"$dir/initdb.log" 2>&1 || exit 1
    if [ "$mode" = sync ]; then
        printf "synchronous_standby_names = '*'\nsynchronous_commit = remote_apply\n" |
            asuser tee -a "$dir/primary/postgresql.auto.conf" >/dev/null
    fi
    pg_node primary "$P"
    link
    asuser "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$P" -U postgres -D "$dir/standby" -X stream \
        --checkpoint=fast --no-sync >>"$dir/initdb.log" 2>&1 || exit 1
    # the standby streams through the link; the base backup copied the primary's
    # synchronous settings, which a standby ignores
    printf "primary_conninfo = 'host=127.0.0.1 port=%s user=postgres application_name=standby'\n" "$L" |
        asuser tee -a "$dir/standby/postgresql.auto.conf" >/dev/null
    asuser touch "$dir/standby/standby.signal"
    pg_node standby "$S"
}

stop_all() {
    for p in $(awk '{ print $2 }' "$dir/pids" 2>/dev/null); do killpid "$p"; done
    rm -rf "$dir/pids" "$dir/primary" "$dir/standby"
}

case "$kind:$what" in
    *:start|*:rebuild)
        stop_all
        if [ "$kind" = redis ]; then
            redis_node primary "$P"; link; redis_node standby "$S" "$L"
        else
            pg_start
        fi ;;
    *:crash)  # the network to the standby dies with the primary
        killpid "$(pidof_role link)"; killpid "$(pidof_role primary)" ;;
    redis:promote)
        REDISCLI_AUTH=s3cret redis-cli -h 127.0.0.1 -p "$S" REPLICAOF NO ONE ;;
    postgres:promote)
        asuser "$PGBIN/pg_ctl" promote -D "$dir/standby" -W ;;
    *:stop) stop_all ;;
    *) echo "usage: $0 DIR redis|postgres async|sync start|crash|promote|rebuild|stop" >&2; exit 2 ;;
esac
