"""The geodata store (planner.geostore): frames equal to the GeoPackage's, never stale, safe when damaged or unwritable."""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from planner import geostore, regions
from planner.planfile import file_sha256

LAYERS = ("places", "people", "empty")


def _write_source(path: Path, town_name: str = "甲镇") -> None:
    """A small GeoPackage with the kinds of columns the embedded files hold, nulls included."""
    places = gpd.GeoDataFrame({
        "code": ["330782001", "330782002", None],
        "name": [town_name, "乙乡", "丙村"],
        "population": np.array([1200, 0, 35], dtype=np.int64),
        "share": [0.5, np.nan, 1.25],
        "estimated": [True, False, True],
    }, geometry=[shapely.box(120.0, 29.0, 120.1, 29.1), shapely.MultiPolygon([shapely.box(120.2, 29.0, 120.3, 29.1)]),
                 shapely.Point(120.05, 29.05)], crs="EPSG:4326")
    pyogrio.write_dataframe(places, path, layer="places")
    people = pd.DataFrame({"facility_id": ["F1", "F2"], "title": ["主任医师", ""], "count": np.array([3, 4], dtype=np.int64)})
    pyogrio.write_dataframe(people, path, layer="people", append=True)
    pyogrio.write_dataframe(people.iloc[0:0], path, layer="empty", append=True)


def _assert_same(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    assert set(a) == set(b)
    for layer in a:
        x, y = a[layer], b[layer]
        assert type(x) is type(y), layer
        if isinstance(x, gpd.GeoDataFrame):
            assert x.crs == y.crs
            assert list(shapely.to_wkb(np.asarray(x.geometry.values))) == list(shapely.to_wkb(np.asarray(y.geometry.values)))
        pd.testing.assert_frame_equal(pd.DataFrame(x), pd.DataFrame(y), check_exact=True)


def _entry_frames(entry: Path, source: Path) -> dict[str, pd.DataFrame]:
    """The frames a warm read makes of an entry (its raw arrays through `geostore._frame`)."""
    raws = geostore._decode(entry.read_bytes(), LAYERS, file_sha256(source))
    return {layer: geostore._frame(raw) for layer, raw in raws.items()}


def test_stored_layers_equal_the_geopackage_and_are_read_from_the_store(tmp_path: Path) -> None:
    source, folder = tmp_path / "region.gpkg", tmp_path / "store"
    _write_source(source)
    reference = geostore.read_source(source, LAYERS)
    _assert_same(geostore.load_layers(source, LAYERS, folder), reference)
    entries = list(folder.glob("*.store"))
    assert len(entries) == 1
    _assert_same(_entry_frames(entries[0], source), reference)  # the warm read is the entry's
    _assert_same(geostore.load_layers(source, LAYERS, folder), reference)


def test_a_changed_source_is_never_served_from_its_old_entry(tmp_path: Path) -> None:
    source, folder = tmp_path / "region.gpkg", tmp_path / "store"
    _write_source(source, "甲镇")
    stat = source.stat()
    assert geostore.load_layers(source, LAYERS, folder)["places"]["name"].iloc[0] == "甲镇"
    source.unlink()
    _write_source(source, "丁镇")  # same size; the old time stamp put back
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert source.stat().st_size == stat.st_size
    assert geostore.load_layers(source, LAYERS, folder)["places"]["name"].iloc[0] == "丁镇"
    assert len(list(folder.glob("*.store"))) == 1  # the old file's entry is replaced


@pytest.mark.parametrize("name", ["region.gpkg", "region[1].gpkg"])
def test_only_entries_the_store_wrote_are_replaced(tmp_path: Path, name: str) -> None:
    # PLANNER_GEODATA_CACHE may name a folder the user also keeps files in: a file that merely
    # looks like an entry of this source (name and suffix) is not the store's to delete. A name
    # with glob characters still finds its own old entry.
    source, folder = tmp_path / name, tmp_path / "store"
    _write_source(source)
    folder.mkdir()
    mine = folder / f"{source.name}.notes.store"
    mine.write_text("the user's own file", encoding="utf-8")
    geostore.load_layers(source, LAYERS, folder)
    _write_source(source, "丁镇")  # a changed source: its new entry replaces only the store's old one
    geostore.load_layers(source, LAYERS, folder)
    assert mine.read_text(encoding="utf-8") == "the user's own file"
    assert len([p for p in folder.glob("*.store") if p != mine]) == 1


@pytest.mark.parametrize("damage", ["flip", "truncate", "garbage"])
def test_a_damaged_entry_is_a_miss_and_is_rewritten(tmp_path: Path, damage: str) -> None:
    source, folder = tmp_path / "region.gpkg", tmp_path / "store"
    _write_source(source)
    reference = geostore.read_source(source, LAYERS)
    geostore.load_layers(source, LAYERS, folder)
    (entry,) = folder.glob("*.store")
    blob = bytearray(entry.read_bytes())
    if damage == "flip":  # one letter of a town's name: the entry still parses, only its digest tells
        at = bytes(blob).rindex("乙乡".encode())
        blob[at + 2] ^= 0x01
    elif damage == "truncate":
        del blob[len(blob) // 2:]
    else:
        blob = bytearray(b"not a store entry")
    entry.write_bytes(bytes(blob))
    _assert_same(geostore.load_layers(source, LAYERS, folder), reference)
    _assert_same(_entry_frames(entry, source), reference)


def test_an_entry_of_another_source_file_is_never_read(tmp_path: Path) -> None:
    a, b, folder = tmp_path / "a.gpkg", tmp_path / "b.gpkg", tmp_path / "store"
    _write_source(a, "甲镇")
    _write_source(b, "丁镇")
    geostore.load_layers(a, LAYERS, folder)
    (entry,) = folder.glob("*.store")
    # b's entry name holding a's (sound) entry: its header names a's SHA-256, so it is a miss
    entry.rename(geostore._entry_path(folder, b, file_sha256(b)))
    assert geostore.load_layers(b, LAYERS, folder)["places"]["name"].iloc[0] == "丁镇"


def test_an_unwritable_store_falls_back_to_the_source(tmp_path: Path) -> None:
    source = tmp_path / "region.gpkg"
    _write_source(source)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the store's folder would be")
    _assert_same(geostore.load_layers(source, LAYERS, blocker / "store"), geostore.read_source(source, LAYERS))


def test_store_folder_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(geostore.CACHE_ENV, "off")
    assert geostore.store_folder() is None
    monkeypatch.setenv(geostore.CACHE_ENV, str(tmp_path))
    assert geostore.store_folder() == tmp_path
    monkeypatch.delenv(geostore.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert geostore.store_folder() == tmp_path / "xdg" / "medcommunity-planner" / "geodata"


@pytest.mark.parametrize("region", ["310101", "上海市", "泉州市"])  # a county of the smallest file (rows
# filtered), the whole file, and a city whose non-plannable county (金门县) has no facilities: an empty filter
def test_an_embedded_region_loads_the_same_with_and_without_the_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                                      region: str) -> None:
    monkeypatch.setenv(geostore.CACHE_ENV, "off")
    plain = regions.load(region)
    monkeypatch.setenv(geostore.CACHE_ENV, str(tmp_path))
    for _ in range(2):  # the run that fills the store, and one that reads it
        _assert_same_region(regions.load(region), plain)
    assert list(tmp_path.glob("*.store"))


def _assert_same_region(stored: regions.Region, plain: regions.Region) -> None:
    for name in ("counties", "townships", "villages", "facilities", "staff", "context_counties"):
        x, y = getattr(stored, name), getattr(plain, name)
        assert type(x) is type(y)
        pd.testing.assert_frame_equal(pd.DataFrame(x).drop(columns="geometry", errors="ignore"),
                                      pd.DataFrame(y).drop(columns="geometry", errors="ignore"), check_exact=True)
        if "geometry" in x.columns:
            assert x.geometry.geom_equals_exact(y.geometry, 0).all()
    assert stored.about == plain.about


def _small_country(tmp_path: Path, n_files: int) -> Path:
    """A data folder holding the embedded data's smallest files and their catalog rows (its 全国 is theirs)."""
    import csv

    built = regions.data_dir()
    files = sorted((p for p in built.glob("*.gpkg.zip")), key=lambda p: (p.stat().st_size, p.name))[:n_files]
    folder = tmp_path / "data"
    folder.mkdir()
    for f in files:
        (folder / f.name).symlink_to(f)
    with open(built / "catalog.csv", encoding="utf-8", newline="") as src:
        rows = list(csv.DictReader(src))
    with open(folder / "catalog.csv", "w", encoding="utf-8", newline="") as out:
        w = csv.DictWriter(out, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(r for r in rows if r["file"] in {f.name for f in files})
    return folder


@pytest.mark.parametrize("writable", [True, False])
def test_the_first_read_of_several_files_fills_the_store_in_two_processes(monkeypatch: pytest.MonkeyPatch,
                                                                          tmp_path: Path, writable: bool) -> None:
    monkeypatch.setenv("PLANNER_DATA_DIR", str(_small_country(tmp_path, 3)))
    monkeypatch.setenv(geostore.CACHE_ENV, "off")
    plain = regions.load("全国")
    store = tmp_path / "store"
    if not writable:
        (tmp_path / "blocker").write_text("a file where the store's folder would be")
        store = tmp_path / "blocker" / "store"
    monkeypatch.setenv(geostore.CACHE_ENV, str(store))
    readers = tmp_path / "readers.txt"
    read_raw = geostore._read_raw

    def logged(source: object, layer: str) -> object:
        with open(readers, "a") as f:
            f.write(f"{os.getpid()}\n")
        return read_raw(source, layer)

    monkeypatch.setattr(geostore, "_read_raw", logged)
    _assert_same_region(regions.load("全国", jobs=2), plain)
    pids = set(readers.read_text().split())
    assert str(os.getpid()) in pids and len(pids) == 2  # this process and one forked worker read the files
    if writable:
        assert len(list(store.glob("*.store"))) == 3
        readers.unlink()
        _assert_same_region(regions.load("全国", jobs=2), plain)  # all from the store: no file read, no worker
        assert not readers.exists()
    else:  # nothing could be stored: this process read the worker's files again, from their GeoPackages
        assert readers.read_text().split().count(str(os.getpid())) == 3 * len(regions._LAYERS)


def test_an_error_here_while_the_worker_fills_joins_the_worker_before_it_goes_on(monkeypatch: pytest.MonkeyPatch,
                                                                                 tmp_path: Path) -> None:
    import multiprocessing

    monkeypatch.setenv("PLANNER_DATA_DIR", str(_small_country(tmp_path, 3)))
    monkeypatch.setenv(geostore.CACHE_ENV, str(tmp_path / "store"))

    def broken(read: object, wanted: set[str]) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(regions, "_file_parts", broken)  # this process's reads fail; the worker's fill does not
    before = set(multiprocessing.active_children())  # pools other tests left (the services' spawned pool lives on)
    with pytest.raises(OSError, match="disk gone"):
        regions.load("全国", jobs=2)
    assert not set(multiprocessing.active_children()) - before  # the fill's worker was joined and its pool shut down


def test_the_fill_splits_only_the_missing_files_by_size(tmp_path: Path) -> None:
    folder = tmp_path / "store"
    folder.mkdir()
    paths = []
    for name, size in [("a.gpkg", 50), ("b.gpkg", 40), ("c.gpkg", 30), ("d.gpkg", 20), ("e.gpkg", 999)]:
        (tmp_path / name).write_bytes(b"x" * size)
        paths.append(tmp_path / name)
    # e is stored already (an entry by its name in the current layout): this process reads it
    (geostore._entry_path(folder, paths[4], "0" * 64)).write_bytes(b"")
    mine, theirs = regions._fill_split(paths, folder)
    assert (mine, theirs) == ([paths[0], paths[3], paths[4]], [paths[1], paths[2]])  # 50 + 20 here, 40 + 30 there
    assert regions._fill_split(paths[3:], folder) == (paths[3:], [])  # one file missing: no worker


def _same_array(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype == object:  # str / bytes and None only (the entry keeps nothing else): list equality is exact
        return a.tolist() == b.tolist()
    return a.tobytes() == b.tobytes()


def _same_raws(a: dict, b: dict) -> bool:
    """True when every layer's raw arrays are equal, type for type and byte for byte (what `_frame` is given)."""
    for layer, (fields, crs, geometry, field_data) in a.items():
        if layer not in b:
            return False
        f2, c2, g2, d2 = b[layer]
        if list(fields) != list(f2) or crs != c2 or len(field_data) != len(d2) or not _same_array(geometry, g2):
            return False
        if not all(_same_array(x, y) for x, y in zip(field_data, d2)):
            return False
    return True


def test_an_entry_keeps_the_raw_arrays_exactly_and_refuses_what_it_cannot(tmp_path: Path) -> None:
    # The entry is not read back when written: each kind of array must come back exactly
    # (numbers byte for byte, text and WKB value for value, None kept), and a text value
    # holding the separator or a value of another type makes no entry at all.
    source = tmp_path / "region.gpkg"
    _write_source(source)
    raws = {layer: geostore._read_raw(source, layer) for layer in LAYERS}
    sha = file_sha256(source)
    blob = geostore._encode(raws, sha)
    assert blob is not None
    assert _same_raws(raws, geostore._decode(blob, LAYERS, sha))
    assert raws["places"][3][0].tolist()[2] is None  # a NULL text value, kept as None
    fields, crs, wkb, data = raws["people"]
    for bad in (np.array(["a\x00b", "c"], dtype=object), np.array([1, "c"], dtype=object)):
        assert geostore._encode({"people": (fields, crs, wkb, [bad, *data[1:]])}, sha) is None


def test_a_zipped_source_is_read_from_memory_alike(tmp_path: Path) -> None:
    # The embedded files are zipped GeoPackages: on a miss the store unzips the file once and
    # GDAL reads the bytes from memory; the frames must equal pyogrio's reading of the zip.
    import zipfile

    gpkg, source, folder = tmp_path / "region.gpkg", tmp_path / "region.gpkg.zip", tmp_path / "store"
    _write_source(gpkg)
    with zipfile.ZipFile(source, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(gpkg, gpkg.name)
    assert geostore._unzipped(source, source.read_bytes()) == gpkg.read_bytes()
    reference = geostore.read_source(source, LAYERS)
    _assert_same(geostore.load_layers(source, LAYERS, folder), reference)
    _assert_same(geostore.load_layers(source, LAYERS, folder), reference)  # warm
