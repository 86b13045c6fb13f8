"""The coverage kernels compiled ahead of time, when that build is present and current.

``scripts/build_kernels.py`` (run by ``make install``) compiles the kernels a coverage run
dispatches — the same Python functions as the numba JIT path, from ``_kernel.py``,
``_kernel25.py`` and ``_regions_nb.py`` — with ``numba.pycc`` into the extension module
``survatlas.coverage._aot`` (a git-ignored ``.so`` beside this file). Loading it imports no numba:
a small coverage run saves numba's import and first dispatch (≈ 1.2 s of CPU, about half of a
2 km street run).

The build embeds :func:`source_digest` — a hash of every module its kernels are compiled from,
of this module (the signatures) and of numpy's version — and :func:`extension` uses the build
only when that hash equals the current sources' hash: editing a kernel without rebuilding falls
back to the numba JIT kernels (no error), so old code can never run silently. ``SURVATLAS_AOT=0``
in the environment turns the build off (the JIT kernels everywhere).

The ahead-of-time kernels are serial (numba's ``prange`` is ``range`` outside parallel mode).
:func:`serial` decides, per call, whether a run of ``n`` views takes them or the parallel JIT
kernels (see :data:`PARALLEL_MIN_VIEWS`).
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: the extension module the build writes
EXTENSION = "survatlas.coverage._aot"

#: coverage modules the exported kernels are compiled from, with every coverage module they
#: import (numba compiles the functions they call and freezes the globals they read); the hash
#: covers all of them (a test checks that the list is closed under their imports)
SOURCES = ("_kernel", "_kernel25", "_regions_nb", "_layers_nb", "_walls", "_inside", "_grid",
           "_raster", "obstacles", "_footprints", "aggregate", "regions", "_jit", "_compiled")

_F = "f8[::1]"
_I = "i8[::1]"
_I4 = "i4[::1]"
_RO = "Array(float64, 1, 'C', readonly=True)"


_VIEWS = (_F,) * 5  # x, y, start, fov, radius
_GRID = ("f8", "f8", "f8", "i8", "i8", _I, _I4)  # gx0, gy0, inv, nx, ny, cell_start, cell_items
_CSR = (_I, _F, _F)  # offsets, angles, radii

#: exported kernel -> (module, return type, argument types[, function]); the build compiles
#: ``module.function.py_func`` (``function`` defaults to the exported name) for that signature
SIGNATURES: dict[str, tuple] = {
    "view_loads": ("_kernel", f"UniTuple({_I}, 2)", (*_VIEWS, "f8", *_GRID[:5], _I)),
    "run_views": ("_kernel", f"Tuple(({_F}, {_F}, {_I}, i1[::1], {_F}, {_F}, {_I}))",
                  (*_VIEWS, "b1[::1]", _I, _I, _I, _I, _F, _F, _F, _F, _I4, _I, *_GRID, "f8",
                   "f8", "f8", "i8")),
    "compact": ("_kernel", f"Tuple(({_I}, {_F}, {_F}))", (_F, _F, _I, _I)),
    "run_views25": ("_kernel25", f"Tuple(({_F}, {_F}, {_I}, {_I}, i1[::1], {_F}, {_F}))",
                    (*_VIEWS, _RO, _RO, "b1[::1]", _I, _I, _F, _F, _F, _F, _I4, _I, _F, _F,
                     *_GRID, "f8", "f8", "f8", _I, "i8")),
    "areas": ("_regions_nb", _F, (*_CSR, _F)),
    "region_boxes": ("_regions_nb", "f8[:, ::1]", (*_CSR, _F, _F, _F, _F)),
    "clip_pairs": ("_regions_nb", f"Tuple(({_I}, {_F}, {_F}))",
                   (_I, _F, _F, _F, _F, *_CSR, _F, _F, _F)),
    "merge_sorted": ("_regions_nb", f"Tuple(({_I}, {_F}, {_F}))", (_I, _F, _F)),
    "clip_any": ("_layers_nb", f"Tuple(({_I}, {_F}, {_F}))",
                 (_I, _F, _F, _F, _F, *_CSR, _F, _F, _F, _I)),
    # preparing the obstacles (the first run on a store's buildings)
    "ring_areas": ("_footprints", _F, ("f8[:, ::1]", _I)),
    "convex_exteriors": ("_footprints", "b1[::1]", ("f8[:, ::1]", _I, _I)),
    "convex_overlaps": ("_footprints", f"UniTuple({_F}, 2)",
                        (_I, _I, "f8[:, ::1]", _I, _I, "b1[::1]"), "_convex_overlaps"),
    # areas and H3 (a run that computes them); "~": filled in place (checked, never copied)
    "raster_counts": ("_regions_nb", "none", ("~i4[:, ::1]", *_CSR, _F, _F, _F, _F, _F, _F,
                                               _F, _F, "f8", "f8", "f8", "i8", "i8", "i8")),
    "winding": ("_raster", "none", ("~i4[:, ::1]", _F, _F, _F, _F, "f8", "f8", "f8"),
                "_winding"),
    "views_seeing_any": ("aggregate", "b1[::1]", (_I, _F, _F, "f8[:, ::1]", *_CSR, _F, _F, _F,
                                                   _F, _I), "_views_seeing_any"),
    "label_fill": ("_raster", "none", ("~i8[:, ::1]", "~b1[:, ::1]", _F, _F, _I, "f8", "f8",
                                       "f8", "f8")),
    "build_csr": ("_grid", f"Tuple(({_I}, {_I4}))", (_F, _F, _F, _F, "f8", "f8", "f8", "i8",
                                                       "i8"), "_build_csr"),
}

#: numpy dtype of an array argument type, by its numba prefix
_DTYPES = {"f8": "float64", "i8": "int64", "i4": "int32", "i1": "int8", "b1": "bool",
           "Array(float64": "float64"}


def signature(name: str) -> str:
    """numba signature of the exported kernel ``name`` (as ``numba.pycc`` takes it)."""
    _, ret, args = SIGNATURES[name][:3]
    return f"{ret}({', '.join(a.lstrip('~') for a in args)})"


def source_function(name: str) -> tuple[str, str]:
    """``(module, function)`` the exported kernel ``name`` is compiled from."""
    entry = SIGNATURES[name]
    return f"survatlas.coverage.{entry[0]}", entry[3] if len(entry) > 3 else name


def _converter(arg: str) -> Callable[[Any], Any]:
    """Argument conversion for one argument type: compiled code reads its memory as declared
    (it checks neither dtype nor layout), so arrays are made contiguous of the right dtype."""
    import numpy as np

    if arg.startswith("~"):  # written in place: a copy would lose the output
        dtype = np.dtype(_DTYPES[arg[1:].split("[")[0]])
        return functools.partial(_in_place, dtype=dtype)
    if "[" in arg or arg.startswith("Array("):
        dtype = np.dtype(_DTYPES[arg.split("[")[0].split(",")[0]])
        return functools.partial(np.ascontiguousarray, dtype=dtype)
    return float if arg.startswith("f") else int


def _in_place(a: Any, dtype: Any) -> Any:
    if not (getattr(a, "dtype", None) == dtype and a.flags.c_contiguous and a.flags.writeable):
        raise TypeError(f"an output array must be a writeable C-contiguous {dtype} array")
    return a


def _checked(fn: Callable, args: tuple[str, ...]) -> Callable:
    convert = [_converter(a) for a in args]

    def call(*values: Any) -> Any:
        if len(values) != len(convert):
            raise TypeError(f"{fn.__name__} takes {len(convert)} arguments, got {len(values)}")
        return fn(*(c(v) for c, v in zip(convert, values, strict=True)))

    call.__name__ = call.__qualname__ = fn.__name__
    call.__doc__ = f"Ahead-of-time {fn.__name__} (arguments converted to its signature)."
    return call


#: from this many views on, a kernel pass takes numba's parallel JIT kernels when numba has
#: more than one thread (their import and first dispatch, ≈ 1.2 s of CPU, is then repaid by the
#: threads); measured in docs/benchmarks.md ("fourth round")
PARALLEL_MIN_VIEWS = 200_000

#: blocks of views per serial kernel call (sizes their scratch arrays; results do not depend
#: on it)
SERIAL_BLOCKS = 16


def source_digest(root: Path | None = None) -> int:
    """63-bit hash of the kernels' sources, their signatures and numpy's version.

    Parameters
    ----------
    root
        Directory holding the :data:`SOURCES` modules (default: this package).

    Examples
    --------
    >>> source_digest() == source_digest() > 0
    True
    """
    import numpy as np

    h = hashlib.blake2b(digest_size=8)
    here = Path(__file__).resolve().parent if root is None else Path(root)
    for name in SOURCES:
        h.update(name.encode() + b"\0" + (here / f"{name}.py").read_bytes() + b"\0")
    h.update(np.__version__.encode())
    return int.from_bytes(h.digest(), "little") >> 1


def disabled() -> bool:
    """Whether ``SURVATLAS_AOT=0`` turns the ahead-of-time kernels off."""
    return os.environ.get("SURVATLAS_AOT", "1").strip().lower() in {"0", "no", "false", "off"}


@functools.cache
def _load() -> Any:
    try:
        ext = importlib.import_module(EXTENSION)
    except ImportError:  # not built (or built for another Python/numpy): the JIT kernels
        return None
    if getattr(ext, "source_hash", lambda: -1)() != source_digest():
        return None  # built from other sources: never run old code
    return ext


def extension() -> Any:
    """The ahead-of-time extension module, or None when absent, stale or turned off."""
    return None if disabled() else _load()


def status() -> str:
    """``"current"``, ``"stale"``, ``"missing"`` or ``"off"``: the state of the build."""
    if disabled():
        return "off"
    if _load() is not None:
        return "current"
    try:
        importlib.import_module(EXTENSION)
    except ImportError:
        return "missing"
    return "stale"


@functools.cache
def _aot_kernel(name: str) -> Callable:
    return _checked(getattr(_load(), name), SIGNATURES[name][2])


def kernel(name: str, jit: Callable) -> Callable:
    """The ahead-of-time kernel ``name`` when the build is current, else ``jit``.

    Parameters
    ----------
    name
        An exported kernel (a key of :data:`SIGNATURES`).
    jit
        The numba kernel of the same name (used when the build is absent, stale or off).
    """
    return jit if extension() is None else _aot_kernel(name)


def serial(n_views: int, threads: int | None = None) -> bool:
    """Whether a pass over ``n_views`` views runs the serial ahead-of-time kernels.

    They do when the build is current and either one thread is asked for, or no thread count
    is asked for and the pass has fewer than :data:`PARALLEL_MIN_VIEWS` views; otherwise numba's
    parallel JIT kernels run.
    """
    if extension() is None:
        return False
    if threads is not None:
        return int(threads) <= 1
    return n_views < PARALLEL_MIN_VIEWS
