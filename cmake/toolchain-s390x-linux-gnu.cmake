# CMake toolchain file: libparking for Linux on s390x (IBM Z, big-endian; no spin hint), with
# Debian's gcc-s390x-linux-gnu, tested under qemu-s390x (tools/test-cross, docs/platforms.md):
#
#   cmake -S . -B build/cross-s390x -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-s390x-linux-gnu.cmake
set(PARKING_CROSS_TRIPLE s390x-linux-gnu)
set(PARKING_CROSS_PROCESSOR s390x)
set(PARKING_CROSS_QEMU qemu-s390x)
include(${CMAKE_CURRENT_LIST_DIR}/toolchain-linux-cross.cmake)
