"""Save a debug bundle (traceback, versions, command, input hashes, rule file) when the planner hits a bug."""

from __future__ import annotations

import hashlib
import io as _io
import json
import os
import platform
import tempfile
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
            try:
                p = Path(part)
                if p.is_file() and p.stat().st_size < 200_000_000:
                    out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
            except (OSError, ValueError) as exc:  # unreadable, a NUL in the name: say so, never fail
                out[part] = f"not read ({type(exc).__name__})"
    return out


def _bundle_bytes(exc: BaseException, argv: list[str]) -> bytes:
    buf = _io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("traceback.txt", "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
        z.writestr("command.json", json.dumps([str(a) for a in argv], ensure_ascii=False, indent=1))
        try:
            z.writestr("versions.json", json.dumps(_versions(), indent=1))
        except Exception as e:  # noqa: BLE001  (the bundle is written whatever happens)
            z.writestr("versions.json", json.dumps({"error": repr(e)}))
        z.writestr("inputs.json", json.dumps(_file_hashes(argv), ensure_ascii=False, indent=1))
        for arg in argv[1:]:
            try:
                p = Path(arg.split("=", 1)[-1])
                if p.suffix == ".toml" and p.is_file() and p.stat().st_size < 10_000_000:
                    z.writestr(f"rules/{p.name}", p.read_bytes())
            except (OSError, ValueError):
                continue
    return buf.getvalue()


def save_bundle(exc: BaseException, argv: list[str], folder: str | Path | None = None) -> Path | None:
    """Write planner-debug-<time>.zip and return its path; never raises.

    The bundle goes to `folder` (default the current folder) or, when that cannot be written
    (read-only, full, gone), to the system's temporary folder. It holds the traceback, the
    command line, package versions, SHA-256 hashes of the input files named on the command
    line, and copies of any .toml rule files among them. Returns None only when no bundle
    could be written anywhere.
    """
    try:
        data = _bundle_bytes(exc, argv)
    except Exception:  # noqa: BLE001  (a bug report must not become a second bug)
        try:
            data = _bundle_bytes(exc, [])
        except Exception:  # noqa: BLE001
            return None
    stamp = time.strftime("%Y%m%d-%H%M%S")
    places: list[Path] = []
    try:
        places.append(Path(folder) if folder is not None else Path.cwd())
    except OSError:  # the current folder was removed
        pass
    places.append(Path(tempfile.gettempdir()))
    for place in places:
        try:
            place.mkdir(parents=True, exist_ok=True)
            path = place / f"planner-debug-{stamp}-{os.getpid()}.zip"
            tmp = path.with_suffix(".zip.tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
            return path
        except OSError:
            try:
                tmp.unlink(missing_ok=True)  # type: ignore[possibly-undefined]
            except (OSError, NameError):
                pass
            continue
    return None
