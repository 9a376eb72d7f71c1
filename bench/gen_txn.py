#!/usr/bin/env python3
"""Write a list-append (or rw-register) transaction history in Jepsen's EDN.

A serializable store: each transaction takes effect atomically at its
completion, clients overlap (invoke early, complete later), so the history is
valid unless --anomaly injects one.  Deterministic for a seed.
usage: gen_txn.py N [--model list-append|rw-register] [--keys K] [--clients C]
                    [--seed S] [--anomaly g1a]
"""
import argparse
import random


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int)
    ap.add_argument("--model", default="list-append")
    ap.add_argument("--keys", type=int, default=10)
    ap.add_argument("--writes-per-key", type=int, default=32)
    ap.add_argument("--clients", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--anomaly", default="")
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    state = {}
    nxt = {}
    live = list(range(a.keys))   # as Elle's generator: a key retires after its writes
    fresh = a.keys
    out = []
    pending = {}
    append = a.model == "list-append"
    for i in range(a.n):
        p = rnd.randrange(a.clients)
        if p in pending:                       # complete the client's open txn first
            out.append(pending.pop(p))
        mops, done = [], []
        for _ in range(rnd.randint(1, 4)):
            slot = rnd.randrange(a.keys)
            k = live[slot]
            if rnd.random() < 0.5:
                v = nxt.get(k, 1)
                nxt[k] = v + 1
                if v >= a.writes_per_key:
                    live[slot] = fresh
                    fresh += 1
                if append:
                    state.setdefault(k, []).append(v)
                    mops.append("[:append %d %d]" % (k, v))
                else:
                    state[k] = v
                    mops.append("[:w %d %d]" % (k, v))
                done.append(mops[-1])
            else:
                mops.append("[:r %d nil]" % k)
                cur = state.get(k)
                if append:
                    done.append("[:r %d [%s]]" % (k, " ".join(map(str, cur or []))))
                else:
                    done.append("[:r %d %s]" % (k, "nil" if cur is None else cur))
        if a.anomaly == "g1a" and i == a.n // 2:
            k = live[0]
            v = nxt.get(k, 1)
            nxt[k] = v + 1
            w = "[:append %d %d]" % (k, v) if append else "[:w %d %d]" % (k, v)
            out.append("{:type :invoke, :f :txn, :process %d, :value [%s]}" % (a.clients, w))
            out.append("{:type :fail, :f :txn, :process %d, :value [%s]}" % (a.clients, w))
            if append:                           # the failed write leaks into reads
                state.setdefault(k, []).append(v)
            else:
                state[k] = v
            seen = ("[%s]" % " ".join(map(str, state[k]))) if append else str(v)
            out.append("{:type :invoke, :f :txn, :process %d, :value [[:r %d nil]]}" % (a.clients + 1, k))
            out.append("{:type :ok, :f :txn, :process %d, :value [[:r %d %s]]}" % (a.clients + 1, k, seen))
        out.append("{:type :invoke, :f :txn, :process %d, :value [%s]}" % (p, " ".join(mops)))
        pending[p] = "{:type :ok, :f :txn, :process %d, :value [%s]}" % (p, " ".join(done))
    out.extend(pending.values())
    print("\n".join(out))


main()
