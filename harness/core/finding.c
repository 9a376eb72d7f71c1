/* torn: findings posted by targets, folded into the scenario's result
 * (finding.h). */
#include "finding.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "result.h"
#include "util.h"

#define FINDING_MAX_LINE 4096     /* evidence is cut to fit one line */

static char *findings_path(const char *log_dir)
{
    return log_dir ? torn_asprintf("%s/%s", log_dir, TORN_FINDINGS_FILE) : NULL;
}

int torn_finding_post(const char *log_dir, const char *criterion, const char *key,
                      const char *fmt, ...)
{
    char evidence[2048], *path = findings_path(log_dir), *line = NULL;
    cJSON *o = cJSON_CreateObject();
    va_list ap;
    int rc = -1;

    va_start(ap, fmt);
    vsnprintf(evidence, sizeof evidence, fmt, ap);
    va_end(ap);
    if (path && o && cJSON_AddStringToObject(o, "criterion", criterion) &&
        (!key || cJSON_AddStringToObject(o, "key", key)) &&
        cJSON_AddNumberToObject(o, "t_ns", (double)torn_now_ns()) &&
        cJSON_AddStringToObject(o, "evidence", evidence))
        line = cJSON_PrintUnformatted(o);
    size_t len = line ? strlen(line) : 0;
    char *nl = len + 1 < FINDING_MAX_LINE ? torn_asprintf("%s\n", line) : NULL;
    if (nl)
        rc = torn_finding_note(log_dir, TORN_FINDINGS_FILE, nl);
    free(nl);
    free(line);
    free(path);
    cJSON_Delete(o);
    return rc;
}

int torn_finding_count(const char *log_dir, const char *name, double n)
{
    char line[256];
    cJSON *o = cJSON_CreateObject();
    char *text = o && cJSON_AddStringToObject(o, "metric", name) &&
                         cJSON_AddNumberToObject(o, "add", n)
                     ? cJSON_PrintUnformatted(o)
                     : NULL;
    int rc = text && snprintf(line, sizeof line, "%s\n", text) < (int)sizeof line
                 ? torn_finding_note(log_dir, TORN_FINDINGS_FILE, line)
                 : -1;
    free(text);
    cJSON_Delete(o);
    return rc;
}

int torn_finding_note(const char *log_dir, const char *name, const char *text)
{
    char *path = log_dir ? torn_asprintf("%s/%s", log_dir, name) : NULL;
    size_t len = strlen(text);
    int rc = -1, fd = path ? open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
                                  0600)
                           : -1;
    if (fd >= 0) {
        rc = write(fd, text, len) == (ssize_t)len ? 0 : -1;
        close(fd);
    }
    free(path);
    return rc;
}

void torn_log_scan(const char *log_dir, const char *path, long long *off,
                   const char *const *never, size_t n_never,
                   void (*each)(const char *line, void *arg), void *arg)
{
    FILE *f = fopen(path, "re");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;

    if (f && fseeko(f, (off_t)*off, SEEK_SET) != 0) {
        fclose(f);
        f = NULL;
    }
    while (f && (n = getline(&line, &cap, f)) > 0 && line[n - 1] == '\n') {
        *off += n;
        line[n - 1] = 0;
        for (size_t i = 0; i < n_never; i++)
            if (strstr(line, never[i])) {
                torn_finding_post(log_dir, "log-forbidden", NULL,
                                  "%s: a line with \"%s\", which must never appear: %.300s",
                                  path, never[i], line);
                break;
            }
        if (each)
            each(line, arg);
    }
    free(line);
    if (f)
        fclose(f);
}

long long torn_findings_mark(const char *log_dir)
{
    char *path = findings_path(log_dir);
    struct stat st;
    long long n = path && lstat(path, &st) == 0 && S_ISREG(st.st_mode) ? (long long)st.st_size : 0;
    free(path);
    return n;
}

/* Counts summed by name while folding. */
struct fold_sums {
    char name[TORN_FINDING_METRICS][64];
    double sum[TORN_FINDING_METRICS];
    size_t n;
};

static void fold_count(struct fold_sums *s, const char *name, double add)
{
    size_t i = 0;
    while (i < s->n && strcmp(s->name[i], name) != 0)
        i++;
    if (i == s->n && (s->n == TORN_FINDING_METRICS || strlen(name) >= sizeof s->name[0]))
        return;
    if (i == s->n)
        snprintf(s->name[s->n++], sizeof s->name[0], "%s", name);
    s->sum[i] += add;
}

static void fold_line(const char *line, struct torn_result *r, uint64_t t0_ns,
                      struct fold_sums *sums)
{
    cJSON *o = cJSON_Parse(line);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "metric");
    const cJSON *add = cJSON_GetObjectItemCaseSensitive(o, "add");
    if (cJSON_IsString(m) && cJSON_IsNumber(add))
        fold_count(sums, m->valuestring, add->valuedouble);
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, "criterion");
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(o, "key");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "t_ns");
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "evidence");
    if (cJSON_IsString(c) && cJSON_IsString(e)) {
        double t_s = cJSON_IsNumber(t) && t->valuedouble >= (double)t0_ns
                         ? (t->valuedouble - (double)t0_ns) / 1e9
                         : 0;
        torn_result_violation(r, c->valuestring, cJSON_IsString(k) ? k->valuestring : NULL, t_s,
                              "%s", e->valuestring);
    }
    cJSON_Delete(o);
}

void torn_findings_fold(const char *log_dir, long long mark, struct torn_result *r,
                        uint64_t t0_ns)
{
    char *path = findings_path(log_dir), line[FINDING_MAX_LINE];
    struct fold_sums sums = {.n = 0};
    FILE *f = NULL;
    int fd = path ? open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) : -1;

    if (fd >= 0 && !(f = fdopen(fd, "r")))
        close(fd);
    if (f && fseeko(f, (off_t)mark, SEEK_SET) == 0)
        while (fgets(line, sizeof line, f))
            fold_line(line, r, t0_ns, &sums);
    if (f)
        fclose(f);
    for (size_t i = 0; i < sums.n; i++)
        torn_result_metric(r, sums.name[i], sums.sum[i]);
    free(path);
}
