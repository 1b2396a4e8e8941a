/** @file
 * libparking: Clang thread-safety analysis (`-Wthread-safety`) attributes.
 *
 * The lock types of libparking are capabilities and their functions say what they acquire,
 * release or require, so Clang checks at compile time that data marked PL_GUARDED_BY is only
 * touched with its lock held (as the annotated headers of Abseil and WebKit let it).  The same
 * macros are for the user's own code.  With any compiler other than Clang, or a Clang without
 * the attributes, every macro expands to nothing; attributes never change the generated code.
 *
 * How to use them, and what cannot be expressed (bit locks on a caller's word, try and timed
 * upgrades, recursive locking): docs/cxx.md, "Thread-safety analysis".  The names follow
 * Clang's documentation (clang.llvm.org/docs/ThreadSafetyAnalysis.html) with a PL_ prefix.
 *
 * In C, Clang resolves a PL_GUARDED_BY argument where the attribute is written: a global
 * variable may name a global lock, but a struct member cannot name a lock member of its own
 * struct (C++ can).  Function attributes may name parameters (`PL_REQUIRES(*m)`).
 */
#ifndef PARKING_THREAD_SAFETY_H
#define PARKING_THREAD_SAFETY_H

#if defined(__clang__) && defined(__has_attribute)
#  if __has_attribute(capability) && __has_attribute(acquire_capability)
#    define PL__TSA(x) __attribute__((x))
#  endif
#endif
#ifndef PL__TSA
#  define PL__TSA(x) /* not Clang: no analysis */
#endif

/** Marks a type (struct, class or typedef) as a lock; @p name ("mutex") appears in messages. */
#define PL_CAPABILITY(name) PL__TSA(capability(name))
/** Marks an RAII class whose constructor acquires and destructor releases a capability. */
#define PL_SCOPED_CAPABILITY PL__TSA(scoped_lockable)
/** A variable or member that may be read or written only with @p x held (shared for reads). */
#define PL_GUARDED_BY(x) PL__TSA(guarded_by(x))
/** A pointer whose pointee may be accessed only with @p x held (the pointer itself is free). */
#define PL_PT_GUARDED_BY(x) PL__TSA(pt_guarded_by(x))
/** On a lock: it must be acquired before the locks listed (checked with -Wthread-safety-beta). */
#define PL_ACQUIRED_BEFORE(...) PL__TSA(acquired_before(__VA_ARGS__))
/** On a lock: it must be acquired after the locks listed (checked with -Wthread-safety-beta). */
#define PL_ACQUIRED_AFTER(...) PL__TSA(acquired_after(__VA_ARGS__))
/** The function must be called with the capabilities exclusively held (and keeps them). */
#define PL_REQUIRES(...) PL__TSA(requires_capability(__VA_ARGS__))
/** The function must be called with the capabilities held at least shared. */
#define PL_REQUIRES_SHARED(...) PL__TSA(requires_shared_capability(__VA_ARGS__))
/** The function acquires the capabilities exclusively and returns holding them. */
#define PL_ACQUIRE(...) PL__TSA(acquire_capability(__VA_ARGS__))
/** The function acquires the capabilities shared and returns holding them. */
#define PL_ACQUIRE_SHARED(...) PL__TSA(acquire_shared_capability(__VA_ARGS__))
/** The function releases the exclusively held capabilities. */
#define PL_RELEASE(...) PL__TSA(release_capability(__VA_ARGS__))
/** The function releases the shared capabilities. */
#define PL_RELEASE_SHARED(...) PL__TSA(release_shared_capability(__VA_ARGS__))
/** The function releases the capabilities, held in either mode (an RAII guard's destructor). */
#define PL_RELEASE_GENERIC(...) PL__TSA(release_generic_capability(__VA_ARGS__))
/** The function acquires the capabilities exclusively when it returns @p ret (the first
 * argument: true, or nonzero). */
#define PL_TRY_ACQUIRE(...) PL__TSA(try_acquire_capability(__VA_ARGS__))
/** As PL_TRY_ACQUIRE, in shared mode. */
#define PL_TRY_ACQUIRE_SHARED(...) PL__TSA(try_acquire_shared_capability(__VA_ARGS__))
/** The function must be called without the capabilities held (it takes them itself). */
#define PL_EXCLUDES(...) PL__TSA(locks_excluded(__VA_ARGS__))
/** The function checks (aborts otherwise) that the capability is held exclusively. */
#define PL_ASSERT_CAPABILITY(x) PL__TSA(assert_capability(x))
/** The function checks (aborts otherwise) that the capability is held at least shared. */
#define PL_ASSERT_SHARED_CAPABILITY(x) PL__TSA(assert_shared_capability(x))
/** The function returns a reference to the capability @p x (an accessor of a lock member). */
#define PL_RETURN_CAPABILITY(x) PL__TSA(lock_returned(x))
/** Turns the analysis off inside one function (its callers still see its attributes). */
#define PL_NO_THREAD_SAFETY_ANALYSIS PL__TSA(no_thread_safety_analysis)

#endif /* PARKING_THREAD_SAFETY_H */
