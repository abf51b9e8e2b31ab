#!/bin/sh
# The whole test suite: a release build with every test, then the same tests
# under AddressSanitizer + UndefinedBehaviorSanitizer (clang), with the loader
# fuzzer run for a bounded time. Exits non-zero on the first failure.
set -e
cd "$(dirname "$0")/.."
tools/install_deps.sh
JOBS=$(nproc)

echo "== release build ==" >&2
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$JOBS"
(cd build && ctest --output-on-failure -j1)

echo "== ASan + UBSan build ==" >&2
CC=clang cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDF_SANITIZE=ON -DDF_FUZZ=ON \
    -DDF_ZOO_DIR="$PWD/build/zoo" >/dev/null
cmake --build build-asan -j"$JOBS"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --output-on-failure -j1)
