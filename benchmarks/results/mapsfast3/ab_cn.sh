#!/bin/bash
PY=/work/wt/mapsfast3/.venv/bin/python
cd /tmp/mf3
for v in "$@"; do
  echo "== $v cn jobs2 $(date +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)"
  PYTHONPATH=/tmp/mf3/$v flock /work/team/country.lock nice -n 5 $PY draw_pickled.py cn.pkl /tmp/mf3/ab_${v}_cn2 --jobs 2 | tail -2
done
