/* pl-bench: Abseil's absl::Mutex (also a reader-writer lock) and absl::CondVar, built only when
 * CMake found Abseil and a C++ compiler.  The calls go through absl_glue.cc; Abseil's own lock
 * and unlock are out of line in libabsl_synchronization.so anyway, so the extra call costs a
 * few cycles at most.  Deadlock detection is turned off first (pb_absl_setup). */
#include "absl_glue.h"
#include "bench.h"
#include "kernels.h"

static void abm_init(void *lock, bool zeroed)
{
    (void)zeroed; /* the constructor writes the word either way */
    pb_absl_mutex_init(lock);
}

static void abm_destroy(void *lock)
{
    if (!pb_absl_trylock(lock))
        pb_fatal("absl::Mutex %p still locked after all threads finished", lock);
    pb_absl_unlock(lock);
    pb_absl_mutex_destroy(lock);
}

PB_MUTEX_KERNELS(abm, pb_absl_lock, pb_absl_unlock)
PB_RWLOCK_KERNELS(abrw, pb_absl_reader_lock, pb_absl_reader_unlock, pb_absl_lock, pb_absl_unlock)

static void abrw_init(void *lock) { pb_absl_mutex_init(lock); }

/* Sizes come from the C++ side at run time, hence not const. */
static pb_mutex_ops_t abm = {
    .name = "absl::Mutex",
    .role = PB_PEER,
    .init = abm_init,
    .destroy = abm_destroy,
    .lock = pb_absl_lock,
    .unlock = pb_absl_unlock,
    .pairs = abm_pairs,
    .speed = abm_speed,
    .many = abm_many,
};

static pb_rwlock_ops_t abrw = {
    .name = "absl::Mutex (ReaderLock)",
    .role = PB_PEER,
    .init = abrw_init,
    .destroy = abm_destroy,
    .run = abrw_rw,
};

static pb_cond_ops_t abc = {
    .name = "absl::CondVar+Mutex",
    .role = PB_PEER,
    .mutex_init = abrw_init,
    .mutex_destroy = abm_destroy,
    .cond_init = pb_absl_condvar_init,
    .cond_destroy = pb_absl_condvar_destroy,
    .lock = pb_absl_lock,
    .unlock = pb_absl_unlock,
    .wait = pb_absl_wait,
    .signal = pb_absl_signal,
    .broadcast = pb_absl_signal_all,
};

void pb_absl_register(void)
{
    pb_absl_setup();
    abm.bytes = abrw.bytes = abc.mutex_bytes = pb_absl_mutex_bytes();
    abm.align = abrw.align = pb_absl_mutex_align();
    abc.bytes = pb_absl_condvar_bytes();
    pb_register_mutex(&abm);
    pb_register_rwlock(&abrw);
    pb_register_cond(&abc);
}
