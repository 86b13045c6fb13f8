"""numba for the coverage kernels, imported only when a kernel is JIT-dispatched.

The kernel modules decorate their functions with :func:`njit` and use :data:`prange` from here,
not from numba. Until numba is needed, :func:`njit` returns a :class:`LazyKernel` that holds the
Python function and the decorator's options: importing every kernel module costs no numba import
(≈ 0.5 s of CPU). A run whose kernels come from the ahead-of-time extension
(:mod:`survatlas.coverage._compiled`) never imports numba at all. The first call (or attribute
access) of a lazy kernel calls :func:`activate`: it imports numba, makes each lazy kernel's real
dispatcher with its options, and replaces the lazy kernels and :data:`prange` in the globals of
every loaded ``survatlas`` module, so numba compiles kernels that call each other as before
(numba resolves a callee through the caller's module globals). Kernel modules imported after
that get real dispatchers directly.

numba's first dispatch builds its typing and target contexts. Loading its array-math registry
checks for BLAS by importing ``scipy.linalg.cython_blas``, which pulls in ``scipy.linalg`` (≈ 0.3 s
of CPU), and its CFFI support builds a ``cffi.FFI()`` (parsing C declarations with pycparser).
The coverage kernels use no BLAS (no ``np.dot``, ``@`` or ``np.linalg``; a test checks) and no
CFFI functions, so :func:`activate` first loads those two numba modules with the probes' imports
refused (:func:`load_array_math`). scipy and cffi stay importable: the refusal is lifted at once.
"""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Callable
from typing import Any

#: numba module -> the modules it imports to probe for an optional feature (refused while it
#: loads) and the module whose presence means the probe's cost is paid already
_PROBES = {
    "numba.np.arraymath": (("scipy.linalg.cython_blas", "scipy.linalg.cython_lapack"),
                           "scipy.linalg"),
    "numba.core.typing.cffi_utils": (("cffi",), "cffi"),
}

_MISSING = object()
_LOCK = threading.RLock()
#: the numba module once :func:`activate` ran
_NUMBA: list[Any] = []
#: every lazy kernel made before activation
_LAZY: list[LazyKernel] = []


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


class _Prange:
    """Stand-in for ``numba.prange`` until numba is imported (``range`` when called)."""

    def __call__(self, *args: int) -> range:
        return range(*args)

    def __repr__(self) -> str:
        return "survatlas.coverage._jit.prange"


#: ``numba.prange`` in kernels (replaced by numba's own in the kernel modules on activation)
prange: Any = _Prange()


class LazyKernel:
    """A kernel whose numba dispatcher is made on first use (see the module docstring).

    Attributes
    ----------
    py_func
        The Python function (what numba and the ahead-of-time build compile).
    options
        The :func:`njit` options (``cache``, ``parallel``, ``inline``, …).
    """

    def __init__(self, fn: Callable, options: dict[str, Any]) -> None:
        self.py_func = fn
        self.options = options
        self.dispatcher: Any = None
        self.__name__ = fn.__name__
        self.__qualname__ = fn.__qualname__
        self.__module__ = fn.__module__
        self.__doc__ = fn.__doc__

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        activate()
        return self.dispatcher(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        activate()
        return getattr(self.dispatcher, name)

    def __repr__(self) -> str:
        return f"<lazy numba kernel {self.__module__}.{self.__qualname__}>"


def njit(*args: Any, **options: Any) -> Any:
    """``numba.njit`` made lazy: the same decorator, numba imported on the kernel's first use.

    Examples
    --------
    >>> from survatlas.coverage._jit import njit
    >>> @njit(cache=False)
    ... def twice(x):
    ...     return 2 * x
    >>> twice(21)
    42
    """
    if args and callable(args[0]) and len(args) == 1 and not options:
        return _decorate(args[0], {})
    if args:
        raise TypeError("survatlas' njit takes keyword options only (no signatures)")
    return lambda fn: _decorate(fn, options)


def _decorate(fn: Callable, options: dict[str, Any]) -> Any:
    with _LOCK:
        if _NUMBA:
            return _NUMBA[0].njit(**options)(fn)
        lazy = LazyKernel(fn, options)
        _LAZY.append(lazy)
        return lazy


def activated() -> bool:
    """Whether numba was imported for the kernels in this process."""
    return bool(_NUMBA)


def activate() -> Any:
    """Import numba (without its BLAS and CFFI probes) and turn every lazy kernel into its
    dispatcher, in the globals of every loaded ``survatlas`` module; returns numba.

    Examples
    --------
    >>> from survatlas.coverage._jit import activate
    >>> activate().__name__
    'numba'
    """
    if _NUMBA:
        return _NUMBA[0]
    with _LOCK:
        if _NUMBA:
            return _NUMBA[0]
        load_array_math()
        import numba

        sentinel = prange
        swap: dict[int, Any] = {id(sentinel): numba.prange}
        for lazy in _LAZY:
            lazy.dispatcher = numba.njit(**lazy.options)(lazy.py_func)
            swap[id(lazy)] = lazy.dispatcher
        for name, module in list(sys.modules.items()):
            if module is None or not name.startswith("survatlas."):
                continue
            space = vars(module)
            for key, value in list(space.items()):
                if id(value) in swap and (value is sentinel or isinstance(value, LazyKernel)):
                    space[key] = swap[id(value)]
        _NUMBA.append(numba)
        return numba


def num_threads() -> int:
    """numba's current thread count (imports numba)."""
    return int(activate().get_num_threads())
