"""Tests of ``planner.gcj02``: the WGS84 <-> GCJ-02 shift of Chinese web maps, and reading GCJ-02 files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from planner import gcj02
from planner.io import read_tables
from planner.travel import haversine_km

# A grid over mainland China, Hainan and Taiwan (every 1.5 degrees of longitude, 1 of latitude).
_LON, _LAT = np.meshgrid(np.arange(73.5, 135.01, 1.5), np.arange(18.0, 53.51, 1.0))
GRID_LON, GRID_LAT = _LON.ravel(), _LAT.ravel()


def test_round_trip_wgs84_to_gcj02_and_back_is_within_1e7_degrees_across_china() -> None:
    glon, glat = gcj02.wgs84_to_gcj02(GRID_LON, GRID_LAT)
    wlon, wlat = gcj02.gcj02_to_wgs84(glon, glat)
    assert np.abs(wlon - GRID_LON).max() < 1e-7
    assert np.abs(wlat - GRID_LAT).max() < 1e-7


def test_round_trip_gcj02_to_wgs84_and_back_is_within_1e7_degrees_across_china() -> None:
    wlon, wlat = gcj02.gcj02_to_wgs84(GRID_LON, GRID_LAT)
    glon, glat = gcj02.wgs84_to_gcj02(wlon, wlat)
    assert np.abs(glon - GRID_LON).max() < 1e-7
    assert np.abs(glat - GRID_LAT).max() < 1e-7


def test_shift_is_hundreds_of_metres_everywhere_in_china() -> None:
    glon, glat = gcj02.wgs84_to_gcj02(GRID_LON, GRID_LAT)
    metres = haversine_km(GRID_LON, GRID_LAT, glon, glat) * 1000
    assert metres.min() > 50
    assert metres.max() < 1200


def test_shift_near_hangzhou_is_about_plus_0_0047_lon_and_minus_0_0023_lat() -> None:
    lon, lat = 120.1551, 30.2741  # West Lake, Hangzhou (WGS84)
    glon, glat = gcj02.wgs84_to_gcj02(lon, lat)
    assert float(glon) - lon == pytest.approx(0.0047, abs=0.0002)
    assert float(glat) - lat == pytest.approx(-0.0023, abs=0.0002)


@pytest.mark.parametrize(
    ("lon", "lat"),
    [(2.35, 48.85),      # Paris
     (-74.0, 40.7),      # New York
     (139.7, 35.7),      # Tokyo (east of the box)
     (151.2, -33.9),     # Sydney
     (37.6, 55.75),      # Moscow
     (-58.4, -34.6)],    # Buenos Aires
)
def test_points_outside_china_are_unchanged_both_ways(lon: float, lat: float) -> None:
    assert tuple(map(float, gcj02.wgs84_to_gcj02(lon, lat))) == (lon, lat)
    assert tuple(map(float, gcj02.gcj02_to_wgs84(lon, lat))) == (lon, lat)


def test_mixed_arrays_shift_only_the_points_in_china() -> None:
    lon, lat = np.array([2.35, 120.0, -74.0]), np.array([48.85, 30.0, 40.7])
    glon, glat = gcj02.wgs84_to_gcj02(lon, lat)
    assert (glon[[0, 2]] == lon[[0, 2]]).all() and (glat[[0, 2]] == lat[[0, 2]]).all()
    assert glon[1] != lon[1] and glat[1] != lat[1]


def test_in_china_is_the_rough_box() -> None:
    assert gcj02.in_china(116.4, 39.9)  # Beijing
    assert gcj02.in_china(109.5, 18.25)  # Sanya
    assert not gcj02.in_china(72.0, 30.0)
    assert not gcj02.in_china(120.0, 0.5)
    assert not gcj02.in_china(138.0, 35.0)
    assert not gcj02.in_china(100.0, 56.0)


def test_scalars_and_lists_are_accepted_and_shapes_kept() -> None:
    glon, glat = gcj02.wgs84_to_gcj02(120.0, 30.0)
    assert np.shape(glon) == () and np.shape(glat) == ()
    glon, glat = gcj02.wgs84_to_gcj02([[120.0, 121.0]], [[30.0, 31.0]])
    assert glon.shape == (1, 2) and glat.shape == (1, 2)
    wlon, _ = gcj02.gcj02_to_wgs84([120.0, 121.0], [30.0, 31.0])
    assert wlon.shape == (2,)


def test_inverse_does_not_modify_its_input() -> None:
    lon, lat = np.array([120.0, 121.0]), np.array([30.0, 31.0])
    gcj02.gcj02_to_wgs84(lon, lat)
    assert lon.tolist() == [120.0, 121.0] and lat.tolist() == [30.0, 31.0]


# The acceptance criterion: a GCJ-02 point from Amap, read with crs="gcj02", lands within half a metre of
# its WGS84 truth. Amap shows 6 decimals (about 0.1 m), so the CSV is written that way.
TRUTH = [("HZ", 120.1551, 30.2741), ("BJ", 116.3975, 39.9087), ("UR", 87.6168, 43.8256),
         ("SY", 109.5120, 18.2528), ("HB", 126.5350, 45.8038), ("LS", 91.1409, 29.6456)]


def _amap_csv(tmp_path: Path, name: str = "facilities.csv") -> Path:
    ids, lon, lat = zip(*TRUTH)
    glon, glat = gcj02.wgs84_to_gcj02(np.array(lon), np.array(lat))
    lines = ["facility_id,name,lon,lat"] + [f"{i},医院{i},{x:.6f},{y:.6f}" for i, x, y in zip(ids, glon, glat)]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_gcj02_points_with_six_decimals_invert_to_within_half_a_metre() -> None:
    """The arithmetic of the acceptance criterion, independent of the file reader."""
    _, lon, lat = zip(*TRUTH)
    glon, glat = gcj02.wgs84_to_gcj02(np.array(lon), np.array(lat))
    wlon, wlat = gcj02.gcj02_to_wgs84(np.round(glon, 6), np.round(glat, 6))
    metres = haversine_km(wlon, wlat, np.array(lon), np.array(lat)) * 1000
    assert metres.max() < 0.5


def test_gcj02_csv_read_with_crs_gcj02_lands_within_half_a_metre_of_wgs84_truth(tmp_path: Path) -> None:
    path = _amap_csv(tmp_path)

    (table,) = read_tables(path, crs="gcj02")

    assert "GCJ-02 coordinates converted to WGS84" in table.notes
    got = table.frame.set_index("facility_id").geometry
    for i, x, y in TRUTH:
        metres = float(haversine_km(got[i].x, got[i].y, x, y)) * 1000
        assert metres < 0.5, f"{i}: {metres:.3f} m from the truth"


def test_the_same_csv_read_as_wgs84_is_hundreds_of_metres_off(tmp_path: Path) -> None:
    """Guards the test above: without crs="gcj02" the shift is not undone."""
    _, x, y = TRUTH[0]
    glon, glat = gcj02.wgs84_to_gcj02(x, y)
    path = tmp_path / "facilities.csv"
    path.write_text(f"facility_id,lon,lat\nHZ,{float(glon):.6f},{float(glat):.6f}\n", encoding="utf-8")
    (table,) = read_tables(path)
    p = table.frame.geometry.iloc[0]
    assert float(haversine_km(p.x, p.y, x, y)) * 1000 > 300
    assert table.notes == []


def test_gcj02_geojson_is_converted_too(tmp_path: Path) -> None:
    _, x, y = TRUTH[1]
    glon, glat = gcj02.wgs84_to_gcj02(x, y)
    path = tmp_path / "facilities.geojson"
    path.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", '
                    '"properties": {"facility_id": "BJ"},'
                    f' "geometry": {{"type": "Point", "coordinates": [{float(glon)!r}, {float(glat)!r}]}}}}]}}',
                    encoding="utf-8")
    (table,) = read_tables(path, crs="gcj02")
    p = table.frame.geometry.iloc[0]
    assert float(haversine_km(p.x, p.y, x, y)) * 1000 < 0.5
    assert "GCJ-02 coordinates converted to WGS84" in table.notes
