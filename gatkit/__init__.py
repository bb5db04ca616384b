"""gatkit: the reference code of the course *Graph Attention Networks from scratch*."""

__version__ = "0.1.0"

from gatkit.data import DataError, Planetoid, load_planetoid  # noqa: E402

__all__ = ["DataError", "Planetoid", "load_planetoid", "__version__"]
