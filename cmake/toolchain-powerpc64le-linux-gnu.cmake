# CMake toolchain file: libparking for Linux on ppc64le (64-bit POWER, little-endian, weak
# memory order; spin hint or 27,27,27), with Debian's
# gcc-powerpc64le-linux-gnu, tested under qemu-ppc64le (tools/test-cross, docs/platforms.md):
#
#   cmake -S . -B build/cross-ppc64le \
#         -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-powerpc64le-linux-gnu.cmake
set(PARKING_CROSS_TRIPLE powerpc64le-linux-gnu)
set(PARKING_CROSS_PROCESSOR ppc64le)
set(PARKING_CROSS_QEMU qemu-ppc64le)
include(${CMAKE_CURRENT_LIST_DIR}/toolchain-linux-cross.cmake)
