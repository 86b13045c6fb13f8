"""numba set up for the coverage kernels: their first dispatch without scipy or cffi.

The first call of any numba function builds numba's typing and target contexts. Loading its
array-math registry checks for BLAS by importing ``scipy.linalg.cython_blas``, which pulls in
``scipy.linalg`` (≈ 0.3 s of CPU in every process that runs a kernel, a third of numba's first
dispatch), and its CFFI support builds a ``cffi.FFI()`` (parsing C declarations with
pycparser). The coverage kernels use no BLAS (no ``np.dot``, ``@`` or ``np.linalg``; a test
checks) and no CFFI functions, so :func:`load_array_math` loads those two numba modules with
the probes' imports refused, once, before any kernel runs. scipy and cffi stay importable: the
refusal is lifted at once.
"""

from __future__ import annotations

import importlib
import sys

#: numba module -> the modules it imports to probe for an optional feature (refused while it
#: loads) and the module whose presence means the probe's cost is paid already
_PROBES = {
    "numba.np.arraymath": (("scipy.linalg.cython_blas", "scipy.linalg.cython_lapack"),
                           "scipy.linalg"),
    "numba.core.typing.cffi_utils": (("cffi",), "cffi"),
}

_MISSING = object()


def load_array_math() -> list[str]:
    """Import numba's array math and CFFI support without their probes importing scipy/cffi.

    Returns
    -------
    list of str
        The numba modules this call loaded without their optional feature; none when each was
        loaded already (by earlier numba use in this process) or its probe's library was
        imported already (the probe then costs nothing).

    Examples
    --------
    >>> from survatlas.coverage._jit import load_array_math
    >>> isinstance(load_array_math(), list)
    True
    """
    loaded = []
    for module, (probes, paid) in _PROBES.items():
        if module in sys.modules or paid in sys.modules:
            continue
        saved = {name: sys.modules.get(name, _MISSING) for name in probes}
        try:
            for name in probes:
                sys.modules[name] = None  # type: ignore[assignment]  # import raises ImportError
            importlib.import_module(module)
        finally:
            for name, value in saved.items():
                if value is _MISSING:
                    sys.modules.pop(name, None)
                else:
                    sys.modules[name] = value
        loaded.append(module)
    return loaded


load_array_math()  # on import: the package imports this module before any kernel module
