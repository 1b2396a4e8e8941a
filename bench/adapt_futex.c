/* pl-bench: a raw Linux futex as the rock-bottom peer of pl_wait / pl_wake_one.  It is what a
 * hand-written wait-on-address costs with no bookkeeping at all: every wake is a system call,
 * whether or not anybody waits (real code adds a "waiters" flag to skip it). */
#include "bench.h"

#ifdef __linux__
#  include <errno.h>
#  include <linux/futex.h>
#  include <stdint.h>
#  include <string.h>
#  include <sys/syscall.h>
#  include <unistd.h>

static void fx_init(void *ev) { memset(ev, 0, PB_EVENT_BYTES); }
static void fx_destroy(void *ev) { (void)ev; }

static uint32_t fx_wait_while(void *ev, uint32_t expected)
{
    uint32_t *word = ev, v;
    while ((v = __atomic_load_n(word, __ATOMIC_ACQUIRE)) == expected) {
        /* EAGAIN (the word changed) and EINTR: look again. */
        if (syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0) != 0 &&
            errno != EAGAIN && errno != EINTR)
            pb_fatal("futex wait: %s", strerror(errno));
    }
    return v;
}

static void fx_set_and_wake(void *ev, uint32_t value)
{
    __atomic_store_n((uint32_t *)ev, value, __ATOMIC_RELEASE);
    if (syscall(SYS_futex, ev, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0) < 0)
        pb_fatal("futex wake: %s", strerror(errno));
}

static const pb_event_ops_t fx = {
    .name = "raw futex",
    .role = PB_PEER,
    .init = fx_init,
    .destroy = fx_destroy,
    .wait_while = fx_wait_while,
    .set_and_wake = fx_set_and_wake,
};

void pb_futex_register(void) { pb_register_event(&fx); }
#else
void pb_futex_register(void) {}
#endif
