#!/usr/bin/env bash
# Hardening stages after the normal build and tests (scripts/test.sh calls this):
#   1. clang-tidy over crypto/ vault/ api/ fuzz/ with the checked-in .clang-tidy, warnings as errors
#      (the sources changed since .ci/tidy-baseline, or all of them: scripts/tidy-files.py)
#   2. clang build with ASan+UBSan (and the libFuzzer targets): the whole ctest suite under it
#   3. each libFuzzer target for a bounded time on a copy of its seed corpus
#   4. a TSan build running the concurrency-relevant tests (concurrent writers, crash, e2e)
# Stages 1, 2 and 4 are skipped with LETHE_SKIP_SANITIZERS=1, stage 3 with LETHE_SKIP_FUZZ=1,
# stage 1 alone with LETHE_SKIP_TIDY=1. LETHE_FUZZ_SECONDS (default 60) bounds each fuzzer;
# LETHE_JOBS (default: nproc) bounds parallelism. Build trees: build-asan/, build-tsan/.
# See docs/fuzzing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=${LETHE_JOBS:-$(nproc)}
fuzz_seconds=${LETHE_FUZZ_SECONDS:-60}
skip_san=${LETHE_SKIP_SANITIZERS:-0}
skip_fuzz=${LETHE_SKIP_FUZZ:-0}
skip_tidy=${LETHE_SKIP_TIDY:-0}
asan_dir="$root/build-asan"
tsan_dir="$root/build-tsan"
script_start=$SECONDS

stage_start=0
step() {
  stage_start=$SECONDS
  printf '\n== hardening: %s\n' "$*"
}
done_step() { printf '== done in %ds\n' "$((SECONDS - stage_start))"; }
die() {
  printf '\nhardening: FAILED: %s\n' "$*" >&2
  exit 1
}

if [ "$skip_san" = 1 ] && [ "$skip_fuzz" = 1 ]; then
  echo "hardening: sanitizers and fuzzing skipped"
  exit 0
fi
for tool in clang clang++ clang-tidy; do
  command -v "$tool" >/dev/null || die "$tool is missing (LETHE_WITH_TEST_TOOLS=1 scripts/install-deps.sh)"
done

scratch=$(mktemp -d "${TMPDIR:-/tmp}/vault-hardening-XXXXXX")
trap 'rm -rf "$scratch"' EXIT

# --- The clang build shared by the ASan/UBSan tests, the fuzzers and clang-tidy ---------------
# Sanitizer trees keep line tables only (-gline-tables-only): reports still name file and line,
# and the objects are a third smaller than with -g (docs/testing.md, "CI time").
# No -Werror here (but for -Wthread-safety, which only clang checks): other warnings are gated
# by the gcc build in scripts/test.sh; these stages are about what the sanitizers and fuzzers
# find at run time.
# One tree serves all three: the libraries are compiled once with ASan+UBSan and, for the
# fuzzers, libFuzzer's coverage instrumentation (harmless for the ordinary tests).
fuzz_flag=ON
[ "$skip_fuzz" = 1 ] && fuzz_flag=OFF
asan_flags=(-DVAULT_SANITIZE=address,undefined)
[ "$skip_san" = 1 ] && asan_flags=(-DVAULT_SANITIZE= -DVAULT_BUILD_TESTS=OFF)
# -Werror=thread-safety: the lock annotations (vault/thread_annotations.h) are checked here.
CC=clang CXX=clang++ cmake -S . -B "$asan_dir" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" -DVAULT_WERROR=OFF \
  -DCMAKE_CXX_FLAGS="-Wthread-safety -Werror=thread-safety" \
  -DVAULT_BUILD_BENCH=OFF -DVAULT_FUZZ="$fuzz_flag" "${asan_flags[@]}" >/dev/null

# --- 1. clang-tidy ---------------------------------------------------------------------------
if [ "$skip_san" != 1 ] && [ "$skip_tidy" != 1 ]; then
  step "clang-tidy (crypto/ vault/ api/ fuzz/, .clang-tidy, warnings as errors)"
  # Every source, or those changed since .ci/tidy-baseline, a commit whose whole tree passed
  # (scripts/tidy-files.py says which; LETHE_TIDY_FULL=1: every source).
  scripts/tidy-files.py "$asan_dir/compile_commands.json" "$root" .ci/tidy-baseline \
    >"$scratch/tidy-list"
  head -n 1 "$scratch/tidy-list"
  grep -v '^#' "$scratch/tidy-list" | sed '/^$/d' >"$scratch/tidy-files" || true
  if ! xargs -r -P "$jobs" -n 1 clang-tidy -p "$asan_dir" --quiet --warnings-as-errors='*' \
      <"$scratch/tidy-files" >"$scratch/tidy.log" 2>&1; then
    grep -v '^[0-9]* warnings* generated' "$scratch/tidy.log" | grep -v '^Suppressed' || true
    die "clang-tidy found problems (fix them, or NOLINT(check) with a reason)"
  fi
  done_step
fi

# --- 2. ASan + UBSan: build, then every ctest test --------------------------------------------
step "clang build: ASan+UBSan$([ "$fuzz_flag" = ON ] && echo ' and libFuzzer targets')"
cmake --build "$asan_dir" -j "$jobs"
done_step

export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
if [ "$skip_san" != 1 ]; then
  step "ctest under ASan+UBSan"
  # LeakSanitizer needs ptrace-like access to stop the world; some sandboxes deny it.
  leaks=1
  if ASAN_OPTIONS=detect_leaks=1 "$asan_dir/fuzz/row_codec_replay" fuzz/corpus/row_codec \
      >"$scratch/lsan-probe" 2>&1; then
    :
  elif grep -q 'LeakSanitizer has encountered a fatal error\|LeakSanitizer does not work' \
      "$scratch/lsan-probe"; then
    echo "LeakSanitizer does not work here; running with detect_leaks=0"
    leaks=0
  else
    cat "$scratch/lsan-probe"
    die "the LeakSanitizer probe failed"
  fi
  export LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp"
  export ASAN_OPTIONS="detect_leaks=$leaks:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=1"
  (cd "$asan_dir" && ctest --output-on-failure -j "$jobs" --timeout 900) ||
    die "a test failed under ASan+UBSan"
  done_step
fi

# --- 3. libFuzzer: every target for a bounded time on a copy of its corpus --------------------
if [ "$skip_fuzz" != 1 ]; then
  step "libFuzzer: ${fuzz_seconds}s per target, $jobs at a time"
  export ASAN_OPTIONS="detect_leaks=${leaks:-1}"
  artifacts="$root/build-asan/fuzz-artifacts"
  mkdir -p "$artifacts"
  run_fuzzer() {
    local name=$1 corpus="$scratch/corpus-$1"
    # New inputs go to a scratch copy: CI never writes into the checked-in corpus.
    cp -r "fuzz/corpus/$name" "$corpus"
    "$asan_dir/fuzz/${name}_fuzzer" -max_total_time="$fuzz_seconds" -timeout=30 \
      -rss_limit_mb=3072 -print_final_stats=1 -artifact_prefix="$artifacts/$name-" \
      "$corpus" >"$scratch/fuzz-$name.log" 2>&1
  }
  targets=$(cd fuzz && ls ./*_fuzzer.cc | sed 's|^\./||; s|_fuzzer\.cc$||')
  failed=()
  for name in $targets; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do sleep 1; done
    (if run_fuzzer "$name"; then echo 0; else echo $?; fi >"$scratch/rc-$name") &
  done
  wait
  for name in $targets; do
    if [ "$(cat "$scratch/rc-$name")" = 0 ]; then
      printf '  %-16s ok   %s\n' "$name" \
        "$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$scratch/fuzz-$name.log" | awk '{print $2 " runs"}')"
    else
      printf '  %-16s FAILED\n' "$name"
      failed+=("$name")
    fi
  done
  for name in "${failed[@]}"; do
    printf '\n--- %s (last 60 lines) ---\n' "$name"
    tail -n 60 "$scratch/fuzz-$name.log"
  done
  if [ ${#failed[@]} -gt 0 ]; then
    echo
    echo "Crashing inputs are in $artifacts/. Reproduce with build-asan/fuzz/<target>_fuzzer <file>;"
    echo "minimize with -minimize_crash=1 -runs=10000, then add it to fuzz/corpus/<target>/ (docs/fuzzing.md)."
    die "fuzzing found a crash in: ${failed[*]}"
  fi
  done_step
fi

# --- 4. TSan: concurrency-relevant tests ------------------------------------------------------
if [ "$skip_san" != 1 ]; then
  step "TSan build and concurrency tests"
  # Clang 14's TSan maps its shadow at fixed addresses; with a high mmap entropy
  # (vm.mmap_rnd_bits > 28) programs die with "unexpected memory mapping" unless ASLR is off.
  printf 'int main() { return 0; }\n' >"$scratch/probe.cc"
  clang++ -fsanitize=thread "$scratch/probe.cc" -o "$scratch/tsan-probe"
  run=()
  if ! "$scratch/tsan-probe" >/dev/null 2>&1; then
    if setarch "$(uname -m)" -R "$scratch/tsan-probe" >/dev/null 2>&1; then
      echo "TSan needs ASLR off here: running under setarch -R"
      run=(setarch "$(uname -m)" -R)
    else
      die "TSan programs do not start on this machine"
    fi
  fi
  CC=clang CXX=clang++ cmake -S . -B "$tsan_dir" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" -DVAULT_WERROR=OFF \
    -DVAULT_BUILD_BENCH=OFF -DVAULT_SANITIZE=thread >/dev/null
  # gtest discovery runs the test binaries at build time, so the build runs under $run too.
  # vault_tsan_unit_tests: the unit binary's ConcurrencyTest and CrashTest alone (tsan.*).
  "${run[@]}" cmake --build "$tsan_dir" -j "$jobs" --target vault_tsan_unit_tests vault_e2e_test \
    vault_policies_e2e_test vault_hsm_e2e_test vault_fleet_e2e_test
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"
  (cd "$tsan_dir" && "${run[@]}" ctest --output-on-failure -j "$jobs" --timeout 900 \
    -R '^tsan\.(ConcurrencyTest|CrashTest)\.|^e2e\.') || die "a test failed under TSan"
  done_step
fi

printf '\nhardening: all stages passed in %ds\n' "$((SECONDS - script_start))"
