# CMake toolchain file: cross-compile libparking for 64-bit Windows with mingw-w64 (Debian:
# gcc-mingw-w64-x86-64).  Used by tools/test-windows; by hand:
#
#   cmake -S . -B build/windows -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64.cmake
#
# The compiler prefix can be overridden (-DPARKING_MINGW_PREFIX=x86_64-w64-mingw32), e.g. for
# the "-posix" flavour of the Debian compilers (the default "-win32" flavour is what the tests
# use: the library needs no C++11 threads, and winpthreads is linked either way).
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(PARKING_MINGW_PREFIX "x86_64-w64-mingw32" CACHE STRING "mingw-w64 tool prefix")
set(CMAKE_C_COMPILER ${PARKING_MINGW_PREFIX}-gcc)
set(CMAKE_CXX_COMPILER ${PARKING_MINGW_PREFIX}-g++)
set(CMAKE_RC_COMPILER ${PARKING_MINGW_PREFIX}-windres)

# Libraries and packages only from the target's sysroot, programs only from the host.  Headers
# from both: the one header looked up with find_path is utlist.h (uthash-dev), which is
# target-neutral macros; the top-level CMakeLists.txt copies it into the build tree rather than
# putting the host's /usr/include on the cross compiler's include path.
set(CMAKE_FIND_ROOT_PATH /usr/${PARKING_MINGW_PREFIX})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Run the cross-compiled programs CMake wants to run (none today) under Wine when it is there.
find_program(PARKING_WINE64 NAMES wine64 wine PATHS /usr/lib/wine NO_CMAKE_FIND_ROOT_PATH)
if(PARKING_WINE64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${PARKING_WINE64})
endif()
