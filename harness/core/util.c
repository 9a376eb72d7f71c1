/* torn: small shared helpers. */
#include "util.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "err.h"

uint64_t torn_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void torn_sleep_ns(uint64_t ns)
{
    struct timespec req = {(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};
    struct timespec rem;

    while (nanosleep(&req, &rem) == -1 && errno == EINTR && !torn_stop_requested())
        req = rem;
}

void torn_iso_now(char buf[32])
{
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    char tmp[96];

    snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(ts.tv_nsec / 1000000L));
    memcpy(buf, tmp, 31);
    buf[31] = '\0';
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void torn_rng_seed(struct torn_rng *r, uint64_t seed)
{
    uint64_t x = seed;

    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t torn_rng_next(struct torn_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t torn_rng_below(struct torn_rng *r, uint64_t n)
{
    return n ? torn_rng_next(r) % n : 0;
}

double torn_rng_double(struct torn_rng *r)
{
    return (double)(torn_rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t torn_fnv1a(uint64_t h, const void *buf, size_t len)
{
    const unsigned char *p = buf;

    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

uint64_t torn_seed_derive(uint64_t seed, const char *what)
{
    uint64_t x = torn_fnv1a(TORN_FNV_INIT ^ seed, what, strlen(what));

    return splitmix64(&x);
}

static volatile sig_atomic_t stop_flag;
static volatile int *shared_stop; /* a run-wide flag in shared memory */

int torn_stop_requested(void)
{
    return stop_flag != 0 || (shared_stop && *shared_stop);
}

void torn_stop_share(volatile int *flag)
{
    shared_stop = flag;
}

void torn_request_stop(void)
{
    stop_flag = 1;
}

int torn_read_file(const char *path, char **buf_out, size_t *len_out, struct torn_err *err)
{
    int fd, e;
    size_t cap = 4096, len = 0;
    char *buf;

    *buf_out = NULL;
    if (len_out)
        *len_out = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        e = errno;
        return torn_err_sys(err, e == ENOENT ? TORN_E_NOTFOUND : TORN_E_IO, e, "%s", path);
    }
    buf = malloc(cap + 1);
    if (!buf) {
        close(fd);
        return torn_err_set(err, TORN_E_NOMEM, "%s: out of memory", path);
    }
    for (;;) {
        ssize_t n;

        if (len == cap) {
            char *nb = realloc(buf, cap * 2 + 1);
            if (!nb) {
                free(buf);
                close(fd);
                return torn_err_set(err, TORN_E_NOMEM, "%s: out of memory", path);
            }
            buf = nb;
            cap *= 2;
        }
        n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            e = errno;
            free(buf);
            close(fd);
            return torn_err_sys(err, TORN_E_IO, e, "read %s", path);
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    *buf_out = buf;
    if (len_out)
        *len_out = len;
    return TORN_OK;
}

int torn_fsync_dir(const char *path, struct torn_err *err)
{
    char *copy = torn_strdup(path), *slash;
    struct stat st;
    int fd, e;

    if (!copy)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    if (stat(copy, &st) != 0 || !S_ISDIR(st.st_mode)) {
        slash = strrchr(copy, '/');
        if (slash == copy)
            slash[1] = '\0';
        else if (slash)
            *slash = '\0';
        else
            strcpy(copy, ".");
    }
    fd = open(copy, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        e = errno;
        if (fd >= 0)
            close(fd);
        torn_err_sys(err, TORN_E_IO, e, "fsync directory %s", copy);
        free(copy);
        return TORN_E_IO;
    }
    close(fd);
    free(copy);
    return TORN_OK;
}

int torn_mkdirs(const char *path, int mode, struct torn_err *err)
{
    char *copy = torn_strdup(path);
    int e;

    if (!copy)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    for (char *p = copy + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(copy, (mode_t)mode) != 0 && errno != EEXIST) {
            e = errno;
            torn_err_sys(err, TORN_E_ENV, e, "cannot create directory %s", copy);
            free(copy);
            return TORN_E_ENV;
        }
        *p = '/';
    }
    if (mkdir(copy, (mode_t)mode) != 0 && errno != EEXIST) {
        e = errno;
        torn_err_sys(err, TORN_E_ENV, e, "cannot create directory %s", copy);
        free(copy);
        return TORN_E_ENV;
    }
    free(copy);
    return TORN_OK;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    if (flag == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

int torn_rmtree(const char *path)
{
    if (!path || !*path || strcmp(path, "/") == 0 || !strstr(path, "torn"))
        return -1;
    return nftw(path, rm_entry, 32, FTW_DEPTH | FTW_PHYS);
}

char *torn_asprintf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    return n < 0 ? NULL : s;
}

char *torn_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

void torn_list_add(char *buf, size_t len, size_t *used, const char *name)
{
    int w = snprintf(buf + *used, len - *used, "%s%s", *used ? ", " : "", name);

    if (w > 0 && (size_t)w < len - *used)
        *used += (size_t)w;
}

/* ------------------------------------------------------------ secrets */

struct span {
    size_t from, to;
};

#define MAX_SPANS 32

static void add_span(struct span *sp, size_t *n, size_t from, size_t to)
{
    if (to > from && *n < MAX_SPANS)
        sp[(*n)++] = (struct span){from, to};
}

/* URL userinfo passwords: scheme://user:PASS@host.  A raw '@' may be part
 * of the password, so the userinfo ends at the LAST '@' before the query
 * ('?' or '#' after the first '@'); the URL ends at whitespace. */
static void url_spans(const char *s, struct span *sp, size_t *n)
{
    for (const char *p = strstr(s, "://"); p; p = strstr(p + 3, "://")) {
        const char *auth = p + 3, *end = auth + strcspn(auth, " \t\n");
        const char *first = memchr(auth, '@', (size_t)(end - auth)), *q, *last, *colon;

        if (!first)
            continue;
        q = first + strcspn(first, "?#");
        q = q < end ? q : end;
        last = first;
        for (const char *c = first; c < q; c++)
            if (*c == '@')
                last = c;
        colon = memchr(auth, ':', (size_t)(last - auth));
        if (colon)
            add_span(sp, n, (size_t)(colon + 1 - s), (size_t)(last - s));
    }
}

/* password=VALUE anywhere (libpq conninfo with optional spaces around '='
 * and single-quoted values with backslash escapes, URL query parameters,
 * --target-opt password=..., sslpassword=...), any letter case. */
static void keyword_spans(const char *s, struct span *sp, size_t *n)
{
    for (const char *p = strcasestr(s, "password"); p; p = strcasestr(p + 8, "password")) {
        const char *v = p + 8, *e;

        while (*v == ' ')
            v++;
        if (*v != '=')
            continue;
        for (v++; *v == ' '; v++)
            ;
        e = v;
        if (*e == '\'') {
            for (e++; *e && *e != '\''; e++)
                if (*e == '\\' && e[1])
                    e++;
            if (*e)
                e++;
        } else {
            e += strcspn(e, " \t\n&;");
        }
        add_span(sp, n, (size_t)(v - s), (size_t)(e - s));
    }
}

static int span_cmp(const void *a, const void *b)
{
    const struct span *x = a, *y = b;

    return x->from < y->from ? -1 : x->from > y->from;
}

/* The secret spans of s, sorted, overlaps merged; returns their number. */
static size_t secret_spans(const char *s, struct span *sp)
{
    size_t n = 0, m = 0;

    url_spans(s, sp, &n);
    keyword_spans(s, sp, &n);
    qsort(sp, n, sizeof *sp, span_cmp);
    for (size_t i = 0; i < n; i++) {
        if (m && sp[i].from <= sp[m - 1].to) {
            if (sp[i].to > sp[m - 1].to)
                sp[m - 1].to = sp[i].to;
        } else {
            sp[m++] = sp[i];
        }
    }
    return m;
}

char *torn_redact(const char *uri)
{
    struct span sp[MAX_SPANS];
    size_t n, at = 0;
    char *buf = NULL;
    size_t len = 0;
    FILE *f;

    if (!uri)
        return NULL;
    n = secret_spans(uri, sp);
    if (!n)
        return strdup(uri);
    if (!(f = open_memstream(&buf, &len)))
        return NULL;
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "%.*s***", (int)(sp[i].from - at), uri + at);
        at = sp[i].to;
    }
    fputs(uri + at, f);
    fclose(f);
    return buf;
}

int torn_redact_inplace(char *s)
{
    struct span sp[MAX_SPANS];
    size_t n = s ? secret_spans(s, sp) : 0;

    for (size_t i = 0; i < n; i++)
        memset(s + sp[i].from, '*', sp[i].to - sp[i].from);
    return n > 0;
}

void torn_scrub_argv(int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        char *copy;
        if (!argv[i] || !strpbrk(argv[i], "@=") || !(copy = strdup(argv[i])))
            continue;
        if (torn_redact_inplace(argv[i]))
            argv[i] = copy; /* lives as long as the process, like argv */
        else
            free(copy);
    }
}

/* Characters a POSIX shell never treats specially inside a word. */
static int shell_safe(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-",
                    *s))
            return 0;
    return 1;
}

void torn_shell_quote(FILE *f, const char *arg)
{
    arg = arg ? arg : "";
    if (shell_safe(arg)) {
        fputs(arg, f);
        return;
    }
    fputc('\'', f);
    for (; *arg; arg++) {
        if (*arg == '\'')
            fputs("'\\''", f);
        else
            fputc(*arg, f);
    }
    fputc('\'', f);
}

char *torn_command_line(int argc, char *const *argv)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    if (!f)
        return NULL;
    fputs("torn", f);
    for (int i = 0; i < argc; i++) {
        char *r = torn_redact(argv[i]);
        fputc(' ', f);
        torn_shell_quote(f, r ? r : "***");
        free(r);
    }
    fclose(f);
    return buf;
}

static int addr_is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
            return 1;
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
            return in6->sin6_addr.s6_addr[12] == 127;
    }
    return 0;
}

int torn_host_is_loopback(const char *host)
{
    struct addrinfo hints, *res = NULL;
    int ok = 1;

    if (!host || !*host || host[0] == '/')
        return 1; /* Unix socket or library default (local) */
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_flags = AI_NUMERICSERV;
    if (getaddrinfo(host, NULL, &hints, &res) != 0)
        return 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
        if (!addr_is_loopback(ai->ai_addr))
            ok = 0;
    freeaddrinfo(res);
    return ok;
}

int torn_require_loopback(const char *host, int allow_remote, const char *what,
                          struct torn_err *err)
{
    if (allow_remote || torn_host_is_loopback(host))
        return TORN_OK;
    return torn_err_set(err, TORN_E_CONFIG,
                        "%s: host '%s' is not a loopback address; torn refuses remote targets "
                        "unless --allow-remote is given",
                        what, host);
}

int torn_free_port(int *port_out, struct torn_err *err)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), e;

    *port_out = 0;
    if (fd < 0)
        return torn_err_sys(err, TORN_E_ENV, errno, "socket");
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
        e = errno;
        close(fd);
        return torn_err_sys(err, TORN_E_ENV, e, "cannot find a free loopback port");
    }
    *port_out = ntohs(a.sin_port);
    close(fd);
    return TORN_OK;
}
