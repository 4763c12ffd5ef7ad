#!/bin/bash
# A/B interleaved: main (/tmp/mf3/A) vs a branch copy (/tmp/mf3/B, or the 5th argument: B2, B3 for the later rounds), render_run + write_reports of a pickled plan; CPU s.
PY=/work/wt/mapsfast3/.venv/bin/python
cd /tmp/mf3
R=${1:-zj}; J=${2:-1}; N=${3:-3}; EXTRA=${4:-}; B=${5:-B}
for rep in $(seq $N); do
  for v in $( [ $((rep % 2)) = 1 ] && echo "A $B" || echo "$B A"); do
    echo "== $v $R jobs$J rep$rep $(date +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)"
    PYTHONPATH=/tmp/mf3/$v nice -n 5 $PY draw_pickled.py $R.pkl /tmp/mf3/ab_${v}_$R$J --jobs $J $EXTRA | tail -1
  done
done
