#!/usr/bin/env python3
"""Rename-over stress on a directory: one writer replaces DIR/rec.json by
temp + fsync + rename in a loop, READERS processes open, fstat and read it.
The path always exists, so on a POSIX filesystem (ext4, tmpfs) every open and
every fstat succeeds.  Prints one line per process and the errors by errno and
stage, exits 1 if any reader saw an error.

tests/integration/fs_test.sh runs it on a torn-fs mount (it used to FAIL there with
ESTALE: docs/torn-fs.md "Files replaced or removed while in use").
Usage: fs_rename_stress.py DIR [SECONDS=2] [READERS=3]"""
import errno, os, sys, time


def put(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def writer(p, end):
    i = 0
    while time.time() < end:
        i += 1
        t = "%s.tmp.%d" % (p, i)
        put(t, b'{"v":%d}' % i)
        os.rename(t, p)
    return i, {}


def reader(p, end):
    n, kinds = 0, {}
    while time.time() < end:
        stage = "open"
        try:
            fd = os.open(p, os.O_RDONLY)
            try:
                stage = "fstat"
                os.fstat(fd)
                stage = "read"
                os.read(fd, 65536)
            finally:
                os.close(fd)
            n += 1
        except OSError as e:
            k = "%s@%s" % (errno.errorcode.get(e.errno, str(e.errno)), stage)
            kinds[k] = kinds.get(k, 0) + 1
    return n, kinds


def main():
    d = sys.argv[1]
    secs = float(sys.argv[2]) if len(sys.argv) > 2 else 2.0
    readers = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    p = os.path.join(d, "rec.json")
    put(p, b'{"v":0}')
    end = time.time() + secs
    kids = []
    for w in range(readers + 1):
        pid = os.fork()
        if pid == 0:
            n, kinds = (writer if w == 0 else reader)(p, end)
            print("%s %d: %d done, errors %s" % ("writer" if w == 0 else "reader", w, n,
                                                  kinds or "none"), flush=True)
            os._exit(1 if kinds else 0)
        kids.append(pid)
    bad = sum(os.waitstatus_to_exitcode(os.waitpid(k, 0)[1]) != 0 for k in kids)
    print("FAILED" if bad else "OK")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
