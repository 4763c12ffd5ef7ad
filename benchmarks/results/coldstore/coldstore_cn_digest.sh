#!/bin/bash
. /work/wt/coldstore/.venv/bin/activate
R=/work/wt/coldstore/benchmarks/results/coldstore
for who in base mine; do src=$([ $who = base ] && echo /tmp/coldstore_base || echo /tmp/coldstore_mine); D=$(mktemp -d /tmp/coldstore_cache.XXXX); for st in cold warm; do if [ $who = base ] && [ $st = warm ]; then continue; fi; (cd $src && PYTHONPATH=$src PLANNER_GEODATA_CACHE=$D nice -n 5 python /work/wt/coldstore/benchmarks/frame_digest.py --region 全国 > $R/dig_cn_${who}_$st.json); done; rm -rf $D; done
for f in mine_cold mine_warm; do python /work/wt/coldstore/benchmarks/frame_digest.py --compare $R/dig_cn_base_cold.json $R/dig_cn_$f.json; done
cd /work/wt/coldstore && nice -n 5 python benchmarks/cold_load.py --region 全国 --rounds 1 /tmp/coldstore_base /tmp/coldstore_mine > $R/cold_load_country.txt 2>&1
