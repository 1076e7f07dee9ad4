# Cross build for arm64 (Debian's aarch64-linux-gnu-gcc) against an arm64 sysroot of
# Debian's -dev packages, which `tests/lab/run --sysroot` makes and prints:
#   cmake -S . -B build-arm64 -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
#         -DPMUPROF_SYSROOT=$(tests/lab/run --sysroot)
# Test programs run under qemu-aarch64 (Debian's qemu-user) with the sysroot's loader and
# libraries, so `ctest` works in the build folder.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(PMUPROF_SYSROOT "" CACHE PATH "arm64 sysroot (tests/lab/run --sysroot prints it)")
if(NOT PMUPROF_SYSROOT OR NOT EXISTS "${PMUPROF_SYSROOT}/usr/include/aarch64-linux-gnu")
  message(FATAL_ERROR "PMUPROF_SYSROOT='${PMUPROF_SYSROOT}' is not an arm64 sysroot: "
                      "pass -DPMUPROF_SYSROOT=$(tests/lab/run --sysroot)")
endif()
# try_compile projects configure with this file again: they need the sysroot too.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES PMUPROF_SYSROOT)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_SYSROOT "${PMUPROF_SYSROOT}")
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L "${PMUPROF_SYSROOT}")

# Libraries and headers from the sysroot only; programs (protoc-c, python3) from the host.
set(CMAKE_FIND_ROOT_PATH "${PMUPROF_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(ENV{PKG_CONFIG_LIBDIR}
    "${PMUPROF_SYSROOT}/usr/lib/aarch64-linux-gnu/pkgconfig:${PMUPROF_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${PMUPROF_SYSROOT}")
