/* torn: error codes and the error context every fallible call fills.
 *
 * Convention (hiredis/curl style): functions that can fail return int, 0 on
 * success or a negative enum torn_code, and fill an optional last argument
 * `struct torn_err *err` (may be NULL) with the code, the saved errno and one
 * human line.  Library code never exits; only main() maps codes to exit codes.
 */
#ifndef TORN_ERR_H
#define TORN_ERR_H

enum torn_code {
    TORN_OK = 0,
    TORN_E_USAGE = -1,       /* bad command line */
    TORN_E_CONFIG = -2,      /* bad spec file, target URI or parameter */
    TORN_E_ENV = -3,         /* missing binary, no permission, cannot create dir */
    TORN_E_IO = -4,          /* an I/O call failed; sys_errno saved */
    TORN_E_NOMEM = -5,
    TORN_E_NOTFOUND = -6,    /* the record does not exist (definite) */
    TORN_E_CORRUPT = -7,     /* the record exists, no intact version readable */
    TORN_E_CONNECT = -8,     /* could not reach the server; nothing was sent */
    TORN_E_TIMEOUT = -9,     /* gave up waiting; the operation may have happened */
    TORN_E_PROTOCOL = -10,   /* the peer sent something unparsable or unexpected */
    TORN_E_REMOTE = -11,     /* the store itself reported an error (see msg) */
    TORN_E_UNSUPPORTED = -12,/* the target has no such operation */
    TORN_E_INTERRUPTED = -13,/* SIGINT/SIGTERM arrived */
    TORN_E_AUTH = -14,       /* authentication refused */
    TORN_E_CRASHED = -15,    /* a child process died unexpectedly */
    TORN_E_NOWORK = -16      /* a scenario did too little work for a verdict */
};

struct torn_err {
    int code;          /* enum torn_code; 0 when no error */
    int sys_errno;     /* errno saved at the failing call, 0 if none */
    int indefinite;    /* 1: the failed operation may still have taken effect
                          (timeout, connection lost after the request was sent).
                          0: it definitely did not happen. */
    char msg[256];     /* one line, no trailing newline, never a password */
};

/* Set err (if non-NULL) to code and a printf-style message; returns code so
 * callers can `return torn_err_set(err, TORN_E_IO, "...")`.  indefinite is
 * set to 1 for TORN_E_TIMEOUT, 0 otherwise. */
int torn_err_set(struct torn_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like torn_err_set, saving saved_errno and appending ": strerror(saved_errno)". */
int torn_err_sys(struct torn_err *err, int code, int saved_errno, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Reset err to TORN_OK. NULL is a no-op. */
void torn_err_clear(struct torn_err *err);

/* Static name of a code ("I/O error", ...); never NULL. */
const char *torn_strerror(int code);

/* The process exit code for a code: 0 for TORN_OK, 2 for everything that is
 * a usage, configuration or environment problem. (1 is reserved for "a
 * violation was found", which is not an error code.) */
int torn_exit_code(int code);

#endif
