/* torn: streaming JSON-lines history writer. */
#include "history.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "outfile.h"
#include "util.h"

/* Counters every process sharing the history sees (MAP_SHARED, created
 * before the first fork). */
struct shared {
    uint64_t bytes;           /* reserved by lines, written or dropped */
    uint64_t dropped;         /* lines dropped because of the cap */
    long long n_failed;       /* lines that could not be written whole */
    int last_errno;
    long long size_at_first;  /* file size at the first failure */
};

struct torn_history_log {
    struct torn_outfile of;
    char *path;
    uint64_t cap;
    struct shared *sh;
};

int torn_history_log_open(const char *path, uint64_t max_bytes, struct torn_history_log **out,
                          struct torn_err *err)
{
    struct torn_history_log *h = calloc(1, sizeof *h);
    int rc;

    *out = NULL;
    if (!h || !(h->path = strdup(path))) {
        free(h);
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    }
    h->of.fd = h->of.dirfd = -1;
    h->cap = max_bytes ? max_bytes : TORN_HISTORY_MAX_DEFAULT;
    h->sh = mmap(NULL, sizeof *h->sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    rc = h->sh == MAP_FAILED ? torn_err_sys(err, TORN_E_NOMEM, errno, "history counters")
                             : torn_outfile_open(&h->of, path, 0644, err);
    if (rc == 0)
        rc = torn_outfile_publish(&h->of, err);
    if (rc == 0 && fcntl(h->of.fd, F_SETFL, O_APPEND) != 0)
        rc = torn_err_sys(err, TORN_E_IO, errno, "history %s", path);
    if (rc) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err ? err->msg : "");
        if (h->sh == MAP_FAILED)
            h->sh = NULL;
        torn_history_log_close(h);
        return torn_err_set(err, rc, "cannot write history: %.200s", msg);
    }
    *out = h;
    return TORN_OK;
}

void torn_history_log_close(struct torn_history_log *h)
{
    if (!h)
        return;
    if (h->sh && h->sh->dropped && h->of.fd >= 0) {
        char line[200];
        int n = snprintf(line, sizeof line,
                         "# torn: history capped at %llu bytes: %llu later events dropped\n",
                         (unsigned long long)h->cap, (unsigned long long)h->sh->dropped);
        if (write(h->of.fd, line, (size_t)n) != n) {
            /* nothing more to do: the report says it too */
        }
    }
    torn_outfile_close(&h->of);
    if (h->sh)
        munmap(h->sh, sizeof *h->sh);
    free(h->path);
    free(h);
}

uint64_t torn_history_log_dropped(const struct torn_history_log *h)
{
    return h && h->sh ? __atomic_load_n(&h->sh->dropped, __ATOMIC_RELAXED) : 0;
}

uint64_t torn_history_log_cap(const struct torn_history_log *h)
{
    return h ? h->cap : 0;
}

/* Count a line that was not written whole (errno e, 0 for a short write). */
static void note_failure(struct torn_history_log *h, int e)
{
    struct stat st;

    if (__atomic_add_fetch(&h->sh->n_failed, 1, __ATOMIC_SEQ_CST) == 1)
        h->sh->size_at_first = fstat(h->of.fd, &st) == 0 ? (long long)st.st_size : -1;
    h->sh->last_errno = e;
}

long long torn_history_log_failures(const struct torn_history_log *h, int *errno_out,
                                    long long *size_out)
{
    if (errno_out)
        *errno_out = h ? h->sh->last_errno : 0;
    if (size_out)
        *size_out = h ? h->sh->size_at_first : 0;
    return h ? __atomic_load_n(&h->sh->n_failed, __ATOMIC_SEQ_CST) : 0;
}

long long torn_history_log_mark(const struct torn_history_log *h)
{
    off_t end = h ? lseek(h->of.fd, 0, SEEK_END) : 0;

    return end < 0 ? 0 : (long long)end;
}

void torn_history_log_rewind(struct torn_history_log *h, long long mark)
{
    if (!h || mark < 0)
        return;
    if (ftruncate(h->of.fd, (off_t)mark) != 0) {
        note_failure(h, errno);
        return;
    }
    /* The cap counts what the file holds again; lines dropped after the
     * mark went with the attempt that was discarded. */
    __atomic_store_n(&h->sh->bytes, (uint64_t)mark, __ATOMIC_SEQ_CST);
    if ((uint64_t)mark < h->cap)
        __atomic_store_n(&h->sh->dropped, 0, __ATOMIC_SEQ_CST);
}

const char *torn_history_log_path(const struct torn_history_log *h)
{
    return h ? h->path : NULL;
}

int torn_history_log_add(struct torn_history_log *h, const char *type, int process, const char *f,
                         const char *key, const cJSON *value, uint64_t time_ns)
{
    cJSON *ev;
    char *line;
    size_t len;
    ssize_t n;
    int rc = TORN_OK;

    if (!h)
        return TORN_OK;
    ev = cJSON_CreateObject();
    if (!ev) {
        note_failure(h, ENOMEM);
        return TORN_E_NOMEM;
    }
    cJSON_AddStringToObject(ev, "type", type);
    cJSON_AddNumberToObject(ev, "process", process);
    if (f)
        cJSON_AddStringToObject(ev, "f", f);
    if (key)
        cJSON_AddStringToObject(ev, "key", key);
    if (value)
        cJSON_AddItemToObject(ev, "value", cJSON_Duplicate(value, 1));
    cJSON_AddNumberToObject(ev, "time", (double)(time_ns ? time_ns : torn_now_ns()));
    line = cJSON_PrintUnformatted(ev);
    cJSON_Delete(ev);
    if (!line) {
        note_failure(h, ENOMEM);
        return TORN_E_NOMEM;
    }
    len = strlen(line);
    line[len] = '\n'; /* overwrite the NUL: one write(2) for the whole line */
    /* Counters only grow, so once one line crosses the cap every later one
     * does too: the file stays a prefix of the run.  A dropped line is not
     * a failure: the report says how many. */
    if (__atomic_add_fetch(&h->sh->bytes, len + 1, __ATOMIC_RELAXED) > h->cap) {
        __atomic_add_fetch(&h->sh->dropped, 1, __ATOMIC_RELAXED);
        free(line);
        return TORN_OK;
    }
    do {
        n = write(h->of.fd, line, len + 1);
    } while (n < 0 && errno == EINTR);
    if (n != (ssize_t)(len + 1)) {
        note_failure(h, n < 0 ? errno : 0);
        rc = TORN_E_IO;
    }
    free(line);
    return rc;
}
