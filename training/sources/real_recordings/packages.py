"""Fetching the Debian packages of the real-recordings corpus into a cache folder.

`apt-get download` needs no root: it writes the `.deb` into the current folder (as root it warns
that the download is unsandboxed, which is harmless). `dpkg-deb -x` unpacks it without
installing anything. A machine without `apt-get` (not Debian or Ubuntu) gets a clear message and
the corpus is built from what is there. Nothing is fetched from the packages reserved for the
independent evaluation, nor any of their other versions.
"""

import logging
import os
import shutil
import subprocess
from pathlib import Path

logger = logging.getLogger(__name__)

# Reserved for independent evaluation: never download, read or train on these (any version).
RESERVED_PACKAGES = frozenset(
    {
        "bucklespring-data",
        "ufoai-sound",
        "sonic-pi-samples",
        "gcompris-qt-data",
        "tuxpaint-stamps-default",
        "sound-icons",
        "openttd-opensfx",
        "stk",
        "sound-theme-freedesktop",
        "lomiri-sounds",
        "fluid-soundfont-gm",
        "musescore-general-soundfont-small",
        "musescore-general-soundfont",
    }
)
RESERVED_PREFIXES = ("wesnoth",)

DEFAULT_CACHE = Path(os.environ.get("QRTSE_DEBIAN_CACHE", Path.home() / ".cache" / "qrtse" / "debian"))
COMPLETE_MARKER = ".unpacked"


def check_not_reserved(name: str) -> str:
    if name in RESERVED_PACKAGES or name.startswith(RESERVED_PREFIXES):
        raise ValueError(f"{name!r} is reserved for independent evaluation and must never be used")
    return name


def apt_available() -> bool:
    return shutil.which("apt-get") is not None and shutil.which("dpkg-deb") is not None


class DebianCache:
    """Unpacked Debian packages under `root/<name>/<version>/`, fetched on first use."""

    def __init__(self, root=DEFAULT_CACHE, fetch: bool = True):
        self.root, self.fetch = Path(root), fetch

    def unpacked(self, name: str, version: str) -> Path:
        return self.root / check_not_reserved(name) / version.replace(":", "%3a")

    def package_root(self, name: str, version: str) -> tuple:
        """`(folder, None)` with the unpacked package, or `(None, reason)` when it is not there
        and cannot be fetched (no apt, fetching off, or apt has no such version)."""
        folder = self.unpacked(name, version)
        if (folder / COMPLETE_MARKER).is_file():
            return folder, None
        if not self.fetch:
            return None, "not in the cache and fetching is off"
        if not apt_available():
            return None, "apt-get / dpkg-deb not found (not a Debian or Ubuntu machine)"
        downloads = self.root / "downloads"
        downloads.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            ["apt-get", "download", f"{name}={version}"], cwd=downloads, capture_output=True, text=True, check=False
        )
        debs = sorted(downloads.glob(f"{name}_*.deb"))
        wanted = [d for d in debs if d.name.split("_")[1].replace("%3a", ":") == version]
        if result.returncode != 0 or not wanted:
            reason = (result.stderr.strip().splitlines() or ["no .deb written"])[-1]
            return None, f"apt-get download {name}={version} failed: {reason}"
        if folder.exists():
            shutil.rmtree(folder)  # a half-unpacked tree from an interrupted run
        folder.mkdir(parents=True)
        subprocess.run(["dpkg-deb", "-x", str(wanted[0]), str(folder)], check=True)
        (folder / COMPLETE_MARKER).write_text(wanted[0].name + "\n")
        return folder, None
