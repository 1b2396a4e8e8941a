# Shared part of the cmake/toolchain-<triple>.cmake files: cross-compile libparking for Linux on
# another architecture with Debian's cross compilers (gcc-<triple>, libc6-dev-<arch>-cross) and
# run the tests under qemu-user.  Used by tools/test-cross (docs/platforms.md).  The including
# file sets PARKING_CROSS_TRIPLE (aarch64-linux-gnu), PARKING_CROSS_PROCESSOR (aarch64) and
# PARKING_CROSS_QEMU (qemu-aarch64).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR ${PARKING_CROSS_PROCESSOR})

set(CMAKE_C_COMPILER ${PARKING_CROSS_TRIPLE}-gcc)
# The C++ compiler only where it is installed (g++-<triple>; tools/setup-deps --cross does not
# install it): tests/headers then also checks the public headers as C++17 for the target.
# Otherwise none, rather than the host's c++ that CMake would find.
find_program(PARKING_CROSS_CXX ${PARKING_CROSS_TRIPLE}-g++)
if(PARKING_CROSS_CXX)
  set(CMAKE_CXX_COMPILER ${PARKING_CROSS_CXX})
else()
  set(CMAKE_CXX_COMPILER "")
endif()

# The target's C library lives in /usr/<triple> (Debian's libc6-dev-<arch>-cross).  Libraries
# and packages only from there, programs only from the host; headers from both (utlist.h of
# uthash-dev is target-neutral macros, copied into the build tree: see CMakeLists.txt).
set(CMAKE_FIND_ROOT_PATH /usr/${PARKING_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# pkg-config must not hand the host's libraries (Check, SQLite) to the cross linker.
set(ENV{PKG_CONFIG_LIBDIR} /usr/${PARKING_CROSS_TRIPLE}/lib/pkgconfig)

# CTest runs every test program under qemu-user, with the target's dynamic loader and
# libraries from /usr/<triple> (-L).
find_program(PARKING_CROSS_EMULATOR ${PARKING_CROSS_QEMU})
if(PARKING_CROSS_EMULATOR)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${PARKING_CROSS_EMULATOR} -L /usr/${PARKING_CROSS_TRIPLE})
endif()
