/* pl-bench: the C face of absl_glue.cc (absl::Mutex and absl::CondVar behind extern "C"). */
#ifndef PL_BENCH_ABSL_GLUE_H
#define PL_BENCH_ABSL_GLUE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Turns Abseil's deadlock detection off (absl::OnDeadlockCycle::kIgnore), as release builds
 * of Abseil have it; Debian's build leaves it on, which records every lock acquisition. */
void pb_absl_setup(void);

size_t pb_absl_mutex_bytes(void);
size_t pb_absl_mutex_align(void);
size_t pb_absl_condvar_bytes(void);

void pb_absl_mutex_init(void *m);    /* placement new */
void pb_absl_mutex_destroy(void *m); /* explicit destructor call */
void pb_absl_lock(void *m);
void pb_absl_unlock(void *m);
int pb_absl_trylock(void *m);
void pb_absl_reader_lock(void *m);
void pb_absl_reader_unlock(void *m);

void pb_absl_condvar_init(void *c);
void pb_absl_condvar_destroy(void *c);
void pb_absl_wait(void *c, void *m);
void pb_absl_signal(void *c);
void pb_absl_signal_all(void *c);

#ifdef __cplusplus
}
#endif

#endif /* PL_BENCH_ABSL_GLUE_H */
