#!/usr/bin/env bash
# Runs the fuzz targets built in BUILD_DIR (default build-fuzz) one after
# another: first each target over its reproducers in tests/regressions/fuzz/
# TARGET/ (every one must pass), then fuzzing for FUZZ_SECONDS (default 60)
# from its seeds (tests/fuzz/corpus/TARGET/) and what earlier runs found
# (BUILD_DIR/corpus/TARGET/, not checked in), with its dictionary. A crash,
# leak, sanitizer report, timeout or out-of-memory is a finding: its input is
# saved under BUILD_DIR/artifacts/TARGET/ and the script exits 1 after
# running the other targets. `make fuzz` and `make fuzz-smoke` call it.
#
# Usage: tests/fuzz/run.sh [BUILD_DIR]
#   FUZZ_SECONDS=N      seconds of fuzzing per target
#   FUZZ_TARGETS="a b"  only these targets (default: all of them)
#   FUZZ_FLAGS="..."    more libFuzzer flags, e.g. -jobs=2 or -only_ascii=1
set -uo pipefail

cd "$(dirname "$0")/../.."
build=${1:-build-fuzz}
seconds=${FUZZ_SECONDS:-60}
src=tests/fuzz

# target  max_len  dictionaries  extra flags
#
# plugin: plugins print to standard error while they load; libFuzzer still
# reports through a copy of it.
targets_table="
template      4096   mustache,json
filters       2048   mustache,filters
yaml_session  16384  yaml,session
json_session  16384  json,session
jsonl         16384  json,session
preview_http  9000   http
plugin        8192   lua            -close_fd_mask=2
"

all=$(awk 'NF { print $1 }' <<<"$targets_table")
selected=${FUZZ_TARGETS:-$all}

# UBSan checks recover in this build so that findings already reported can be
# listed in ubsan.supp; the targets make every other one fatal.
export UBSAN_OPTIONS="suppressions=$PWD/$src/ubsan.supp:halt_on_error=1:print_stacktrace=1"
export ASAN_OPTIONS="detect_leaks=1"

failed=()
summary=()
for target in $selected; do
  row=$(awk -v t="$target" '$1 == t' <<<"$targets_table")
  if [ -z "$row" ]; then
    echo "run.sh: no fuzz target '$target' (targets: $(echo $all))" >&2
    exit 2
  fi
  read -r _ max_len dicts extra <<<"$row"
  bin=$build/tests/fuzz/fuzz_$target
  if [ ! -x "$bin" ]; then
    echo "run.sh: $bin is not built (make fuzz builds it)" >&2
    exit 2
  fi

  corpus=$build/corpus/$target
  artifacts=$build/artifacts/$target
  dict=$build/dict/$target.dict
  log=$build/logs/$target.log
  mkdir -p "$corpus" "$artifacts" "$(dirname "$dict")" "$(dirname "$log")"
  for d in ${dicts//,/ }; do cat "$src/dict/$d.dict"; done >"$dict"

  echo "==> fuzz $target"
  regressions=tests/regressions/fuzz/$target
  if [ -d "$regressions" ] && [ -n "$(ls -A "$regressions")" ]; then
    # shellcheck disable=SC2086 # extra holds flags
    if ! "$bin" $extra -timeout=20 "$regressions"/* >"$log.regressions" 2>&1; then
      cat "$log.regressions"
      echo "fuzz: $target: FAILED: a reproducer in $regressions fails again"
      failed+=("$target")
      summary+=("fuzz: $target: reproducers in $regressions fail")
      continue
    fi
  fi

  # shellcheck disable=SC2086 # extra and FUZZ_FLAGS hold flags
  "$bin" -max_total_time="$seconds" -max_len="$max_len" -timeout=20 -dict="$dict" \
    -artifact_prefix="$artifacts/" -print_final_stats=1 $extra ${FUZZ_FLAGS:-} \
    "$corpus" "$src/corpus/$target" 2>&1 | tee "$log" | grep -v -E '^#[0-9]+\s+(NEW|REDUCE|pulse)|# Uses: [0-9]+$'
  status=${PIPESTATUS[0]}

  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1)
  files=$(find "$corpus" -type f | wc -l)
  line="fuzz: $target: ${seconds}s, ${runs:-?} runs, ${cov:-no coverage line}, $files inputs found"
  if [ "$status" -ne 0 ]; then
    line="$line: FAILED (exit $status; inputs in $artifacts/)"
    failed+=("$target")
  fi
  summary+=("$line")
done

echo
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -ne 0 ]; then
  echo "fuzz: FAILED: ${failed[*]}"
  exit 1
fi
echo "fuzz: every target passed"
