#!/bin/sh
# A/B of the country's write (write.py --jobs 2, the pickled main run), both orders, on the branch's HEAD at start.
# usage (under the lock): flock /work/team/country.lock sh country_ab.sh OUT.txt
set -e
out=$1
rev=$(git -C /work/wt/writecountry rev-parse --short HEAD)
rm -rf /tmp/writecountry_new && mkdir -p /tmp/writecountry_new && git -C /work/wt/writecountry archive HEAD | tar -x -C /tmp/writecountry_new
cd /tmp/writecountry_new
. /work/wt/writecountry/.venv/bin/activate
{
  echo "# $(date -u +%H:%M:%S) branch $rev (this) against main 8aeb1bb (baseline); load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "## order A B (this first)"
  PYTHONPATH=/tmp/writecountry_new nice -n 5 python benchmarks/write.py --region 全国 --cache /tmp/writecountry_country.pkl --jobs 2 --repeat ${REPEAT:-1} --baseline /tmp/writecountry_base
  echo "## order B A (main first; labels: this = main, baseline = branch)"
  PYTHONPATH=/tmp/writecountry_base nice -n 5 python benchmarks/write.py --region 全国 --cache /tmp/writecountry_country.pkl --jobs 2 --repeat ${REPEAT:-1} --baseline /tmp/writecountry_new
  echo "# $(date -u +%H:%M:%S) end; load $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$out" 2>&1
