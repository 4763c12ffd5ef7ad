#!/bin/bash
# A/B interleaved: main f526ebb (/tmp/mf2/A) vs this branch (/tmp/mf2/B2), maps + reports of a pickled plan, CPU seconds.
PY=/work/wt/mapsfast2/.venv/bin/python
cd /tmp/mf2
for rep in 1 2 3; do
  for r in zj hn; do
    for v in A B2; do
      echo "== $v $r rep$rep $(date +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)"
      PYTHONPATH=/tmp/mf2/$v nice -n 5 $PY draw.py $r.pkl /tmp/mf2/ab_${v}_$r --jobs 1 | tail -1
    done
  done
done
for v in A B2 A B2; do
  echo "== $v zj jobs2 $(date +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)"
  PYTHONPATH=/tmp/mf2/$v nice -n 5 $PY draw.py zj.pkl /tmp/mf2/ab_${v}_zj2 --jobs 2 | tail -1
done
