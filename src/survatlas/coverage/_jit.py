"""numba set up for the coverage kernels: their first dispatch without scipy.

The first call of any numba function builds numba's typing and target contexts; loading its
array-math registry checks for BLAS by importing ``scipy.linalg.cython_blas``, which pulls in
``scipy.linalg`` (≈ 0.3 s of CPU in every process that runs a kernel, a third of numba's first
dispatch). The coverage kernels use no BLAS (no ``np.dot``, ``@`` or ``np.linalg``; a test
checks), so :func:`load_array_math` loads that registry with the BLAS import refused, once,
before any kernel runs. scipy itself stays importable: the refusal is lifted at once.
"""

from __future__ import annotations

import sys

#: modules numba imports to probe for BLAS/LAPACK; refused while its array math loads
_BLAS_PROBES = ("scipy.linalg.cython_blas", "scipy.linalg.cython_lapack")

_MISSING = object()


def load_array_math() -> bool:
    """Import ``numba.np.arraymath`` without its BLAS probe importing scipy.

    Returns
    -------
    bool
        True when this call loaded it without BLAS; False when it was already loaded (by
        earlier numba use in this process, with or without BLAS) or scipy was already imported
        (the probe then costs nothing).

    Examples
    --------
    >>> from survatlas.coverage._jit import load_array_math
    >>> load_array_math() in (True, False)
    True
    """
    if "numba.np.arraymath" in sys.modules or "scipy.linalg" in sys.modules:
        return False
    saved = {name: sys.modules.get(name, _MISSING) for name in _BLAS_PROBES}
    try:
        for name in _BLAS_PROBES:
            sys.modules[name] = None  # type: ignore[assignment]  # import raises ImportError
        import numba.np.arraymath  # noqa: F401
    finally:
        for name, module in saved.items():
            if module is _MISSING:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
    return True


load_array_math()  # on import: every kernel module imports this one before its first dispatch
