# CMake toolchain file: cross-compile libparking for macOS with `zig cc` (clang with the macOS
# SDK headers and libSystem stubs that Zig ships; its own linker writes Mach-O).  Installed by
# tools/setup-deps --zig, used by tools/test-macos (docs/macos-bsd.md); by hand:
#
#   cmake -S . -B build/macos-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-zig-macos.cmake \
#         -DPARKING_ZIG_ARCH=aarch64      # or x86_64
#
# Nothing built can run here: this checks that everything compiles and links for macOS.
set(CMAKE_SYSTEM_NAME Darwin)
set(PARKING_ZIG_ARCH "aarch64" CACHE STRING "macOS target CPU for zig cc: aarch64 or x86_64")
if(NOT PARKING_ZIG_ARCH MATCHES "^(aarch64|x86_64)$")
  message(FATAL_ERROR "PARKING_ZIG_ARCH=${PARKING_ZIG_ARCH}: expected aarch64 or x86_64")
endif()
# try_compile projects see the cache variable only when it is forwarded.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES PARKING_ZIG_ARCH)
if(PARKING_ZIG_ARCH STREQUAL "aarch64")
  set(CMAKE_SYSTEM_PROCESSOR arm64)
else()
  set(CMAKE_SYSTEM_PROCESSOR x86_64)
endif()

# zig's sub-commands as single programs (cmake/zig/: $PARKING_ZIG, else build/zig's).
set(CMAKE_C_COMPILER ${CMAKE_CURRENT_LIST_DIR}/zig/zig-cc)
set(CMAKE_AR ${CMAKE_CURRENT_LIST_DIR}/zig/zig-ar CACHE FILEPATH "zig ar")
set(CMAKE_RANLIB ${CMAKE_CURRENT_LIST_DIR}/zig/zig-ranlib CACHE FILEPATH "zig ranlib")
# No version in the target: Zig's default minimum, macOS 13.0 with the pinned Zig (the dylib's
# LC_BUILD_VERSION).  The __ulock parker itself needs 10.12.
set(CMAKE_C_FLAGS_INIT "-target ${PARKING_ZIG_ARCH}-macos")

# No SDK folder to look libraries up in, and no Xcode: never search the host's.
set(CMAKE_OSX_SYSROOT "" CACHE PATH "" FORCE)
set(CMAKE_OSX_ARCHITECTURES "" CACHE STRING "" FORCE)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# utlist.h (uthash-dev) is target-neutral macros; the top-level CMakeLists.txt copies it into
# the build tree rather than putting the host's /usr/include on the compiler's path.
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
