#!/bin/sh
. /work/wt/accessdispatch/.venv/bin/activate
echo "reach start $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
(cd /tmp/ad_new3 && PYTHONPATH=/tmp/ad_new3 nice -n 5 python /tmp/ad_reach.py 全国)
/tmp/ad_ab.sh /tmp/ad_country.pkl c3 ab /tmp/ad_new3
/tmp/ad_ab.sh /tmp/ad_country.pkl c4 ba /tmp/ad_new3
echo "spy start $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
(cd /tmp/ad_new3 && PYTHONPATH=/tmp/ad_new3 nice -n 5 py-spy record --subprocesses --idle -r 50 -f raw -o /tmp/ad_spy_country_new.txt -- python /tmp/ad_services_ab.py run /tmp/ad_country.pkl /tmp/ad_country_spy.pkl --jobs 2 --skip-villages)
echo "all done $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
