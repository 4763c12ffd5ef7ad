#!/bin/bash
# same code (HEAD), compiled bytecode against none, interleaved; regions.py --one 浙江省 jobs 1 with maps
REPO=$(cd "$(dirname "$0")/../../.." && pwd)
PY=${PY:-$REPO/.venv/bin/python}
cd /tmp
for rep in 1 2 3; do
  for v in nopyc pyc; do
    echo "== $v rep$rep $(date +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)"
    PYTHONPATH=/tmp/z8_$v nice -n 5 $PY /tmp/z8_$v/benchmarks/regions.py --one 浙江省 --jobs 1 --rules zhejiang-2026 | tail -1
  done
done
