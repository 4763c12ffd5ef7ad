#!/bin/bash
# Interleaved A/B, frozen trees: /tmp/base_z8 (1925c38) against /tmp/z8_new2 (this branch), CPU seconds.
REPO=$(cd "$(dirname "$0")/../../.." && pwd)
PY=${PY:-$REPO/.venv/bin/python}
cd /tmp/z8_new2
echo "== maps (render_run jobs 1 of the pickled run), A B A B A B, $(date +%H:%M:%S)"
for rep in 1 2 3 4 5; do for v in base_z8 z8_new2; do
  echo "$v $(cd /tmp && PYTHONPATH=/tmp/$v nice -n 5 $PY $REPO/benchmarks/results/mapsfast2/draw_pickled.py /tmp/z8_zj.pkl /tmp/z8_d_$v --tiles none | tail -1) load $(cut -d' ' -f1 /proc/loadavg)"
done; done
echo "== write.py 浙江省 jobs 1 repeat 3, $(date +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)"
PYTHONPATH=/tmp/z8_new2 nice -n 5 $PY benchmarks/write.py --region 浙江省 --cache /tmp/z8_zj.pkl --repeat 5 --jobs 1 --baseline /tmp/base_z8
echo "== regions.py 浙江省 jobs 1 repeat 3, $(date +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)"
PYTHONPATH=/tmp/z8_new2 nice -n 5 $PY benchmarks/regions.py --regions 浙江省 --jobs 1 --repeat 3 --baseline /tmp/base_z8 \
   --json /tmp/z8_regions_ab2.json
echo "== done $(date +%H:%M:%S)"
