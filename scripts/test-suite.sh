#!/usr/bin/env bash
# The whole pytest suite as `make test` runs it: two pytest processes at once.
#
#   - the lab tier (`-m lab`): root, network namespaces, one shared lab, mostly waiting
#     on real timers (a 3-minute outage, scrape and alert intervals);
#   - everything else (`-m "not lab"`): CPU-bound unit, golden, store and browser tests.
#
# Run one after the other they took 46 minutes on 2 cores; the second fits in the first's
# waits. They share nothing: every test picks free ports, its own temp dirs and its own
# PostgreSQL server, and namespaces are named per lab or per process. The lab tier's
# output streams; the rest is kept in a file and printed when both are done. The exit
# status is the first non-zero one (lab tier first).
#
# usage: scripts/test-suite.sh BIN [pytest args...]   (BIN: the venv's bin directory)
set -u
bin=${1:?usage: scripts/test-suite.sh BIN [pytest args...]}
shift
common=(-q -p no:cacheprovider --durations=30 "$@")
log=$(mktemp "${TMPDIR:-/tmp}/govnet-tests-not-lab.XXXXXX")

"$bin/pytest" "${common[@]}" -m "not lab" tests >"$log" 2>&1 &
other=$!
lab=
wait_for() { # a wait cut short by the TERM trap is waited again: teardown takes a while
  local rc
  while :; do
    wait "$1"
    rc=$?
    kill -0 "$1" 2>/dev/null || return $rc
  done
}
# Ctrl-C reaches both through the terminal; a TERM sent to this script is passed on to
# the two pytest processes it started (they tear their fixtures down on it), by PID.
trap 'kill -TERM $other $lab 2>/dev/null' TERM

echo "== lab tier (-m lab); the rest runs beside it (pid $other), its output follows"
"$bin/pytest" "${common[@]}" -m lab tests &
lab=$!
wait_for $lab
lab_rc=$?
wait_for $other
other_rc=$?
trap - TERM

echo
echo "== the rest (-m 'not lab'), run beside the lab tier"
cat "$log"
rm -f "$log"
echo
echo "== lab tier: exit $lab_rc; the rest: exit $other_rc"
[ $lab_rc -ne 0 ] && exit $lab_rc
exit $other_rc
