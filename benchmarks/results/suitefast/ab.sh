#!/usr/bin/env bash
# A = this branch (pytest-xdist, -n 2 loadgroup, from pyproject addopts); B = a frozen copy of main (one process).
# Each run: the README's pytest command (`python -m pytest`) under /usr/bin/time -v, load average before and after.
set -u
R=/work/wt/suitefast/benchmarks/results/suitefast
. /work/wt/suitefast/.venv/bin/activate
stamp() { python3 -u -c 'import sys,time
t0=time.time()
for l in sys.stdin: sys.stdout.write(f"{time.time()-t0:7.1f} {l}"); sys.stdout.flush()'; }
run() {  # name dir extra-args...
  local name=$1 dir=$2; shift 2
  { echo "start $(date -u +%T) $(cat /proc/loadavg)"; } > $R/$name.txt
  (cd $dir && /usr/bin/time -v python -m pytest -p no:cacheprovider --durations=40 "$@" 2>&1 | stamp) >> $R/$name.txt 2>&1
  echo "end $(date -u +%T) $(cat /proc/loadavg)" >> $R/$name.txt
}
for step in "$@"; do
  case $step in
    A*) run $step /work/wt/suitefast -v ;;
    B*) run $step /tmp/suitefast_base -q ;;
  esac
done
