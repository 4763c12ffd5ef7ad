#!/bin/sh
# Country A/B under the lock: solve phase (new then base), then dispatch phase (plans once, then both codes).
PY=/work/wt/countrymid/.venv/bin/python
cd /tmp/cm/new1/benchmarks
echo "== country_solve new $(date -u +%H:%M:%S) load $(cat /proc/loadavg)"
PYTHONPATH=/tmp/cm/new1 /usr/bin/time -f "%U user %S sys %M KB" nice -n 5 $PY country_solve.py 2
echo "== country_solve base $(date -u +%H:%M:%S) load $(cat /proc/loadavg)"
cd /tmp/cm/base/benchmarks
PYTHONPATH=/tmp/cm/base /usr/bin/time -f "%U user %S sys %M KB" nice -n 5 $PY country_solve.py 2
echo "== dispatch_phase $(date -u +%H:%M:%S) load $(cat /proc/loadavg)"
cd /tmp/cm/new1
PYTHONPATH=/tmp/cm/new1 nice -n 5 $PY benchmarks/dispatch_phase.py --region 全国 --repeat 1 --jobs 2 --baseline /tmp/cm/base
echo "== done $(date -u +%H:%M:%S)"
