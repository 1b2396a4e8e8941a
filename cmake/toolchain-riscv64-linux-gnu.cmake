# CMake toolchain file: libparking for Linux on riscv64 (64-bit RISC-V, weak memory order;
# spin hint pause, Zihintpause), with Debian's
# gcc-riscv64-linux-gnu, tested under qemu-riscv64 (tools/test-cross, docs/platforms.md):
#
#   cmake -S . -B build/cross-riscv64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-riscv64-linux-gnu.cmake
set(PARKING_CROSS_TRIPLE riscv64-linux-gnu)
set(PARKING_CROSS_PROCESSOR riscv64)
set(PARKING_CROSS_QEMU qemu-riscv64)
include(${CMAKE_CURRENT_LIST_DIR}/toolchain-linux-cross.cmake)
