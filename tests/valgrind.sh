#!/bin/sh
# make check-valgrind: the runner under valgrind (--leak-check=full) on
# every shipped config and study and on every bad-input file the fuzzers
# keep (config, settings and CSV corpora and regressions).  Fails when
# valgrind reports an error or a leak; the runner's own exit status
# (0, or 2/3 for bad input) is expected and not judged here.
build=${1:-build}
tmp=$(mktemp -d /tmp/nnlab-valgrind-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
vg="valgrind -q --leak-check=full --errors-for-leak-kinds=definite,possible --error-exitcode=99"
checked=0 failed=0
run() {
  checked=$((checked + 1))
  $vg "$@" > "$tmp/out" 2> "$tmp/err"
  if [ $? -eq 99 ]; then
    failed=$((failed + 1))
    echo "FAIL: $*"; sed 's/^/    /' "$tmp/err" | head -40
  fi
}
for c in configs/*.yaml; do
  run "$build/runner" "$c" -q -o "$tmp/run-$checked"
done
for s in experiments/*.yaml; do
  run "$build/runner" batch "$s" -q -j2 -o "$tmp/batch-$checked"
done
for f in tests/fuzz/corpus/config/* tests/fuzz/regressions/config/*; do
  [ -f "$f" ] && run "$build/runner" "$f" -q -o "$tmp/bad-$checked"
done
for f in tests/fuzz/corpus/settings/* tests/fuzz/regressions/settings/*; do
  [ -f "$f" ] && run "$build/runner" configs/step_mse.yaml -q --settings "$f" -o "$tmp/ini-$checked"
done
for f in tests/fuzz/corpus/csv/* tests/fuzz/regressions/csv/*; do
  [ -f "$f" ] || continue
  printf 'data: {csv: "%s"}\ntraining: {epochs: 3}\n' "$PWD/$f" > "$tmp/csv.yaml"
  run "$build/runner" "$tmp/csv.yaml" -q -o "$tmp/csv-$checked"
done
echo "check-valgrind: $((checked - failed)) passed, $failed failed"
[ $failed -eq 0 ]
