"""Optional dependencies, and the error that says how to install a missing one.

``pip install gatkit`` brings the core: torch, numpy, scipy, tqdm, pooch and requests, enough to load Cora, build
and train every layer and analyse attention (:mod:`gatkit.attention`) and embeddings
(:mod:`gatkit.embeddings`, up to its scikit-learn parts). The rest comes with extras:

``gatkit[plot]``
    matplotlib, igraph, networkx, scikit-learn: every figure (:mod:`gatkit.viz`,
    ``gatkit visualise``), t-SNE and the silhouette score, graph conversions.
``gatkit[widgets]``
    ipywidgets (and the plot extra): the interactive panels of :mod:`gatkit.explorer`.
``gatkit[tensorboard]``
    tensorboard: ``gatkit train --enable-tensorboard``.

Code that needs an optional package gets it with :func:`require`, which imports it or raises
:class:`MissingExtraError`, an :class:`ImportError` whose message names the install command. The
command line turns that error into one line on stderr and exit code 2.

Examples
--------
>>> from gatkit.extras import require
>>> np = require("numpy", "plot", feature="this example")  # a core package: always there
>>> require("no_such_package", "plot", feature="the example")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
gatkit.extras.MissingExtraError: the example needs no_such_package, ...: pip install 'gatkit[plot]'
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["EXTRAS", "MissingExtraError", "install_command", "require"]

#: The extras and the import names of the packages each one brings.
EXTRAS: dict[str, tuple[str, ...]] = {
    "plot": ("matplotlib", "igraph", "networkx", "sklearn"),
    "widgets": ("ipywidgets", "IPython"),
    "tensorboard": ("tensorboard",),
}

# import name -> name on PyPI, where the two differ
_DISTRIBUTIONS = {"sklearn": "scikit-learn", "IPython": "ipython"}


class MissingExtraError(ImportError):
    """An optional package is missing; the message says which extra to install, and how.

    Attributes
    ----------
    extra : str
        The extra that brings the package (``"plot"``, ``"widgets"``, ...).
    """

    def __init__(self, message: str, *, name: str | None = None, extra: str):
        super().__init__(message, name=name)
        self.extra = extra


def install_command(extra: str) -> str:
    """The shell command that installs ``extra``: ``pip install 'gatkit[plot]'``."""
    if extra not in EXTRAS:
        raise ValueError(f"extra must be one of {', '.join(EXTRAS)}, got {extra!r}")
    return f"pip install 'gatkit[{extra}]'"


def require(module: str, extra: str, *, feature: str) -> ModuleType:
    """Import ``module`` (e.g. ``"matplotlib.pyplot"``), or say which extra to install.

    Parameters
    ----------
    module : str
        The dotted import name.
    extra : str
        The extra that brings it (a key of :data:`EXTRAS`).
    feature : str
        What needs it, for the message: ``"gatkit.viz"``, ``"the silhouette score"``.

    Returns
    -------
    types.ModuleType
        The imported module.

    Raises
    ------
    MissingExtraError
        When the import fails; chained to the original :class:`ImportError`.
    """
    command = install_command(extra)
    try:
        return importlib.import_module(module)
    except ImportError as error:
        root = module.split(".")[0]
        missing = error.name.split(".")[0] if error.name else root
        package = _DISTRIBUTIONS.get(missing, missing)
        raise MissingExtraError(f"{feature} needs {package}, which is not installed; install the "
                                f"{extra} extra: {command}", name=error.name, extra=extra) from error
