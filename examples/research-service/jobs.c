/* research-service jobs: a worker per job makes progress, a progress tracker
 * persists it in the background (as seed 000's progress_tracker did), and
 * the finalize step writes results and status and emits the completion
 * event in the order the mode says. */
#include "svc.h"

#include <cjson/cJSON.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_SUBS 16
#define N_BUCKETS 1024

struct rs_job {
    char id[48];
    pthread_mutex_t mu;             /* guards subs, final_event */
    void *subs[MAX_SUBS];
    rs_send_fn send[MAX_SUBS];
    char *final_event;              /* sent terminal event, replayed to late subscribers */
    atomic_int progress;
    atomic_int tracker_stop;
    int seq;                        /* job number (failure injection) */
    struct rs_job *next;
};

static pthread_mutex_t table_mu = PTHREAD_MUTEX_INITIALIZER;
static struct rs_job *table[N_BUCKETS];
static atomic_int job_counter;

static unsigned bucket(const char *id)
{
    unsigned h = 2166136261u;
    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 16777619u;
    return h % N_BUCKETS;
}

struct rs_job *rs_job_find(const char *id)
{
    pthread_mutex_lock(&table_mu);
    struct rs_job *j = table[bucket(id)];
    while (j && strcmp(j->id, id) != 0)
        j = j->next;
    pthread_mutex_unlock(&table_mu);
    return j;
}

void rs_job_attach(struct rs_job *j, void *sub, rs_send_fn send)
{
    pthread_mutex_lock(&j->mu);
    for (int i = 0; i < MAX_SUBS; i++)
        if (!j->subs[i]) {
            j->subs[i] = sub;
            j->send[i] = send;
            break;
        }
    if (j->final_event)
        send(sub, j->final_event);
    pthread_mutex_unlock(&j->mu);
}

void rs_job_detach(struct rs_job *j, void *sub)
{
    pthread_mutex_lock(&j->mu);
    for (int i = 0; i < MAX_SUBS; i++)
        if (j->subs[i] == sub)
            j->subs[i] = NULL;
    pthread_mutex_unlock(&j->mu);
}

/* Send an event to every subscriber; a terminal one is kept for replay. */
static void emit(struct rs_job *j, const char *type, const char *error, int terminal)
{
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "type", type);
    cJSON_AddStringToObject(ev, "research_id", j->id);
    cJSON *data = cJSON_AddObjectToObject(ev, "data");
    cJSON_AddNumberToObject(data, "progress", atomic_load(&j->progress));
    if (error)
        cJSON_AddStringToObject(data, "error", error);
    char *text = cJSON_PrintUnformatted(ev);
    cJSON_Delete(ev);
    if (!text)
        return;
    if (terminal && rs_opt.misbehave == RS_NO_EVENTS) {
        free(text);
        return;
    }
    pthread_mutex_lock(&j->mu);
    for (int i = 0; i < MAX_SUBS; i++)
        if (j->subs[i])
            j->send[i](j->subs[i], text);
    if (terminal) {
        free(j->final_event);
        j->final_event = text;
        text = NULL;
    }
    pthread_mutex_unlock(&j->mu);
    free(text);
}

/* The progress tracker: persists {status: processing, progress} with a
 * plain read-modify-write of the whole record, every tracker_ms, until
 * told to stop.  In two-writes mode nobody waits for it to stop, so its
 * last flush can land after the finalize writes (seed 000's race). */
static void *tracker_main(void *arg)
{
    struct rs_job *j = arg;
    char why[256];
    while (!atomic_load(&j->tracker_stop) && !rs_stopping()) {
        cJSON *patch = cJSON_CreateObject();
        cJSON_AddStringToObject(patch, "status", "processing");
        cJSON_AddNumberToObject(patch, "progress", atomic_load(&j->progress));
        if (rs_store_update(j->id, patch, rs_opt.mode == RS_ATOMIC, -1, NULL, 0, NULL, why,
                            sizeof why) < 0 && !rs_opt.quiet)
            rs_log("tracker %s: %s", j->id, why);
        cJSON_Delete(patch);
        rs_sleep_ms(rs_opt.tracker_ms);
    }
    return NULL;
}

/* seed 000's observability: one structured line (JSON, on stdout) per
 * final persist, {research_id, version, size_bytes, status}. */
static void log_finalized(const cJSON *rec)
{
    char *text = rec ? cJSON_PrintUnformatted(rec) : NULL;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(rec, "id");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, "version");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(rec, "status");
    if (text && cJSON_IsString(id) && !(rs_opt.breaks & RS_BREAK_FINALIZE_LOG)) {
        printf("{\"level\":\"info\",\"msg\":\"research finalized\",\"research_id\":\"%s\","
               "\"version\":%.0f,\"size_bytes\":%zu,\"status\":\"%s\"}\n",
               id->valuestring, cJSON_IsNumber(v) ? v->valuedouble : -1.0, strlen(text),
               cJSON_IsString(st) ? st->valuestring : "");
        fflush(stdout);
    }
    free(text);
}

/* Write patch with retries (reconnecting) for up to ~2 s; a final one
 * (final = 1) is logged.  0 or -1. */
static int persist(struct rs_job *j, cJSON *patch, int guarded, int final)
{
    char why[256];
    int rc = -1;
    for (int attempt = 0; attempt < 20 && !rs_stopping(); attempt++) {
        cJSON *rec = NULL;
        rc = rs_store_update(j->id, patch, guarded, -1, NULL, 0, &rec, why, sizeof why);
        if (rc == 0 && final)
            log_finalized(rec);
        cJSON_Delete(rec);
        if (rc == 0)
            break;
        if (!rs_opt.quiet)
            rs_log("persist %s (attempt %d): %s", j->id, attempt + 1, why);
        rs_sleep_ms(100);
    }
    cJSON_Delete(patch);
    return rc == 0 ? 0 : -1;
}

static cJSON *field_patch(const char *name, cJSON *value)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddItemToObject(p, name, value);
    return p;
}

static cJSON *make_results(struct rs_job *j)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "summary", "synthesized answer");
    cJSON_AddNumberToObject(r, "sources", 3 + j->seq % 5);
    return r;
}

/* seed 000 before the fix: two separate writes, event after them, tracker
 * left running. */
static void finalize_two_writes(struct rs_job *j, int failed)
{
    int ok = failed ? persist(j, field_patch("error", cJSON_CreateString("research failed")), 0, 0)
                    : persist(j, field_patch("results", make_results(j)), 0, 0);
    if (ok == 0)
        ok = persist(j, field_patch("status", cJSON_CreateString(failed ? "failed" : "completed")),
                     0, 1);
    emit(j, failed ? "RESEARCH_FAILED" : "RESEARCH_COMPLETED", failed ? "research failed" : NULL,
         1);
    atomic_store(&j->tracker_stop, 1);
}

static cJSON *final_patch(struct rs_job *j, int failed)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "status", failed ? "failed" : "completed");
    if (failed)
        cJSON_AddStringToObject(p, "error", "research failed");
    else
        cJSON_AddItemToObject(p, "results", make_results(j));
    return p;
}

/* seed 000's fix: tracker stopped first, one merged guarded write, event
 * only after it succeeded; emit-first does the same write after the event.
 * Returns the status written (1 failed, 0 completed), -1 when none was. */
static int finalize_merged(struct rs_job *j, int failed, pthread_t tracker)
{
    atomic_store(&j->tracker_stop, 1);
    pthread_join(tracker, NULL);
    if (rs_opt.mode == RS_EMIT_FIRST) {
        emit(j, failed ? "RESEARCH_FAILED" : "RESEARCH_COMPLETED",
             failed ? "research failed" : NULL, 1);
        persist(j, final_patch(j, failed), 1, 1);
        return failed;
    }
    if ((rs_opt.breaks & RS_BREAK_RESULTS_LATE) && !failed) {
        /* completed first, the event, the results in a later write */
        persist(j, field_patch("status", cJSON_CreateString("completed")), 1, 1);
        emit(j, "RESEARCH_COMPLETED", NULL, 1);
        rs_sleep_ms(50);
        persist(j, field_patch("results", make_results(j)), 1, 0);
        return failed;
    }
    if (persist(j, final_patch(j, failed), 1, 1) != 0) {
        /* The failure path is one write too; no event unless it persisted. */
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "status", "failed");
        cJSON_AddStringToObject(p, "error", "could not persist results");
        if (persist(j, p, 1, 1) != 0) {
            rs_log("job %s: store unreachable, no terminal event sent", j->id);
            return -1;
        }
        failed = 1;
    }
    emit(j, failed ? "RESEARCH_FAILED" : "RESEARCH_COMPLETED", failed ? "research failed" : NULL,
         1);
    return failed;
}

/* seed 000's research_finalized_total{status}: counted once the final
 * record is written (after its write returned), by the status it holds. */
static atomic_ullong n_completed, n_failed;

static void count_finalized(int failed)
{
    atomic_fetch_add(failed ? &n_failed : &n_completed, 1);
}

char *rs_metrics_text(void)
{
    char *t = malloc(512);
    if (t)
        snprintf(t, 512,
                 "# HELP research_finalized_total Research jobs whose final record was written.\n"
                 "# TYPE research_finalized_total counter\n"
                 "research_finalized_total{status=\"completed\"} %llu\n"
                 "research_finalized_total{status=\"failed\"} %llu\n",
                 (unsigned long long)atomic_load(&n_completed),
                 (unsigned long long)atomic_load(&n_failed));
    return t;
}

static void *worker_main(void *arg)
{
    struct rs_job *j = arg;
    pthread_t tracker;
    int have_tracker = pthread_create(&tracker, NULL, tracker_main, j) == 0;
    for (int step = 1; step <= rs_opt.steps && !rs_stopping(); step++) {
        rs_sleep_ms(rs_opt.worker_delay_ms);
        atomic_store(&j->progress, step * 100 / (rs_opt.steps + 1));
        emit(j, "RESEARCH_PROGRESS", NULL, 0);
    }
    int failed = rs_opt.fail_every > 0 && j->seq % rs_opt.fail_every == 0;
    if (rs_opt.breaks & RS_BREAK_COUNT_EARLY)
        count_finalized(0); /* the research ended: "completed", before any write */
    if (rs_opt.mode == RS_TWO_WRITES || !have_tracker) {
        finalize_two_writes(j, failed);
        if (have_tracker)
            pthread_detach(tracker);
    } else {
        failed = finalize_merged(j, failed, tracker);
    }
    if (failed >= 0 && (failed || !(rs_opt.breaks & RS_BREAK_COUNT_EARLY)))
        count_finalized(failed);
    return NULL;
}

int rs_job_start(const struct cJSON *input, char id_out[48], char *why, size_t why_len)
{
    struct rs_job *j = calloc(1, sizeof *j);
    if (!j) {
        snprintf(why, why_len, "out of memory");
        return -1;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    j->seq = atomic_fetch_add(&job_counter, 1) + 1;
    snprintf(j->id, sizeof j->id, "r%d-%lx", j->seq,
             (unsigned long)((ts.tv_nsec ^ ts.tv_sec * 2654435761u) & 0xffffff));
    pthread_mutex_init(&j->mu, NULL);
    cJSON *init = cJSON_CreateObject();
    cJSON_AddStringToObject(init, "status", "queued");
    cJSON_AddNumberToObject(init, "progress", 0);
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(input, "query");
    cJSON_AddItemToObject(init, "query", q ? cJSON_Duplicate(q, 1) : cJSON_CreateString(""));
    cJSON *rec = rs_record_new(j->id, init);
    cJSON_Delete(init);
    char *text = cJSON_PrintUnformatted(rec);
    cJSON_Delete(rec);
    int rc = -1;
    for (int attempt = 0; text && rc != 0 && attempt < 3; attempt++)
        rc = rs_store_set(j->id, text, why, why_len);   /* reconnects after an error */
    free(text);
    if (rc != 0) {
        pthread_mutex_destroy(&j->mu);
        free(j);
        return -1;
    }
    pthread_mutex_lock(&table_mu);
    unsigned b = bucket(j->id);
    j->next = table[b];
    table[b] = j;
    pthread_mutex_unlock(&table_mu);
    memcpy(id_out, j->id, sizeof j->id);
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, worker_main, j) != 0) {
        snprintf(why, why_len, "cannot start worker thread");
        rc = -1;
    }
    pthread_attr_destroy(&attr);
    return rc;
}
