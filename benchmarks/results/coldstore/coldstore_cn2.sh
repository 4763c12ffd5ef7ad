#!/bin/bash
. /work/wt/coldstore/.venv/bin/activate
R=/work/wt/coldstore/benchmarks/results/coldstore
src=/tmp/coldstore_mine2; D=$(mktemp -d /tmp/coldstore_cache.XXXX)
for st in cold warm; do (cd $src && PYTHONPATH=$src PLANNER_GEODATA_CACHE=$D nice -n 5 python /work/wt/coldstore/benchmarks/frame_digest.py --region 全国 > $R/dig_cn_fill_$st.json); done; rm -rf $D
for f in fill_cold fill_warm; do python /work/wt/coldstore/benchmarks/frame_digest.py --compare $R/dig_cn_base_cold.json $R/dig_cn_$f.json; done
cd /work/wt/coldstore && nice -n 5 python benchmarks/cold_load.py --region 全国 --rounds 1 /tmp/coldstore_base /tmp/coldstore_mine2 > $R/cold_load_country_fill.txt 2>&1
