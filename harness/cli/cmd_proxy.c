/* torn: `torn proxy`, the fault proxy as a command.  One proxy from
 * --listen/--upstream with --toxic options, and/or the Toxiproxy-compatible
 * control API with --api; optionally a seeded schedule that switches the
 * given toxics on and off every period. */
#include "command.h"
#include "args.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/parse.h"
#include "core/util.h"
#include "proxy/proxy.h"

#define MAX_CMD_TOXICS 16

struct proxy_opts {
    const char *name, *listen, *upstream, *api, *config;
    cJSON *toxics[MAX_CMD_TOXICS];
    int n_toxics;
    double schedule_s, duration_s;
    uint64_t seed;
    int allow_remote, quiet;
};

static void proxy_usage(FILE *f)
{
    fputs("usage: torn proxy [--listen HOST:PORT --upstream HOST:PORT] [options]\n"
          "  --listen HOST:PORT    address to accept on (port 0 = any free port)\n"
          "  --upstream HOST:PORT  where to forward\n"
          "  --name NAME           proxy name in the API (default \"proxy\")\n"
          "  --toxic SPEC          TYPE[=V][,ATTR=V...][@upstream|@downstream][~TOXICITY][#NAME]\n"
          "                        types: latency (latency,jitter ms), bandwidth (rate KB/s),\n"
          "                        slow_close (delay ms), timeout (timeout ms, 0 = never),\n"
          "                        reset_peer (timeout ms), slicer (average_size,\n"
          "                        size_variation, delay us), limit_data (bytes),\n"
          "                        limit_time (time ms), reset_after (bytes), half_close (bytes)\n"
          "                        e.g. --toxic latency=50ms,jitter=10ms  --toxic reset_peer~0.3\n"
          "  --api [HOST:PORT]     serve the Toxiproxy-compatible HTTP API; bare --api, a\n"
          "                        HOST or a PORT alone complete to 127.0.0.1:8474\n"
          "                        (Toxiproxy's default)\n"
          "  --config FILE         create the proxies of a Toxiproxy config file (a JSON array\n"
          "                        of {name, listen, upstream, enabled}, as toxiproxy-server\n"
          "                        -config); needs --api\n"
          "  --schedule PERIOD     every PERIOD (e.g. 500ms, 2s) switch each --toxic on or off\n"
          "                        at random from --seed (logged on stderr)\n"
          "  --seed N              seed of toxicity rolls and the schedule (default 1)\n"
          "  --duration S          exit after S seconds (default: until SIGINT/SIGTERM)\n"
          "  --allow-remote        allow non-loopback addresses\n"
          "  --quiet               no log lines\n"
          "Prints 'proxy NAME listening on ADDR -> UPSTREAM' and 'api listening on ADDR'.\n",
          f);
}


#define API_DEFAULT_HOST "127.0.0.1"
#define API_DEFAULT_PORT "8474"

/* --api's value completed to HOST:PORT the way Toxiproxy's defaults are:
 * "" -> 127.0.0.1:8474, "9000" -> 127.0.0.1:9000, "::1"/"localhost" ->
 * HOST:8474.  Into buf; returns buf. */
static const char *api_addr(const char *v, char *buf, size_t len)
{
    if (!*v)
        snprintf(buf, len, "%s:%s", API_DEFAULT_HOST, API_DEFAULT_PORT);
    else if (strspn(v, "0123456789") == strlen(v))
        snprintf(buf, len, "%s:%s", API_DEFAULT_HOST, v);
    else if (!strchr(v, ':') || (strchr(v, ':') != strrchr(v, ':') && v[0] != '['))
        snprintf(buf, len, strchr(v, ':') ? "[%s]:%s" : "%s:%s", v, API_DEFAULT_PORT);
    else
        snprintf(buf, len, "%s", v);
    return buf;
}

/* A bare --api (last, or followed by another option) takes the default
 * address: getopt would otherwise eat the next option as its value. */
static void bare_api(int argc, char **argv)
{
    static char deflt[] = "--api=";

    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--api") == 0 && (i + 1 == argc || argv[i + 1][0] == '-'))
            argv[i] = deflt;
}

static int proxy_args(int argc, char **argv, struct proxy_opts *o)
{
    static char api_buf[300];
    static const struct option lo[] = {
        {"listen", 1, 0, 'l'}, {"upstream", 1, 0, 'u'}, {"name", 1, 0, 'n'},
        {"toxic", 1, 0, 't'}, {"api", 1, 0, 'a'}, {"schedule", 1, 0, 's'}, {"seed", 1, 0, 'S'},
        {"duration", 1, 0, 'd'}, {"allow-remote", 0, 0, 'R'}, {"quiet", 0, 0, 'q'},
        {"config", 1, 0, 'c'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    static const struct torn_unit seconds[] = {{"", 1}, {"s", 1}, {"ms", 0.001}, {NULL, 0}};
    struct torn_err err;
    int c;
    bare_api(argc, argv);
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case 'l': o->listen = optarg; break;
        case 'u': o->upstream = optarg; break;
        case 'n': o->name = optarg; break;
        case 'c': o->config = optarg; break;
        case 'a': o->api = api_addr(optarg, api_buf, sizeof api_buf); break;
        case 'R': o->allow_remote = 1; break;
        case 'q': o->quiet = 1; break;
        case 'S':
            if (torn_arg_u64("proxy", "--seed", optarg, &o->seed) != 0)
                return -1;
            break;
        case 'h': proxy_usage(stdout); return 1;
        case 's':
        case 'd':
            if (torn_parse_real_unit(c == 's' ? "--schedule" : "--duration", optarg, seconds,
                                     c == 's' ? 0.001 : 0, 86400,
                                     c == 's' ? &o->schedule_s : &o->duration_s, &err) != 0) {
                fprintf(stderr, "torn proxy: %s\n", err.msg);
                return -1;
            }
            break;
        case 't':
            if (o->n_toxics == MAX_CMD_TOXICS ||
                torn_proxy_toxic_parse(optarg, &o->toxics[o->n_toxics], &err) != 0) {
                fprintf(stderr, "torn proxy: %s\n",
                        o->n_toxics == MAX_CMD_TOXICS ? "too many --toxic" : err.msg);
                return -1;
            }
            o->n_toxics++;
            break;
        default: proxy_usage(stderr); return -1;
        }
    }
    if (optind < argc || (!o->listen != !o->upstream) || (!o->listen && !o->api)) {
        fprintf(stderr, "torn proxy: give --listen and --upstream, and/or --api "
                        "(see torn proxy --help)\n");
        return -1;
    }
    if (!o->listen && o->n_toxics) {
        fprintf(stderr, "torn proxy: --toxic needs --listen/--upstream\n");
        return -1;
    }
    if (o->config && !o->api) {
        fprintf(stderr, "torn proxy: --config needs --api (its proxies live in the API server)\n");
        return -1;
    }
    return 0;
}

/* One schedule step: each toxic on with probability 1/2. */
static void schedule_step(struct torn_proxy *p, const struct proxy_opts *o, struct torn_rng *rng,
                          double t_s)
{
    char line[512];
    int used = snprintf(line, sizeof line, "torn proxy: t=%.2fs", t_s);
    for (int i = 0; i < o->n_toxics; i++) {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o->toxics[i], "name"));
        int on = torn_rng_below(rng, 2) == 1;
        struct torn_err err;
        cJSON *x = NULL;
        if (on && torn_proxy_toxic_add(p, o->toxics[i], &x, &err) == 0)
            name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(x, "name"));
        else if (!on)
            torn_proxy_toxic_remove(p, name);
        if (used > 0 && (size_t)used < sizeof line)
            used += snprintf(line + used, sizeof line - (size_t)used, " %s=%s",
                             name ? name : "?", on ? "on" : "off");
        cJSON_Delete(x);
    }
    if (!o->quiet)
        fprintf(stderr, "%s\n", line);
}

/* Give every toxic the name Toxiproxy would ("latency_downstream"; the
 * schedule removes by name); two with one name are refused. */
static int name_toxics(struct proxy_opts *o)
{
    char names[MAX_CMD_TOXICS][64];

    for (int i = 0; i < o->n_toxics; i++) {
        torn_proxy_toxic_name(o->toxics[i], names[i], sizeof names[i]);
        for (int k = 0; k < i; k++)
            if (strcmp(names[k], names[i]) == 0) {
                fprintf(stderr, "torn proxy: two --toxic named %s (name one with #NAME)\n",
                        names[i]);
                return -1;
            }
        if (!cJSON_GetObjectItemCaseSensitive(o->toxics[i], "name"))
            cJSON_AddStringToObject(o->toxics[i], "name", names[i]);
    }
    return 0;
}

/* The proxies of a Toxiproxy config file (toxiproxy-server -config): a
 * JSON array of {name, listen, upstream, enabled}, read strictly. */
static int load_config(struct torn_proxy_api *api, const char *path, struct torn_err *err)
{
    char *buf = NULL;
    size_t len;
    cJSON *j = NULL;
    int rc = torn_read_file(path, &buf, &len, err);

    if (rc == 0)
        rc = torn_parse_json(path, buf, len, &j, err);
    if (rc == 0 && (rc = torn_proxy_api_populate(api, j, err)) != 0) {
        struct torn_err inner = *err;
        rc = torn_err_set(err, TORN_E_CONFIG, "%s: %s", path, inner.msg);
    }
    cJSON_Delete(j);
    free(buf);
    return rc;
}

static int proxy_start(struct proxy_opts *o, struct torn_proxy **p, struct torn_proxy_api **api)
{
    struct torn_err err;
    if (o->listen &&
        torn_proxy_new(o->name, o->listen, o->upstream, o->seed, o->allow_remote, p, &err) != 0)
        goto fail;
    for (int i = 0; *p && i < o->n_toxics && o->schedule_s <= 0; i++)
        if (torn_proxy_toxic_add(*p, o->toxics[i], NULL, &err) != 0)
            goto fail;
    if (*p)
        printf("proxy %s listening on %s -> %s\n", o->name, torn_proxy_listen_addr(*p),
               o->upstream);
    if (o->api) {
        if (torn_proxy_api_start(o->api, o->seed, o->allow_remote, api, &err) != 0)
            goto fail;
        if (*p && torn_proxy_api_adopt(*api, *p, &err) != 0)
            goto fail;
        if (o->config && load_config(*api, o->config, &err) != 0)
            goto fail;
        printf("api listening on 127.0.0.1:%d\n", torn_proxy_api_port(*api));
    }
    fflush(stdout);
    return 0;
fail:
    fprintf(stderr, "torn proxy: %s\n", err.msg);
    return -1;
}

static void on_signal(int sig)
{
    (void)sig;
    torn_request_stop();
}

int torn_cmd_proxy(int argc, char **argv)
{
    struct proxy_opts o = {.name = "proxy", .seed = 1};
    struct torn_proxy *p = NULL;
    struct torn_proxy_api *api = NULL;
    int rc = proxy_args(argc, argv, &o);
    if (rc == 0)
        rc = name_toxics(&o);
    if (rc == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;   /* any thread may take it; the loop polls */
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        rc = proxy_start(&o, &p, &api);
        struct torn_rng rng;
        torn_rng_seed(&rng, torn_seed_derive(o.seed, "proxy-schedule"));
        uint64_t t0 = torn_now_ns(), next = t0;
        uint64_t end = o.duration_s > 0 ? t0 + (uint64_t)(o.duration_s * 1e9) : UINT64_MAX;
        while (rc == 0) {
            uint64_t now = torn_now_ns();
            /* Every step due by now runs, late ones too, each logged at its
             * scheduled time: a seed gives the same sequence under load. */
            while (p && o.schedule_s > 0 && next <= now && next < end) {
                schedule_step(p, &o, &rng, (double)(next - t0) / 1e9);
                next += (uint64_t)(o.schedule_s * 1e9);
            }
            if (now >= end || torn_stop_requested())
                break;
            torn_sleep_ns(10 * 1000000ULL);
        }
        if (api)
            torn_proxy_api_stop(api);   /* frees the adopted proxy too */
        else
            torn_proxy_free(p);
    }
    for (int i = 0; i < o.n_toxics; i++)
        cJSON_Delete(o.toxics[i]);
    return rc == 0 ? 0 : rc > 0 ? 0 : 2;
}
