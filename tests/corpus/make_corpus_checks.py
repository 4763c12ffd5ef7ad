"""Write the corpus cases of strict rule files, bounded input and the checker's reading of plans (issue 13).

Run from the repository root: `python tests/corpus/make_corpus_checks.py`. It writes (and replaces)
only the cases named below, `rule_*`, `input_*` and `check_*`, in the format of make_corpus.py:
a folder with the bad file(s), `args.txt` and `expected.txt` (exit status, then fragments that
must appear in the output). Every value is made up, except the 义乌市 townships taken from the
embedded data to build complete or doubled layers.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
CASES = HERE / "cases"

HEAD = '[policy]\nname = "review"\nextends = "zhejiang-2026"\n\n'
OVERRIDE = '[[rule]]\nid = "county.max_communities"\n'
FAC_HEAD = "facility_id,name,kind,grade,ownership,county_code,lon,lat\n"

PLAN = {"format": 1, "region": "义乌市", "rules": "zhejiang-2026",
        "meta": {"rules_path": "zhejiang-2026"},
        "units": [{"unit": "330782", "scope": "county", "name": "义乌市", "status": "OPTIMAL", "objective": 1.0,
                   "bound": 1.0, "gap": 0.0, "backend": "cpsat", "travel_person_min": 1.0, "penalties": [],
                   "explanation": [],
                   "communities": [{"id": "330782:H330782-01", "lead": "H330782-01",
                                    "townships": ["330782001", "330782003", "330782004", "330782006", "330782100",
                                                  "330782101", "330782102", "330782104"]},
                                   {"id": "330782:H330782-02", "lead": "H330782-02",
                                    "townships": ["330782002", "330782005", "330782007", "330782008", "330782105",
                                                  "330782106"]}]}]}


def plan_json(**changes: object) -> str:
    doc = json.loads(json.dumps(PLAN))
    unit = doc["units"][0]
    for key, value in changes.items():
        if key.startswith("unit_"):
            unit[key[5:]] = value
        else:
            doc[key] = value
    return json.dumps(doc, ensure_ascii=False, indent=1)


def rule_file(body: str, head: str = HEAD) -> str:
    return head + body


def pin(townships: str, lead: str = "H330782-01") -> str:
    return rule_file(f'[[rule]]\nid = "review.pin"\nkind = "pin"\nsource = "review note"\ntownships = {townships}\n'
                     f'lead = "{lead}"\n')


def yiwu_townships(scale: int = 1, keep: int | None = None) -> bytes:
    """义乌市's townships from the embedded data as GeoJSON (populations times `scale`, the first `keep` only)."""
    from planner import regions

    towns = regions.load("义乌市").townships[["code", "name", "county_code", "population", "geometry"]].copy()
    towns["population"] = towns["population"] * scale
    if keep is not None:
        towns = towns.iloc[:keep]
    return towns.to_json(drop_id=True).encode("utf-8")


def roads(lines: list[list[tuple[float, float]]], **cols: list) -> bytes:
    features = [{"type": "Feature", "properties": {k: v[i] for k, v in cols.items()},
                 "geometry": {"type": "LineString", "coordinates": [list(p) for p in line]}} for i, line in enumerate(lines)]
    return json.dumps({"type": "FeatureCollection", "features": features}).encode("utf-8")


def two_shapefiles() -> bytes:
    import tempfile

    import geopandas as gpd
    import shapely

    buf = io.BytesIO()
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(buf, "w") as z:
        for name in ("part1", "part2"):
            gdf = gpd.GeoDataFrame({"code": ["330782001"], "name": ["稠城街道"], "county_code": ["330782"],
                                    "population": [1000]}, geometry=[shapely.box(120.0, 29.3, 120.1, 29.4)], crs="EPSG:4326")
            gdf.to_file(Path(tmp) / f"{name}.shp")
            for part in sorted(Path(tmp).glob(f"{name}.*")):
                z.writestr(part.name, part.read_bytes())
    return buf.getvalue()


PLAN_ARGS = "plan --region 义乌市 --no-cache --quiet --no-maps --out {case}/out"

Case = tuple[str, dict[str, Callable[[], bytes | str] | bytes | str], str, int, list[str]]

RULES: list[Case] = [
    ("rule_counties_unknown_code", {"rules.toml": rule_file(OVERRIDE + 'counties = ["330999"]\nmax = 1\n')},
     "rules {case}/rules.toml", 2,
     ["rules.toml: rule county.max_communities: counties: 330999 matches no county or city. Fix: give an existing "
      "county or city code (planner regions, planner show REGION list them)"]),
    ("rule_counties_unknown_code_in_plan", {"rules.toml": rule_file(OVERRIDE + 'counties = ["330999"]\nmax = 1\n')},
     PLAN_ARGS + " --rules {case}/rules.toml", 2,
     ["rules.toml: rule county.max_communities: counties: 330999 matches no county or city."]),
    ("rule_counties_name_not_code", {"rules.toml": rule_file(OVERRIDE + 'counties = ["义乌市"]\nmax = 1\n')},
     "rules {case}/rules.toml", 2,
     ["rule county.max_communities: counties: '义乌市' is a name; counties takes codes. Fix: use the code 330782"]),
    ("rule_counties_fullwidth_digits", {"rules.toml": rule_file(OVERRIDE + 'counties = ["３３０７８２"]\nmax = 1\n')},
     "rules {case}/rules.toml", 2,
     ["rule county.max_communities: counties: '３３０７８２' is not written in ASCII digits. Fix: write 330782"]),
    ("rule_counties_arabic_indic_digits", {"rules.toml": rule_file(OVERRIDE + 'counties = ["٣٣٠٧٨٢"]\nmax = 1\n')},
     "rules {case}/rules.toml", 2, ["counties: '٣٣٠٧٨٢' is not written in ASCII digits. Fix: write 330782"]),
    ("rule_max_true_is_not_one", {"rules.toml": rule_file(OVERRIDE + "max = true\n")}, "rules {case}/rules.toml", 2,
     ["rule county.max_communities: key `max`: is a whole number, not a flag (true is not 1) (got True). "
      "Fix: write the number, e.g. 3"]),
    ("rule_max_fraction", {"rules.toml": rule_file(OVERRIDE + "max = 2.5\n")}, "rules {case}/rules.toml", 2,
     ["rule county.max_communities: key `max`: is a whole number (got 2.5). Fix: write it without a decimal point, e.g. 3"]),
    ("rule_max_beyond_solver_bound", {"rules.toml": rule_file(OVERRIDE + "max = 10000000000\n")},
     "rules {case}/rules.toml", 2,
     ["key `max`: is beyond 1,000,000,000, the largest value the solvers accept (got 10000000000). "
      "Fix: use a value up to 1,000,000,000"]),
    ("rule_enabled_not_a_flag", {"rules.toml": rule_file(OVERRIDE + "enabled = 1\n")}, "rules {case}/rules.toml", 2,
     ["key `enabled`: is a flag: give true or false (got 1). Fix: write true or false without quotes"]),
    ("rule_enabled_quoted", {"rules.toml": rule_file(OVERRIDE + 'enabled = "false"\n')}, "rules {case}/rules.toml", 2,
     ["key `enabled`: is a flag: give true or false (got 'false')"]),
    ("rule_penalty_inf", {"rules.toml": rule_file(OVERRIDE + "hard = false\npenalty = inf\n")}, "rules {case}/rules.toml",
     2, ["key `penalty`: must be a finite number (inf and nan are not) (got inf). Fix: write a number"]),
    ("rule_penalty_nan", {"rules.toml": rule_file(OVERRIDE + "hard = false\npenalty = nan\n")}, "rules {case}/rules.toml",
     2, ["key `penalty`: must be a finite number (inf and nan are not) (got nan)"]),
    ("rule_penalty_beyond_solver_bound", {"rules.toml": rule_file(OVERRIDE + "hard = false\npenalty = 1e300\n")},
     "rules {case}/rules.toml", 2, ["key `penalty`: is beyond 1,000,000,000, the largest value the solvers accept"]),
    ("rule_travel_speed_nan", {"rules.toml": rule_file("[travel]\nspeed_kph = nan\n")}, "rules {case}/rules.toml", 2,
     ["rules.toml: travel: key `speed_kph`: must be a finite number (inf and nan are not) (got nan)"]),
    ("rule_travel_detour_true", {"rules.toml": rule_file("[travel]\ndetour_factor = true\n")}, "rules {case}/rules.toml",
     2, ["travel: key `detour_factor`: is a number, not a flag (true is not 1) (got True)"]),
    ("rule_extends_dev_zero", {"rules.toml": '[policy]\nname = "x"\nextends = "/dev/zero"\n'}, "rules {case}/rules.toml",
     2, ["/dev/zero: is not a regular .toml file. Fix: name a rule file ending in .toml (or a shipped rule file by name)"]),
    ("rule_extends_not_toml", {"rules.toml": '[policy]\nname = "x"\nextends = "notes.txt"\n', "notes.txt": "not rules\n"},
     "rules {case}/rules.toml", 2, ["notes.txt: is not a regular .toml file."]),
    ("rule_extends_folder", {"rules.toml": '[policy]\nname = "x"\nextends = "sub.toml"\n', "sub.toml/readme.txt": "a folder named like a rule file\n"},
     "rules {case}/rules.toml", 2, ["policy.extends: extends ", "sub.toml: is a folder where a file is expected"]),
    ("rule_deeply_nested", {"rules.toml": '[policy]\nname = "x"\n[[rule]]\nid = "a"\nkind = "pin"\nsource = "s"\n'
                                          "townships = " + "[" * 3000 + "]" * 3000 + '\nlead = "H1"\n'},
     "rules {case}/rules.toml", 2,
     ["rules.toml: nests tables or arrays deeper than 12 levels. Fix: write rules as [[rule]] tables with plain values"]),
    ("rule_nul_character", {"rules.toml": '[policy]\nname = "x\x00"\n'}, "rules {case}/rules.toml", 2,
     ["rules.toml: holds NUL characters: not a text file. Fix: give a TOML rule file"]),
    ("rule_pin_township_not_a_code", {"rules.toml": pin('["3307821"]')}, "rules {case}/rules.toml", 2,
     ["rule review.pin: townships: '3307821' is not a 9-digit township code. Fix: give 9-digit township codes "
      "(planner export REGION lists them)"]),
    ("rule_pin_township_fullwidth", {"rules.toml": pin('["３３０７８２００１"]')}, "rules {case}/rules.toml", 2,
     ["rule review.pin: townships: '３３０７８２００１' is not written in ASCII digits. Fix: write 330782001"]),
    ("rule_pin_township_unknown_county", {"rules.toml": pin('["339999001"]')}, "rules {case}/rules.toml", 2,
     ["rule review.pin: townships: 339999001 matches no township (no county 339999). Fix: give an existing township code"]),
    ("rule_pin_township_not_in_region", {"rules.toml": pin('["330782999"]')}, PLAN_ARGS + " --rules {case}/rules.toml", 2,
     ["rules.toml: rule review.pin: townships: 330782999 is not a township of 义乌市. Fix: give township codes of 义乌市 "
      "(planner export 义乌市 lists them)"]),
    ("rule_pin_lead_not_in_region", {"rules.toml": pin('["330782001"]', "H330782-99")},
     PLAN_ARGS + " --rules {case}/rules.toml", 2,
     ["rule review.pin: lead: H330782-99 is not a facility of 义乌市. Fix: give a facility id of 义乌市 "
      "(planner show 义乌市 --facilities lists them)"]),
    ("rule_veto_unknown_facility", {"rules.toml": rule_file('[[rule]]\nid = "review.veto"\nkind = "forbid_lead"\n'
                                                            'source = "review note"\nfacilities = ["H330782-77"]\n')},
     PLAN_ARGS + " --rules {case}/rules.toml", 2,
     ["rule review.veto: facilities: H330782-77 is not a facility of 义乌市. Fix: give facility ids of 义乌市"]),
    ("rule_override_same_county_twice", {"rules.toml": rule_file(OVERRIDE + 'counties = ["330782"]\nmax = 1\n\n'
                                                                 + OVERRIDE + 'counties = ["330782"]\nmax = 2\n')},
     "rules {case}/rules.toml", 2,
     ["rule county.max_communities: overrides 330782 again (rule #1 already does). Fix: give each county one override"]),
    ("rule_override_id_typo", {"rules.toml": rule_file('[[rule]]\nid = "county.max_comunities"\nmax = 1\n')},
     "rules {case}/rules.toml", 2,
     ["rule county.max_comunities: overrides no rule: zhejiang-2026 has no rule 'county.max_comunities' (did you mean "
      "'county.max_communities'?). Fix: correct the id, or give a new rule its kind = \"...\""]),
    ("rule_counties_city_name", {"rules.toml": rule_file(OVERRIDE + 'counties = ["金华市"]\nmax = 1\n')},
     "rules {case}/rules.toml", 2,
     ["rule county.max_communities: counties: '金华市' is a name; counties takes codes. Fix: use the code 330700"]),
    ("rule_counties_one_of_two_unknown", {"rules.toml": rule_file(OVERRIDE + 'counties = ["330782", "330998"]\nmax = 1\n')},
     "rules {case}/rules.toml", 2, ["rule county.max_communities: counties: 330998 matches no county or city."]),
    ("rule_min_true_is_not_one", {"rules.toml": rule_file(OVERRIDE + "min = true\n")}, "rules {case}/rules.toml", 2,
     ["rule county.max_communities: key `min`: is a whole number, not a flag (true is not 1) (got True)"]),
    ("rule_share_nan", {"rules.toml": rule_file('[[rule]]\nid = "review.balance"\nkind = "population_balance"\n'
                                                'source = "review note"\nmin_share = nan\n')},
     "rules {case}/rules.toml", 2, ["rule review.balance: key `min_share`: must be a finite number (inf and nan are not) (got nan)"]),
    ("rule_max_minutes_inf", {"rules.toml": rule_file('[[rule]]\nid = "county.max_travel"\nmax_minutes = inf\n')},
     "rules {case}/rules.toml", 2, ["rule county.max_travel: key `max_minutes`: must be a finite number (inf and nan are not) (got inf)"]),
    ("rule_pin_township_name", {"rules.toml": pin('["稠城街道"]')}, "rules {case}/rules.toml", 2,
     ["rule review.pin: townships: '稠城街道' is not a 9-digit township code."]),
    ("rule_extends_chain_too_long", {**{f"c{n}.toml": f'[policy]\nname = "c{n}"\nextends = "{"zhejiang-2026" if n == 0 else f"c{n - 1}.toml"}"\n'
                                         for n in range(9)},
                                     "rules.toml": '[policy]\nname = "x"\nextends = "c8.toml"\n'},
     "rules {case}/rules.toml", 2, ["is reached through 8 `extends`, more than 8. Fix: extend a shipped rule file directly"]),
    ("rule_one_county_override_shown", {"rules.toml": rule_file(OVERRIDE + 'counties = ["330782"]\nmax = 1\n')},
     "rules {case}/rules.toml", 0,
     ['except_counties = ["330782"]   (the override county.max_communities@… applies there)',
      "max = 3   (inherited from zhejiang-2026 (zhejiang-2026.toml:24))",
      "[hard] county.max_communities@330782 (000 (二)) community_count: 每个县（市、区）恰好1个医共体"]),
]

INPUTS: list[Case] = [
    ("input_code_fullwidth_digits", {"facilities.csv": FAC_HEAD + "H1,测试县人民医院,综合医院,二甲,公立,３３０７８２,120.07,29.31\n"},
     "validate {case}/facilities.csv", 2,
     ["facilities.csv: row 2: county_code '３３０７８２' is written in full-width or other non-ASCII digits (write 330782)"]),
    ("input_code_arabic_indic_digits", {"facilities.csv": FAC_HEAD + "H1,测试县人民医院,综合医院,二甲,公立,٣٣٠٧٨٢,120.07,29.31\n"},
     "validate {case}/facilities.csv", 2,
     ["row 2: county_code '٣٣٠٧٨٢' is written in full-width or other non-ASCII digits (write 330782)"]),
    ("input_count_beyond_bound", {"facilities.csv": "facility_id,name,kind,grade,ownership,county_code,lon,lat,beds\n"
                                                    "H1,测试县人民医院,综合医院,二甲,公立,330782,120.07,29.31,1e15\n"},
     "validate {case}/facilities.csv", 2, ["row 2: beds '1e15' is beyond 1,000,000,000, more than any population or count can be"]),
    ("input_townships_incomplete", {"townships.geojson": lambda: yiwu_townships(keep=3)},
     "validate --region 义乌市 {case}/townships.geojson", 2,
     ["townships.geojson: county 330782: gives 3 of the county's 14 townships; missing: ", "and 6 more. Fix: give every "
      "township of each county the file touches"]),
    ("input_census_far_off", {"townships.geojson": lambda: yiwu_townships(scale=3)},
     "validate --region 义乌市 {case}/townships.geojson", 0,
     ["county 330782: warning: its townships sum to 5,578,170 residents, the 2020 census gives 1,859,390 (+200%, beyond "
      "the 10% tolerance)"]),
    ("input_zip_two_shapefiles", {"townships.zip": two_shapefiles}, "validate {case}/townships.zip", 2,
     ["townships.zip: holds 2 shapefiles (part1.shp, part2.shp). Fix: zip one shapefile per archive, or put the layers "
      "in one GeoPackage"]),
    ("input_problems_bounded", {"facilities.csv": FAC_HEAD + "".join(f"H{n},医院{n},综合医院,二甲,公立,33078X,120.07,29.31\n"
                                                                     for n in range(70))},
     "validate {case}/facilities.csv", 2,
     ["facilities.csv: row 2: county_code '33078X' is not a 6-digit code",
      "20 more problems not listed (70 in all). Fix: fix the problems above"]),
    ("input_township_code_fullwidth", {"townships.geojson": json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "３３０７８２００１", "name": "稠城街道", "county_code": "330782",
                                           "population": 198405},
         "geometry": {"type": "Polygon", "coordinates": [[[120.0, 29.3], [120.1, 29.3], [120.1, 29.4], [120.0, 29.4],
                                                          [120.0, 29.3]]]}}]}, ensure_ascii=False)},
     "validate {case}/townships.geojson", 2,
     ["code '３３０７８２００１' is written in full-width or other non-ASCII digits (write 330782001)"]),
    ("input_township_population_beyond_bound", {"townships.geojson": json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "330782001", "name": "稠城街道", "county_code": "330782",
                                           "population": "1000000000000000"},
         "geometry": {"type": "Polygon", "coordinates": [[[120.0, 29.3], [120.1, 29.3], [120.1, 29.4], [120.0, 29.4],
                                                          [120.0, 29.3]]]}}]}, ensure_ascii=False)},
     "validate {case}/townships.geojson", 2,
     ["population '1000000000000000' is beyond 1,000,000,000, more than any population or count can be"]),
    ("input_roads_day_long_minutes", {"roads.geojson": roads([[(120.0, 29.3), (120.1, 29.3)]], travel_min=[99999])},
     PLAN_ARGS + " --roads {case}/roads.geojson", 2, ["roads.geojson: row 1: travel_min '99999' is not minutes from 0 to 1,440."]),
    ("input_roads_negative_minutes", {"roads.geojson": roads([[(120.0, 29.3), (120.1, 29.3)]], travel_min=[-5])},
     PLAN_ARGS + " --roads {case}/roads.geojson", 2,
     ["roads.geojson: row 1: travel_min '-5' is not minutes from 0 to 1,440."]),
    ("input_roads_zero_speed", {"roads.geojson": roads([[(120.0, 29.3), (120.1, 29.3)]], speed_kph=[0])},
     PLAN_ARGS + " --roads {case}/roads.geojson", 2,
     ["roads.geojson: row 1: speed_kph '0' is not a speed in km/h above 0 and at most 200."]),
    ("input_roads_far_away", {"roads.geojson": roads([[(110.0, 20.0), (110.1, 20.0)]], speed_kph=[40])},
     PLAN_ARGS + " --roads {case}/roads.geojson", 2,
     ["roads.geojson: does not reach 义乌市: 14 of its 14 townships are over 20 km from the nearest road"]),
]

CHECKS: list[Case] = [
    ("check_plan_json_not_json", {"plan.json": "{ not json"}, "check {case}/plan.json", 2,
     ["plan.json: is not a plan file (JSONDecodeError"]),
    ("check_plan_json_not_utf8", {"plan.json": b'{"region": "\xff\xfe"}'}, "check {case}/plan.json", 2,
     ["plan.json: is not UTF-8 text"]),
    ("check_plan_json_too_deep", {"plan.json": '{"meta": ' + "[" * 50_000 + "]" * 50_000 + "}"}, "check {case}/plan.json",
     2, ["plan.json: nests lists or objects deeper than 32 levels"]),
    ("check_plan_json_not_an_object", {"plan.json": "[1, 2, 3]"}, "check {case}/plan.json", 2,
     ["plan.json: is not a JSON object"]),
    ("check_plan_json_no_units", {"plan.json": lambda: plan_json(units="all")}, "check {case}/plan.json", 2,
     ["plan.json: units: `units` is missing or not a list"]),
    ("check_plan_json_unknown_status", {"plan.json": lambda: plan_json(unit_status="SOLVED")}, "check {case}/plan.json", 2,
     ["plan.json: unit 330782: status 'SOLVED' is not a solver status. Fix: use one of OPTIMAL"]),
    ("check_plan_json_township_numbers", {"plan.json": lambda: plan_json(unit_communities=[
        {"id": "330782:H330782-01", "lead": "H330782-01", "townships": [330782001]}])}, "check {case}/plan.json", 2,
     ["plan.json: unit 330782 community #1: `townships` is not a list of township codes (text)"]),
    ("check_plan_json_lead_missing", {"plan.json": lambda: plan_json(unit_communities=[
        {"id": "330782:H330782-01", "townships": ["330782001"]}])}, "check {case}/plan.json", 2,
     ["plan.json: unit 330782 community #1: `lead` is missing or not text"]),
    ("check_plan_json_objective_not_finite", {"plan.json": lambda: plan_json(unit_objective="inf")},
     "check {case}/plan.json", 2, ["plan.json: unit 330782: `objective` 'inf' is not a finite number"]),
    ("check_plan_json_unit_twice", {"plan.json": lambda: json.dumps({**PLAN, "units": PLAN["units"] * 2}, ensure_ascii=False)},
     "check {case}/plan.json", 2, ["plan.json: unit 330782: is listed twice. Fix: keep one entry per unit"]),
    ("check_plan_json_meta_not_object", {"plan.json": lambda: plan_json(meta=[1])}, "check {case}/plan.json", 2,
     ["plan.json: meta: `meta` is not an object"]),
    ("check_plan_json_region_missing", {"plan.json": lambda: plan_json(region=None)}, "check {case}/plan.json", 2,
     ["plan.json: region: `region` is missing or not text"]),
    ("check_plan_json_communities_not_list", {"plan.json": lambda: plan_json(unit_communities={"a": 1})},
     "check {case}/plan.json", 2, ["plan.json: unit 330782: `communities` is missing or not a list"]),
    ("check_manifest_garbled", {"plan/plan.json": lambda: plan_json(), "plan/manifest.json": "{ garbled"},
     "check {case}/plan", 2, ["manifest.json: is not a manifest written by `planner plan`"]),
    ("check_table_not_text", {"plan/plan.json": lambda: plan_json(), "plan/manifest.json": '{"files": {}}',
                              "plan/assignments.csv": bytes(range(128, 256)) * 4},
     "check {case}/plan", 2, ["assignments.csv: is not a readable CSV table (UnicodeDecodeError)"]),
]


def main() -> None:
    import shutil

    cases = RULES + INPUTS + CHECKS
    for name, files, args, status, expected in cases:
        folder = CASES / name
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        for fname, content in files.items():
            data = content() if callable(content) else content
            target = folder / fname
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        (folder / "args.txt").write_text(args + "\n", encoding="utf-8")
        (folder / "expected.txt").write_text("\n".join([str(status), *expected]) + "\n", encoding="utf-8")
    print(f"wrote {len(cases)} cases to {CASES}")


if __name__ == "__main__":
    main()
