"""gatkit: the reference code of the course *Graph Attention Networks from scratch*."""

import warnings

__version__ = "0.1.0"

# PyTorch warns once per process that sparse CSR tensors are "beta". The course uses them only
# for storing features and for well-supported products, so the warning would only distract.
warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")

from gatkit.data import DataError, Planetoid, load_dataset, load_planetoid  # noqa: E402
from gatkit.layers import GAT  # noqa: E402
from gatkit.batch import Graph, GraphBatch, collate  # noqa: E402
from gatkit.lookup import LookupSplit, dictionary_lookup  # noqa: E402

__all__ = ["GAT", "DataError", "Planetoid", "load_dataset", "load_planetoid", "__version__",
           "Graph", "GraphBatch", "collate", "LookupSplit", "dictionary_lookup"]
