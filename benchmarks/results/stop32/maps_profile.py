"""Load a pickled RunResult (pickle_run.py); time write_outputs and render_run (jobs 2): `python maps_profile.py /tmp/country.pkl maps-prof` (maps, cProfile of this process), `write`, `write-maps`."""
import pickle, sys, time, cProfile, pstats, tempfile
from pathlib import Path
def main():
    t=time.perf_counter()
    res=pickle.load(open(sys.argv[1],"rb"))
    print("unpickle", round(time.perf_counter()-t,1), flush=True)
    from planner.villages.layers import register; register()
    from planner.render import render_run
    from planner.pipeline import write_outputs
    what=sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        if "write" in what:
            t=time.perf_counter(); write_outputs(res, Path(tmp)/"plan", jobs=2); print("write", round(time.perf_counter()-t,1), flush=True)
        if "maps" in what:
            pr=cProfile.Profile() if "prof" in what else None
            t=time.perf_counter()
            if pr: pr.enable()
            render_run(res, Path(tmp)/"maps", jobs=2)
            if pr: pr.disable()
            print("maps", round(time.perf_counter()-t,1), flush=True)
            if pr: pstats.Stats(pr).sort_stats("cumulative").print_stats(45)
if __name__=="__main__": main()
