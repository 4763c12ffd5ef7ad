#!/bin/sh
# Every file of the country's plan folder (write_outputs --jobs 2 from the pickled main run) by main and by this branch's HEAD: SHA-256 each, compared.
out=$1
rev=$(git -C /work/wt/writecountry rev-parse --short HEAD)
rm -rf /tmp/writecountry_sb && mkdir -p /tmp/writecountry_sb && git -C /work/wt/writecountry archive HEAD | tar -x -C /tmp/writecountry_sb
. /work/wt/writecountry/.venv/bin/activate
cd /tmp
rm -rf /tmp/wc/cn_base /tmp/wc/cn_new
PYTHONPATH=/tmp/writecountry_base nice -n 5 python /tmp/writecountry_sb/benchmarks/results/writecountry/digests.py /tmp/writecountry_country.pkl /tmp/wc/cn_base 2 > /tmp/wc/cn_base.txt 2>/tmp/wc/cn_base.err
PYTHONPATH=/tmp/writecountry_sb nice -n 5 python /tmp/writecountry_sb/benchmarks/results/writecountry/digests.py /tmp/writecountry_country.pkl /tmp/wc/cn_new 2 > /tmp/wc/cn_new.txt 2>/tmp/wc/cn_new.err
{
  echo "# $(date -u +%H:%M) 全国 jobs 2: main 8aeb1bb against branch $rev; $(cat /tmp/wc/cn_base.err) (main); $(cat /tmp/wc/cn_new.err) (branch)"
  if cmp -s /tmp/wc/cn_base.txt /tmp/wc/cn_new.txt; then echo "全国 jobs 2: $(wc -l < /tmp/wc/cn_new.txt) files, every SHA-256 equal"; else echo "全国 jobs 2: DIFFER"; diff /tmp/wc/cn_base.txt /tmp/wc/cn_new.txt; fi
  cat /tmp/wc/cn_new.txt
} > "$out"
rm -rf /tmp/wc/cn_base /tmp/wc/cn_new
