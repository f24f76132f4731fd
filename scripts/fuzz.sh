#!/usr/bin/env bash
# Builds facekit's libFuzzer targets (tests/fuzz, a standalone CMake project compiled with clang++
# -fsanitize=fuzzer,address,undefined) and runs each fuzz_<name> for N seconds (default 30) on its seed
# corpus tests/fuzz/corpus/<name>/. New inputs go to the build folder, the committed seeds stay as
# they are. Exits non-zero when a target crashes (the reproducer is saved as <build>/crash-<name>-*).
#   scripts/fuzz.sh [SECONDS]        env: FK_FUZZ_BUILD (default build-fuzz), JOBS (default 2), CXX
set -euo pipefail
seconds=${1:-30}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${FK_FUZZ_BUILD:-$root/build-fuzz}
cxx=${CXX:-clang++}

cmake -S "$root/tests/fuzz" -B "$build" -DCMAKE_CXX_COMPILER="$cxx" >/dev/null
cmake --build "$build" -j"${JOBS:-2}"

status=0
shopt -s nullglob
targets=("$build"/fuzz_*)
[ ${#targets[@]} -gt 0 ] || { echo "fuzz.sh: no fuzz targets built in $build" >&2; exit 1; }
for bin in "${targets[@]}"; do
  [ -x "$bin" ] && [ -f "$bin" ] || continue
  name=${bin##*/fuzz_}
  seeds=$root/tests/fuzz/corpus/$name
  work=$build/corpus/$name
  mkdir -p "$work"
  echo "== fuzz_$name: ${seconds}s, seeds $seeds"
  if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$build/crash-$name-" "$work" "$seeds"; then
    echo "== fuzz_$name: no crash"
  else
    echo "== fuzz_$name: CRASH (reproducer in $build/crash-$name-*)" >&2
    status=1
  fi
done
exit $status
