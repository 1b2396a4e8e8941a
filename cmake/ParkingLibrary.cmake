# parking_add_library(name SHARED|STATIC backend): one build of libparking with one parker.
include(${CMAKE_CURRENT_LIST_DIR}/ParkingSources.cmake)

find_package(Threads REQUIRED)

# Atomics on 1- and 2-byte objects (the one-byte mutex, bit locks in 8- and 16-bit words,
# pl_wait on them), in the library and in the inline fast paths of the headers, so in users'
# code too.  Some compilers leave them to libatomic instead of inlining them: GCC 12 for
# riscv64 calls __atomic_fetch_or_1 and friends, and libparking.so and the tests then failed to
# link or load there (tools/test-cross riscv64).  Where that is so, libatomic joins the
# libraries' PUBLIC link interface (and parking.pc's Libs).
include(CheckCSourceCompiles)
set(_parking_atomic_src [=[
#include <stdint.h>
static uint8_t b;
static uint16_t h;
int main(void)
{
    uint8_t e = 0;
    return __atomic_fetch_or(&b, 1, __ATOMIC_SEQ_CST) + __atomic_exchange_n(&h, 1, __ATOMIC_SEQ_CST)
           + __atomic_compare_exchange_n(&b, &e, 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)
           + __atomic_fetch_and(&h, 1, __ATOMIC_SEQ_CST);
}
]=])
check_c_source_compiles("${_parking_atomic_src}" PARKING_SUBWORD_ATOMICS_INLINE)
set(PARKING_LIBATOMIC "")
if(NOT PARKING_SUBWORD_ATOMICS_INLINE)
  set(CMAKE_REQUIRED_LIBRARIES atomic)
  check_c_source_compiles("${_parking_atomic_src}" PARKING_SUBWORD_ATOMICS_LIBATOMIC)
  unset(CMAKE_REQUIRED_LIBRARIES)
  if(PARKING_SUBWORD_ATOMICS_LIBATOMIC)
    set(PARKING_LIBATOMIC atomic)
  else()
    message(WARNING "1- and 2-byte atomics need a library this compiler does not find (libatomic)")
  endif()
endif()

# The ELF version script of the shared library (cmake/parking.map), where the linker takes one.
include(CheckLinkerFlag)
set(PARKING_VERSION_SCRIPT "${PROJECT_SOURCE_DIR}/cmake/parking.map")
check_linker_flag(C "LINKER:--version-script=${PARKING_VERSION_SCRIPT}"
                  PARKING_HAVE_VERSION_SCRIPT)

# The shared library is never unloaded (-z nodelete, ELF): every thread that parked has a
# pthread key whose destructor is in it, and the C library calls that destructor when the thread
# exits, also after a dlclose() of the plugin that brought libparking in; unmapped, it would
# crash the process.  docs/design.md section 3.
check_linker_flag(C "LINKER:-z,nodelete" PARKING_HAVE_Z_NODELETE)

# Debug mode's messages name call sites as object+offset with dladdr, in the C library since
# glibc 2.34 (and in musl, macOS, the BSDs); older glibc has it in libdl.
if(NOT WIN32)
  include(CheckSymbolExists)
  set(CMAKE_REQUIRED_DEFINITIONS -D_GNU_SOURCE)
  check_symbol_exists(dladdr dlfcn.h PARKING_HAVE_DLADDR_IN_LIBC)
  unset(CMAKE_REQUIRED_DEFINITIONS)
endif()

# Static probes (USDT, parking/probes.h, docs/profiling.md): AUTO builds them where
# <sys/sdt.h> is found (Debian: systemtap-sdt-dev, tools/setup-deps), ON requires it, OFF leaves
# them out (every probe macro empty).
set(PARKING_PROBES "AUTO" CACHE STRING "USDT probes (<sys/sdt.h>): AUTO, ON or OFF")
set_property(CACHE PARKING_PROBES PROPERTY STRINGS AUTO ON OFF)
set(PARKING_PROBES_RESOLVED OFF)
if(NOT PARKING_PROBES STREQUAL "OFF" AND NOT WIN32)
  include(CheckIncludeFile)
  check_include_file(sys/sdt.h PARKING_HAVE_SYS_SDT_H)
  if(PARKING_HAVE_SYS_SDT_H)
    set(PARKING_PROBES_RESOLVED ON)
  elseif(PARKING_PROBES STREQUAL "ON")
    message(FATAL_ERROR "PARKING_PROBES=ON but <sys/sdt.h> is missing (Debian: systemtap-sdt-dev)")
  else()
    message(STATUS "libparking: no <sys/sdt.h>: static probes left out (Debian: systemtap-sdt-dev)")
  endif()
endif()

function(parking_add_library name kind backend)
  parking_parker_sources(${backend} parker_sources)
  add_library(${name} ${kind} ${PARKING_CORE_SOURCES} ${parker_sources}
              ${PARKING_PRIMITIVE_SOURCES} ${PARKING_DEBUG_SOURCES} ${PARKING_PROFILE_SOURCES})
  string(TOUPPER ${backend} backend_upper)
  target_compile_definitions(${name} PRIVATE PARKING_BUILDING PARKING_PARKER_${backend_upper}
                             _GNU_SOURCE)
  if(kind STREQUAL "STATIC")
    target_compile_definitions(${name} PUBLIC PARKING_STATIC)
  endif()
  if(PARKING_CHAOS)
    target_compile_definitions(${name} PRIVATE PARKING_CHAOS)
  endif()
  if(PARKING_PROBES_RESOLVED)
    target_compile_definitions(${name} PRIVATE PARKING_PROBES)
  endif()
  target_include_directories(${name}
    PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
           $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/include>
           $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
    # Internal headers by bare name ("table.h", "lock_algorithm.h", "debug_internal.h"): the
    # repository root is not on the path, so "parking/x.h" can only mean a public header.
    PRIVATE ${PROJECT_SOURCE_DIR}/parking ${PROJECT_SOURCE_DIR}/src
            ${PROJECT_SOURCE_DIR}/src/debug ${PARKING_UTLIST_DIR})
  set_target_properties(${name} PROPERTIES
    C_VISIBILITY_PRESET hidden
    POSITION_INDEPENDENT_CODE ON
    VERSION ${PROJECT_VERSION}
    SOVERSION ${PARKING_SOVERSION})
  target_link_libraries(${name} PUBLIC Threads::Threads ${PARKING_LIBATOMIC})
  if(NOT WIN32 AND NOT PARKING_HAVE_DLADDR_IN_LIBC)
    target_link_libraries(${name} PRIVATE ${CMAKE_DL_LIBS})
  endif()
  if(kind STREQUAL "SHARED" AND PARKING_HAVE_VERSION_SCRIPT AND NOT WIN32 AND NOT APPLE)
    target_link_options(${name} PRIVATE "LINKER:--version-script=${PARKING_VERSION_SCRIPT}")
    set_property(TARGET ${name} APPEND PROPERTY LINK_DEPENDS "${PARKING_VERSION_SCRIPT}")
  endif()
  if(kind STREQUAL "SHARED" AND PARKING_HAVE_Z_NODELETE AND NOT WIN32 AND NOT APPLE)
    target_link_options(${name} PRIVATE "LINKER:-z,nodelete")
  endif()
  if(MINGW AND kind STREQUAL "SHARED")
    # Otherwise libparking.dll needs libgcc_s_seh-1.dll at run time.
    target_link_options(${name} PRIVATE -static-libgcc)
  endif()
  if(backend STREQUAL "windows")
    target_link_libraries(${name} PUBLIC synchronization)
  endif()
endfunction()
