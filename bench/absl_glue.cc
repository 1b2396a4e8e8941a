// pl-bench: extern "C" wrappers around absl::Mutex and absl::CondVar, the only C++ in the
// benchmark.  The objects live in memory the C side owns: placement new and explicit
// destructor calls, so the C adapters can put them in the same cells and arrays as every
// other lock.
#include <new>

#include "absl/synchronization/mutex.h"

#include "absl_glue.h"

static absl::Mutex *mu(void *m) { return static_cast<absl::Mutex *>(m); }
static absl::CondVar *cv(void *c) { return static_cast<absl::CondVar *>(c); }

extern "C" {

void pb_absl_setup(void) { absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore); }

size_t pb_absl_mutex_bytes(void) { return sizeof(absl::Mutex); }
size_t pb_absl_mutex_align(void) { return alignof(absl::Mutex); }
size_t pb_absl_condvar_bytes(void) { return sizeof(absl::CondVar); }

void pb_absl_mutex_init(void *m) { new (m) absl::Mutex(); }
void pb_absl_mutex_destroy(void *m) { mu(m)->~Mutex(); }
void pb_absl_lock(void *m) { mu(m)->Lock(); }
void pb_absl_unlock(void *m) { mu(m)->Unlock(); }
int pb_absl_trylock(void *m) { return mu(m)->TryLock(); }
void pb_absl_reader_lock(void *m) { mu(m)->ReaderLock(); }
void pb_absl_reader_unlock(void *m) { mu(m)->ReaderUnlock(); }

void pb_absl_condvar_init(void *c) { new (c) absl::CondVar(); }
void pb_absl_condvar_destroy(void *c) { cv(c)->~CondVar(); }
void pb_absl_wait(void *c, void *m) { cv(c)->Wait(mu(m)); }
void pb_absl_signal(void *c) { cv(c)->Signal(); }
void pb_absl_signal_all(void *c) { cv(c)->SignalAll(); }

} // extern "C"
