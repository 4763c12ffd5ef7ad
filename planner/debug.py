"""Save a debug bundle (traceback, versions, command, input hashes, rule file) when the planner hits a bug."""

from __future__ import annotations

import hashlib
import io as _io
import json
import platform
import time
import traceback
import zipfile
from pathlib import Path


def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": platform.python_version(), "platform": platform.platform()}
    for pkg in ("medcommunity-planner", "geopandas", "shapely", "pyogrio", "pyproj", "pulp", "ortools", "folium",
                "networkx", "pydantic", "pandas", "numpy"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def _file_hashes(argv: list[str]) -> dict[str, str]:
    out = {}
    for arg in argv[1:]:
        for part in arg.split("=", 1)[-1:]:
            p = Path(part)
            if p.is_file() and p.stat().st_size < 200_000_000:
                out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def save_bundle(exc: BaseException, argv: list[str], folder: str | Path | None = None) -> Path:
    """Write planner-debug-<time>.zip (in `folder`, default the current folder) and return its path.

    The bundle holds the traceback, the command line, package versions, SHA-256 hashes of the
    input files named on the command line, and copies of any .toml rule files among them.
    """
    target_dir = Path(folder) if folder is not None else Path.cwd()
    target_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = target_dir / f"planner-debug-{stamp}.zip"
    buf = _io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("traceback.txt", "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
        z.writestr("command.json", json.dumps(argv, ensure_ascii=False, indent=1))
        z.writestr("versions.json", json.dumps(_versions(), indent=1))
        z.writestr("inputs.json", json.dumps(_file_hashes(argv), ensure_ascii=False, indent=1))
        for arg in argv[1:]:
            p = Path(arg.split("=", 1)[-1])
            if p.suffix == ".toml" and p.is_file():
                z.writestr(f"rules/{p.name}", p.read_bytes())
    tmp = path.with_suffix(".zip.tmp")
    tmp.write_bytes(buf.getvalue())
    tmp.replace(path)
    return path
