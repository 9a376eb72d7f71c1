/* torn: streaming JSON-lines history writer. */
#include "history.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "util.h"

/* Write failures, seen by every process that shares the history. */
struct hist_failures {
    long long n;
    int last_errno;
    long long size_at_first;
};

struct torn_history {
    int fd;
    char *path;
    struct hist_failures *failed;  /* MAP_SHARED */
};

int torn_history_open(const char *path, struct torn_history **out, struct torn_err *err)
{
    struct torn_history *h;
    int fd;

    *out = NULL;
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return torn_err_sys(err, TORN_E_ENV, errno, "cannot write history %s", path);
    h = calloc(1, sizeof *h);
    if (!h || !(h->path = strdup(path))) {
        free(h);
        close(fd);
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    }
    h->failed = mmap(NULL, sizeof *h->failed, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (h->failed == MAP_FAILED) {
        free(h->path);
        free(h);
        close(fd);
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    }
    h->fd = fd;
    *out = h;
    return TORN_OK;
}

void torn_history_close(struct torn_history *h)
{
    if (!h)
        return;
    close(h->fd);
    munmap(h->failed, sizeof *h->failed);
    free(h->path);
    free(h);
}

/* Count a line that was not written whole (errno e, 0 for a short write). */
static void note_failure(struct torn_history *h, int e)
{
    struct stat st;

    if (__atomic_add_fetch(&h->failed->n, 1, __ATOMIC_SEQ_CST) == 1)
        h->failed->size_at_first = fstat(h->fd, &st) == 0 ? (long long)st.st_size : -1;
    h->failed->last_errno = e;
}

long long torn_history_failures(const struct torn_history *h, int *errno_out,
                                long long *size_out)
{
    if (errno_out)
        *errno_out = h ? h->failed->last_errno : 0;
    if (size_out)
        *size_out = h ? h->failed->size_at_first : 0;
    return h ? __atomic_load_n(&h->failed->n, __ATOMIC_SEQ_CST) : 0;
}

long long torn_history_mark(const struct torn_history *h)
{
    off_t end = h ? lseek(h->fd, 0, SEEK_END) : 0;

    return end < 0 ? 0 : (long long)end;
}

void torn_history_rewind(struct torn_history *h, long long mark)
{
    if (h && mark >= 0 && ftruncate(h->fd, (off_t)mark) != 0)
        note_failure(h, errno);
}

const char *torn_history_path(const struct torn_history *h)
{
    return h ? h->path : NULL;
}

int torn_history_add(struct torn_history *h, const char *type, int process, const char *f,
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
    do {
        n = write(h->fd, line, len + 1);
    } while (n < 0 && errno == EINTR);
    if (n != (ssize_t)(len + 1)) {
        note_failure(h, n < 0 ? errno : 0);
        rc = TORN_E_IO;
    }
    free(line);
    return rc;
}
