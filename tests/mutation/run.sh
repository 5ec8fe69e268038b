#!/usr/bin/env bash
# Mutation testing of the modules that hold the rules ([tool.mutmut] in pyproject.toml): runs
# mutmut, then prints the score per module and the surviving mutants. Too slow for .ci/run.
#
#   tests/mutation/run.sh              check every mutant not yet checked (all, the first time)
#   tests/mutation/run.sh --fresh      forget earlier results (rm -rf mutants/) and check all
#   tests/mutation/run.sh --survivors  check again only the survivors, after adding tests
#   tests/mutation/run.sh --report     only print the report of the last run
#   tests/mutation/run.sh NAME...      check these mutants again (names or globs, as mutmut takes them)
#   tests/mutation/run.sh --sample N [SEED]  check a random sample of N mutants (seed 15 unless
#                                      given) and report the sample's score with its 95% interval:
#                                      the whole run checks every mutant against every test that
#                                      reaches its function, which takes hours on two cores
#
# mutmut keeps its copy of the project and its results in mutants/ (ignored by git, ruff and
# pytest). A mutant whose function changed since its result is checked again on the next run.
set -euo pipefail
cd "$(dirname "$0")/../.."

mutants=()
report=()
case "${1:-}" in
  --sample)
    [ -d mutants ] || python -m mutmut run --max-children 1 "ocenter.config.x_load_settings__mutmut_1" >/dev/null
    mapfile -t mutants < <(python tests/mutation/report.py --draw "${2:?--sample N}" "${3:-15}")
    report=(--sample) ;;
  --fresh) rm -rf mutants ;;
  --survivors) mapfile -t mutants < <(python tests/mutation/report.py --names) ;;
  --report) exec python tests/mutation/report.py "${@:2}" ;;
  "") ;;
  -*) echo "usage: $0 [--fresh|--survivors|--report|NAME...]" >&2; exit 2 ;;
  *) mutants=("$@") ;;
esac
if [ "${1:-}" = --survivors ] && [ ${#mutants[@]} -eq 0 ]; then
  exec python tests/mutation/report.py
fi

export OPENBLAS_NUM_THREADS=1  # numpy's BLAS thread would spin in every forked mutant
# Every mutant is a fresh pytest session; the demo installation the fixtures copy is built once
# here, with the unmutated code, instead of once per mutant.
template=$(mktemp -d)
trap 'rm -rf "$template"' EXIT
OCENTER_HOME="$template/home" OCENTER_MODE=demo DATABASE_URL="" python -m ocenter init --demo >/dev/null
export OCENTER_TEST_DEMO_TEMPLATE="$template/home"

start=$(date +%s)
status=0
nice -n "${MUTATION_NICE:-10}" python -m mutmut run --max-children "${MUTATION_CHILDREN:-2}" \
  "${mutants[@]}" || status=$?
[ "$status" -eq 0 ] || echo "mutmut run exited with $status"
python tests/mutation/report.py "${report[@]}"
echo "mutation run: $(( $(date +%s) - start )) s"
