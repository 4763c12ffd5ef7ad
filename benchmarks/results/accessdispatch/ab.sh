#!/bin/sh
# usage: ad_ab.sh REGION_PKL TAG ORDER(ab|ba) NEWTREE
. /work/wt/accessdispatch/.venv/bin/activate
run() {
  if [ "$1" = a ]; then
    (cd /tmp/accessdispatch_base && PYTHONPATH=/tmp/accessdispatch_base nice -n 5 python /tmp/ad_services_ab.py run $PKL /tmp/ad_${TAG}_a$2.pkl --jobs 2 --skip-villages)
  else
    (cd $NEW && PYTHONPATH=$NEW nice -n 5 python /tmp/ad_services_ab.py run $PKL /tmp/ad_${TAG}_b$2.pkl --jobs 2 --skip-villages)
  fi
  echo "== $1 run $2 done $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
}
PKL=$1; TAG=$2; ORDER=$3; NEW=$4
echo "start $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$ORDER" = ab ]; then run a 1; run b 1; else run b 1; run a 1; fi
