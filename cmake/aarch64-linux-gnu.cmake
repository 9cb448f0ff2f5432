# Cross-compiling for aarch64 Linux on a Debian x86-64 host, the way CI does
# it (tools/setup.sh --arm64 installs what it needs):
#   compiler   Debian's g++-aarch64-linux-gnu (its libgomp is the OpenMP runtime)
#   libraries  Debian's arm64 packages via multiarch (dpkg --add-architecture
#              arm64): zlib1g-dev:arm64, libgtest-dev:arm64,
#              libbenchmark-dev:arm64, found under /usr/lib/aarch64-linux-gnu;
#              Eigen and CLI11 are header-only, arch-independent packages
#   running    qemu-aarch64 (Debian qemu-user): ctest, gtest_discover_tests
#              and the tests that start mnist_cnn, validate or cnn_bench run
#              every aarch64 binary through CMAKE_CROSSCOMPILING_EMULATOR
#
#   cmake -S . -B build-arm --toolchain cmake/aarch64-linux-gnu.cmake
#   cmake --build build-arm -j2 && ctest --test-dir build-arm -LE slow -j2
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
# Debian's multiarch layout: find_package/find_library look in
# /usr/lib/aarch64-linux-gnu (and never in the host's x86_64 directory).
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
# The binaries run against the multiarch arm64 runtime (libc6:arm64,
# libstdc++6:arm64, libgomp1:arm64 in /lib/aarch64-linux-gnu), which qemu
# finds on the host's own paths. No -L /usr/aarch64-linux-gnu (nor
# QEMU_LD_PREFIX): that loader with the multiarch libc is a mismatched pair,
# and pthread_create then hangs.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64)
