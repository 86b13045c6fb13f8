"""Compile the coverage kernels ahead of time into ``survatlas.coverage._aot`` (a ``.so``).

Run by ``make install``; takes a minute or two. The kernels are the numba functions of
``survatlas/coverage`` (their ``py_func``, one source of truth); the signatures and the list of
exported kernels are :data:`survatlas.coverage._compiled.SIGNATURES`. The module also exports
``source_hash()``, the hash of the sources it was built from, which the run-time check compares
with the current sources (a stale build is ignored; see ``survatlas.coverage._compiled``).

Usage::

    python scripts/build_kernels.py            # build unless a current build is present
    python scripts/build_kernels.py --force    # build again
    python scripts/build_kernels.py --check    # exit 1 unless the build is current
"""

from __future__ import annotations

import argparse
import importlib
import shutil
import sys
import tempfile
import time
from pathlib import Path


def _serial_callees(jit) -> None:
    """Make numba's kernels serial in the kernel modules' globals: an exported kernel that
    calls a ``parallel=True`` kernel must not link numba's thread pool (absent without numba)."""
    import numba

    jit.activate()  # kernel modules hold numba dispatchers (numba.prange in their globals)
    swap = {}
    for lazy in jit._LAZY:
        if lazy.options.get("parallel"):
            options = {**lazy.options, "parallel": False, "cache": False}
            swap[id(lazy.dispatcher)] = numba.njit(**options)(lazy.py_func)
    for name, module in list(sys.modules.items()):
        if module is not None and name.startswith("survatlas."):
            space = vars(module)
            for key, value in list(space.items()):
                if id(value) in swap:
                    space[key] = swap[id(value)]


def build(out_dir: Path) -> Path:
    """Compile every kernel of ``SIGNATURES`` and ``source_hash()`` into ``out_dir``; returns
    the extension's path (written through a temporary directory, then moved into place)."""
    from numba.pycc import CC

    from survatlas.coverage import _compiled, _jit

    _serial_callees(_jit)
    cc = CC(_compiled.EXTENSION.rsplit(".", 1)[1])
    cc.verbose = False
    for name in _compiled.SIGNATURES:
        module, function = _compiled.source_function(name)
        fn = getattr(importlib.import_module(module), function)
        cc.export(name, _compiled.signature(name))(fn.py_func)
    digest = _compiled.source_digest()
    namespace: dict = {}
    exec(f"def source_hash():\n    return {digest}\n", namespace)
    cc.export("source_hash", "i8()")(namespace["source_hash"])
    with tempfile.TemporaryDirectory() as tmp:
        cc.output_dir = tmp
        cc.compile()
        (built,) = Path(tmp).glob(f"{cc.name}*")
        target = out_dir / built.name
        for old in out_dir.glob(f"{cc.name}.*"):
            if old.suffix in {".so", ".pyd"}:
                old.unlink()
        shutil.move(str(built), target)
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="build even if current")
    parser.add_argument("--check", action="store_true", help="exit 1 unless current")
    args = parser.parse_args()
    from survatlas.coverage import _compiled

    state = _compiled.status()
    if args.check:
        print(f"ahead-of-time coverage kernels: {state}")
        return 0 if state == "current" else 1
    if state == "current" and not args.force:
        print("ahead-of-time coverage kernels: current")
        return 0
    start = time.perf_counter()
    out_dir = Path(_compiled.__file__).resolve().parent
    target = build(out_dir)
    print(f"ahead-of-time coverage kernels: built {target.name} "
          f"({len(_compiled.SIGNATURES)} kernels, {time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
