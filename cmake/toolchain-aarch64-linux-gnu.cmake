# CMake toolchain file: libparking for Linux on aarch64 (64-bit Arm, little-endian, weak
# memory order; spin hint yield), with Debian's
# gcc-aarch64-linux-gnu, tested under qemu-aarch64 (tools/test-cross, docs/platforms.md):
#
#   cmake -S . -B build/cross-aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64-linux-gnu.cmake
set(PARKING_CROSS_TRIPLE aarch64-linux-gnu)
set(PARKING_CROSS_PROCESSOR aarch64)
set(PARKING_CROSS_QEMU qemu-aarch64)
include(${CMAKE_CURRENT_LIST_DIR}/toolchain-linux-cross.cmake)
