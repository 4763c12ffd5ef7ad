"""Debian's Chromium for the browser and PDF tests: found, or installed with apt-get, or a clear error (never a skip)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

PACKAGES = ["chromium", "fonts-wqy-microhei", "libatomic1"]
"""The browser, the CJK font the pages and PDF sheets are checked with, and the library Playwright's own node
needs (absent from a minimal Debian: a fresh debootstrap'd bookworm showed it)."""

INSTALL = "apt-get update && apt-get install -y " + " ".join(PACKAGES)


def find() -> Path | None:
    """Debian's Chromium: PLANNER_CHROMIUM, /usr/bin/chromium, or chromium on PATH."""
    for cand in (os.environ.get("PLANNER_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if cand and Path(cand).is_file() and os.access(cand, os.X_OK):
            return Path(cand)
    return None


def _font_missing() -> bool:
    return not Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc").exists()


def _libatomic_missing() -> bool:
    import ctypes.util

    return ctypes.util.find_library("atomic") is None


def ensure() -> tuple[Path | None, str]:
    """Chromium (and the font), installing the Debian packages when missing; (path or None, what happened)."""
    found = find()
    if found is not None and not _font_missing() and not _libatomic_missing():
        return found, ""
    if shutil.which("apt-get") is None:
        return found, ("no apt-get here: install Chromium, the WenQuanYi Micro Hei font and libatomic yourself, "
                       "or set PLANNER_CHROMIUM")
    sudo = [] if os.geteuid() == 0 else (["sudo", "-n"] if shutil.which("sudo") else None)
    if sudo is None:
        return found, f"not root and no sudo: run `{INSTALL}` as root"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *PACKAGES]):
        done = subprocess.run([*sudo, *cmd], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or [""]
            return find(), f"`{' '.join([*sudo, *cmd])}` failed ({tail[0]}): run `{INSTALL}` as root"
    return find(), f"installed {' '.join(PACKAGES)} with apt-get"
