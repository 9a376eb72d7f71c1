/* torn: run-wide operation and rate caps (see throttle.h). */
#include "throttle.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "err.h"
#include "util.h"

#define POLL_NS 50000000ull /* re-check the stop flag this often while waiting */

/* Shared by every process of the run (MAP_SHARED, made before the forks). */
struct shared {
    long long used;          /* operations sent */
    uint64_t next_ns;        /* the earliest moment the next operation may go */
    volatile int stop;       /* raised at the cap; torn_stop_share watches it */
};

static struct shared *sh;
static long long cap_ops;
static double cap_rate;
static uint64_t period_ns;   /* 1e9 / cap_rate; 0 = no rate cap */
static uint64_t waited_ns;   /* this process, since torn_throttle_waited_ns */

int torn_throttle_init(long long max_ops, double max_rate, struct torn_err *err)
{
    cap_ops = max_ops > 0 ? max_ops : 0;
    cap_rate = max_rate > 0 ? max_rate : 0;
    period_ns = cap_rate > 0 ? (uint64_t)(1e9 / cap_rate) : 0;
    if (!cap_ops && !cap_rate) {
        torn_stop_share(NULL);
        return TORN_OK;
    }
    if (!sh) {
        void *p = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return torn_err_sys(err, TORN_E_NOMEM, errno, "mmap the run-wide operation caps");
        sh = p;
    }
    memset((void *)sh, 0, sizeof *sh);
    torn_stop_share(&sh->stop);
    return TORN_OK;
}

/* This operation's turn under the rate cap: the shared next_ns moves one
 * period past max(next_ns, now), atomically, so concurrent processes get
 * distinct turns. */
static uint64_t claim_turn(void)
{
    uint64_t cur = __atomic_load_n(&sh->next_ns, __ATOMIC_SEQ_CST), turn;

    do {
        uint64_t now = torn_now_ns();
        turn = cur > now ? cur : now;
    } while (!__atomic_compare_exchange_n(&sh->next_ns, &cur, turn + period_ns, 0,
                                          __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
    return turn;
}

int torn_throttle_take(struct torn_err *err)
{
    uint64_t t0, now, turn;

    if (!sh || (!cap_ops && !cap_rate))
        return TORN_OK;
    if (period_ns) {
        t0 = torn_now_ns();
        turn = claim_turn();
        while ((now = torn_now_ns()) < turn) {
            if (torn_stop_requested() && !sh->stop) /* a signal, not the cap's wind-down */
                return torn_err_set(err, TORN_E_INTERRUPTED, "not sent: the run was stopped");
            torn_sleep_ns(turn - now < POLL_NS ? turn - now : POLL_NS);
        }
        waited_ns += now - t0;
    }
    if (__atomic_add_fetch(&sh->used, 1, __ATOMIC_SEQ_CST) >= cap_ops && cap_ops)
        sh->stop = 1;
    return TORN_OK;
}

uint64_t torn_throttle_waited_ns(void)
{
    uint64_t w = waited_ns;

    waited_ns = 0;
    return w;
}

long long torn_throttle_used(void)
{
    return sh ? __atomic_load_n(&sh->used, __ATOMIC_SEQ_CST) : 0;
}

long long torn_throttle_max_ops(void)
{
    return cap_ops;
}

double torn_throttle_max_rate(void)
{
    return cap_rate;
}

int torn_throttle_capped(void)
{
    return sh && cap_ops && sh->stop;
}
