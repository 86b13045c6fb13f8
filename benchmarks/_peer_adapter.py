"""Run kamerafrei's ``pipeline/compute_exposure.py`` on a scene of ``benchmarks/peer.py``.

Usage (a child process of the benchmark)::

    python benchmarks/_peer_adapter.py PEER_DIR SCENE_DIR

The peer's field of view is the module constant ``CONE_HALF_ANGLE`` (35°, a 70° cone); it is set
to half the scene's 60° after the module is loaded and before its ``main`` runs, and the cone
radius is passed as ``--cone-radius`` (the scene's 50 m range). Nothing else of the peer is
changed. Its code is loaded from PEER_DIR (a checkout of the public repository
``leonardoalt/kamerafrei``) and never copied into this repository.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

FOV_DEG = 60.0
RANGE_M = 50.0


def main(peer_dir: str, scene_dir: str) -> int:
    script = Path(peer_dir) / "pipeline" / "compute_exposure.py"
    spec = importlib.util.spec_from_file_location("kamerafrei_compute_exposure", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.CONE_HALF_ANGLE = FOV_DEG / 2
    scene = Path(scene_dir)
    sys.argv = [str(script), "--graph", str(scene / "graph_run.pkl.gz"),
                "--cameras", str(scene / "cameras.geojson"),
                "--buildings", str(scene / "buildings.geojson"),
                "--cone-radius", f"{RANGE_M:g}"]
    return module.main()


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
