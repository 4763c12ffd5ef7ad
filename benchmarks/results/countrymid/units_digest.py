import hashlib, sys
from planner import regions
from planner.planning import region_units
from planner.rulefile import load_rules
rules = load_rules(sys.argv[2] if len(sys.argv) > 2 else "zhejiang-2026")
units = region_units(regions.load(sys.argv[1]), rules)
h = hashlib.sha256()
for u in units:
    for fr in (u.facilities, u.candidate_frame):
        h.update(str(list(fr.index)).encode()); h.update(str(fr.dtypes.to_dict()).encode())
        h.update(fr.drop(columns="geometry").to_csv().encode()); h.update(b"".join(fr.geometry.to_wkb()))
        h.update(type(fr).__name__.encode()); h.update(str(fr.crs).encode())
    h.update(repr((u.id, u.townships, u.candidates, u.roots, u.edges, u.population.tolist(), u.minutes.tolist())).encode())
print(len(units), h.hexdigest()[:16])
