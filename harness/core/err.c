/* torn: error context helpers. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "text.h"

static void vset(struct torn_err *err, int code, int saved_errno, const char *fmt, va_list ap)
{
    err->code = code;
    err->sys_errno = saved_errno;
    err->indefinite = (code == TORN_E_TIMEOUT);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    /* Messages often carry a target's words (an adapter's error text, an
     * HTTP body): neutralised here, once, for every place that prints them. */
    torn_text_safe_inplace(err->msg, sizeof err->msg);
}

int torn_err_set(struct torn_err *err, int code, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return code;
    va_start(ap, fmt);
    vset(err, code, 0, fmt, ap);
    va_end(ap);
    return code;
}

int torn_err_sys(struct torn_err *err, int code, int saved_errno, const char *fmt, ...)
{
    va_list ap;
    size_t used;

    if (!err)
        return code;
    va_start(ap, fmt);
    vset(err, code, saved_errno, fmt, ap);
    va_end(ap);
    used = strlen(err->msg);
    if (saved_errno && used < sizeof err->msg - 1)
        snprintf(err->msg + used, sizeof err->msg - used, ": %s", strerror(saved_errno));
    return code;
}

void torn_err_clear(struct torn_err *err)
{
    if (!err)
        return;
    err->code = TORN_OK;
    err->sys_errno = 0;
    err->indefinite = 0;
    err->msg[0] = '\0';
}

/* No default: -Wswitch flags a code without a message. */
const char *torn_strerror(int code)
{
    switch ((enum torn_code)code) {
    case TORN_OK: return "ok";
    case TORN_E_USAGE: return "usage error";
    case TORN_E_CONFIG: return "configuration error";
    case TORN_E_ENV: return "environment error";
    case TORN_E_IO: return "I/O error";
    case TORN_E_NOMEM: return "out of memory";
    case TORN_E_NOTFOUND: return "not found";
    case TORN_E_CORRUPT: return "corrupt record";
    case TORN_E_CONNECT: return "cannot connect";
    case TORN_E_TIMEOUT: return "timed out";
    case TORN_E_PROTOCOL: return "protocol error";
    case TORN_E_REMOTE: return "store error";
    case TORN_E_UNSUPPORTED: return "unsupported";
    case TORN_E_INTERRUPTED: return "interrupted";
    case TORN_E_AUTH: return "authentication failed";
    case TORN_E_CRASHED: return "child crashed";
    case TORN_E_NOWORK: return "too little work for a verdict";
    }
    return "unknown error";
}

int torn_exit_code(int code)
{
    return code == TORN_OK ? 0 : 2;
}
