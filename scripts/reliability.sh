#!/usr/bin/env bash
# The long reliability loops, outside CI's budget, and the report built from what they record:
# the SIGKILL campaign with SORI_KILLS kills per world size (default 20; CI runs 3), every bad
# input of tests/reliability/test_bad_input.cpp, and the fault tests (preemption, write errors,
# non-finite steps, out of memory, stalled or unreachable ranks, torn checkpoints, reused run directories),
# libFuzzer on our parsers (scripts/fuzz.sh, FUZZ_SECONDS each; SORI_SKIP_FUZZ=1 skips it) and
# the unit suite under ASan+UBSan (scripts/test.sh --sanitize; SORI_SKIP_SANITIZE=1 skips it).
# docs/RELIABILITY.md is rebuilt by scripts/reliability_report.py from their output.
#   ./scripts/reliability.sh            (after ./scripts/test.sh has built everything)
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log=docs/reliability_last_run.log  # the whole output, for a failure's details (not committed)
: > "$log"
status=0
export OMP_NUM_THREADS=1 SORI_RELIABILITY_REPORT=$work/report.jsonl
SORI_KILLS=${SORI_KILLS:-20} SORI_CAMPAIGN_STEPS=${SORI_CAMPAIGN_STEPS:-1500} \
  build/tests/sori_tests --gtest_filter='KillCampaign.*' >> "$log" 2>&1 || status=$?
build/tests/sori_tests --gtest_filter='BadInput.*' >> "$log" 2>&1 || status=$?
FAULTS='Preemption.*:DataParallel.ASignal*:DataParallel.TorchrunPreempted*:Checkpoint.*:Trainer.StopsAfter*'
FAULTS+=':TrainingStep.NonFinite*:DataParallel.Stalled*:DataParallel.AnUnreachable*:DataParallel.ARankWhose*'
FAULTS+=':DataParallel.TorchrunKilled*:DataParallel.TorchrunRestarts*:ExactResume.SurvivesKillDashNine'
FAULTS+=':RunDirectory.*:Loader.DecodeFailureNamesManifestLine:Trainer.AnOutOfMemory*:DataParallel.AnOutOfMemory*'
build/tests/sori_tests --gtest_filter="$FAULTS" --gtest_output="json:$work/faults.json" >> "$log" 2>&1 || status=$?
bash tests/dist/slurm_script_test.sh "$PWD" >> "$log" 2>&1 && echo '{"slurm_script": true}' >> "$work/report.jsonl" \
  || { echo '{"slurm_script": false}' >> "$work/report.jsonl"; status=1; }
# The fuzzers and the sanitizer suite must not add their own (short) campaign and bad-input rows;
# their builds use every core (nproc honours OMP_NUM_THREADS; ctest sets it to 1 per test).
unset SORI_RELIABILITY_REPORT OMP_NUM_THREADS
if [ -z "${SORI_SKIP_FUZZ:-}" ]; then
  ./scripts/fuzz.sh > "$work/fuzz.log" 2>&1 || status=$?
  # fuzz.sh can fail before any target runs (no clang, a build error): that is a row too.
  grep -q '^== fuzz_' "$work/fuzz.log" || echo '{"fuzz": "(none ran: see the fuzz.sh output in the log)", "clean": false}' >> "$work/report.jsonl"
  cat "$work/fuzz.log" >> "$log"
  # One row per target: "== fuzz_<t> for N s", then libFuzzer's "Done N runs in S second(s)" or a finding.
  awk '/^== fuzz_/ {t = substr($2, 6)} /^Done [0-9]+ runs/ {printf "{\"fuzz\": \"%s\", \"runs\": %s, \"seconds\": %s, \"clean\": true}\n", t, $2, $5}
       /FOUND A PROBLEM/ {printf "{\"fuzz\": \"%s\", \"clean\": false}\n", t}' "$work/fuzz.log" >> "$work/report.jsonl"
fi
if [ -z "${SORI_SKIP_SANITIZE:-}" ]; then
  ./scripts/test.sh --sanitize > "$work/sanitize.log" 2>&1 && ok=true || { ok=false; status=1; }
  cat "$work/sanitize.log" >> "$log"
  summary=$(grep -E "tests passed, [0-9]+ tests failed out of [0-9]+" "$work/sanitize.log" | tail -1 || true)
  echo "{\"sanitize\": $ok, \"summary\": \"$summary\"}" >> "$work/report.jsonl"
fi
grep -E '^\[ *(OK|FAILED|PASSED) |kill campaign|Failure|kill [0-9]+:|FOUND A PROBLEM|tests passed' "$log" || true
python3 scripts/reliability_report.py "$work/report.jsonl" "$work/faults.json" > docs/RELIABILITY.md.tmp
mv docs/RELIABILITY.md.tmp docs/RELIABILITY.md
echo "wrote docs/RELIABILITY.md (exit status $status; full output in $log)"
exit "$status"
