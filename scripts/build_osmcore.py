"""Compile the OSM read loop (``src/survatlas/ingest/_osmcore.cpp``) into ``survatlas.ingest._osmcore``.

Run by ``make osmcore`` (``make demo`` and ``make test`` depend on it); needs g++, Python's
headers and libosmium's (Debian: ``libosmium2-dev libprotozero-dev zlib1g-dev libbz2-dev
libexpat1-dev``). The extension lands beside its source (git-ignored) and carries the hash of
the source it was built from: the importer ignores a stale build and reads with pyosmium
(:mod:`survatlas.ingest._osmcompiled`).

Usage::

    python scripts/build_osmcore.py            # build unless a current build is present
    python scripts/build_osmcore.py --force    # build again
    python scripts/build_osmcore.py --check    # exit 1 unless the build is current
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src" / "survatlas" / "ingest" / "_osmcore.cpp"
sys.path.insert(0, str(ROOT / "src"))

from survatlas.ingest._osmcompiled import current_build, source_digest  # noqa: E402


def command(source: Path, target: Path, digest: str) -> list[str]:
    """The g++ command line that builds ``target`` from ``source``."""
    return [
        os.environ.get("CXX", "g++"),
        "-O2",
        "-std=c++17",
        "-shared",
        "-fPIC",
        "-fvisibility=hidden",
        f"-I{sysconfig.get_paths()['include']}",
        f'-DSOURCE_HASH="{digest}"',
        str(source),
        "-o",
        str(target),
        "-pthread",
        "-lz",
        "-lbz2",
        "-lexpat",
    ]


def build() -> Path:
    """Compile through a temporary file, then move it into place; returns its path."""
    target = SOURCE.with_name("_osmcore" + sysconfig.get_config_var("EXT_SUFFIX"))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / target.name
        subprocess.run(command(SOURCE, out, source_digest()), check=True)
        shutil.move(str(out), target)
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="build even if current")
    parser.add_argument("--check", action="store_true", help="exit 1 unless current")
    args = parser.parse_args()
    current = current_build() is not None
    if args.check:
        print("current" if current else "missing or stale")
        return 0 if current else 1
    if current and not args.force:
        print("the OSM reader extension is current")
        return 0
    start = time.perf_counter()
    target = build()
    print(f"built {target.relative_to(ROOT)} in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
