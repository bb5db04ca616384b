"""Graph attention layers (Veličković et al., ICLR 2018): three implementations and the GAT model.

One layer computes, for every target node ``i`` and head ``h``,

    z_j = W x_j,    e_ij = LeakyReLU(a_dst[h] . z_i[h] + a_src[h] . z_j[h]),
    alpha_ij = softmax of e_ij over the incoming edges j -> i of i,
    h'_i[h] = sum_j alpha_ij z_j[h],

then concatenates the heads (hidden layers) or averages them (the output layer). The three
implementations below compute exactly this function with the same parameters (one state dict
loads into all three) and differ only in how they lay the computation out in memory:

* :class:`GATLayerDense` (implementation 1): per-head dense ``(H, N, N)`` score matrices, the
  heads as a batch of matrix products; neighbours selected by multiplying with the 0/1 adjacency.
* :class:`GATLayerMasked` (implementation 2): the layout of the authors' TensorFlow code, one
  projection matmul and an additive ``-inf`` mask before ``softmax``.
* :class:`GATLayerEdge` (implementation 3): an edge list, O(E) memory, with a per-target stable
  softmax built from ``scatter_reduce`` and ``index_add``.

Each ``_attend`` is a few calls of :mod:`gatkit.functional`, the equations as small functions;
:class:`GATLayer` holds what the three share (parameters ``W``, ``a_src``, ``a_dst``).
The fast paths for sparse input and dropout are isolated in :mod:`gatkit.ops`.

:class:`GATv2LayerEdge` is GATv2 (Brody, Alon and Yahav, ICLR 2022), which moves ``a`` outside
the nonlinearity::

    e_ij = a[h] . LeakyReLU(W_dst x_i + W_src x_j)[h],    h'_i[h] = sum_j alpha_ij (W_src x_j)[h].

GAT's LeakyReLU is monotone, so every target ranks its neighbours ``j`` in one order, that of
``a_src . z_j`` ("static" attention); in GATv2 the ranking can depend on the target ("dynamic").
:class:`GraphAttentionLayer` holds what every layer here shares (input checks, dropout, heads,
residual, bias); ``GAT(..., attention="gatv2")`` builds the model from GATv2 layers.

Notation (as in the whole course): N nodes, E edges (self-loops included), F input features,
F' features per head, H heads. ``edge_index`` is int64 ``(2, E)``, row 0 the source ``j``, row 1
the target ``i``; messages flow ``j -> i``. The layers add no self-loops: pass
``edge_index_with_self_loops`` (or :func:`gatkit.edges.add_self_loops`) for the paper's model.

Examples
--------
>>> import torch
>>> from gatkit.layers import GAT
>>> _ = torch.manual_seed(0)
>>> model = GAT([4, 8, 3], [2, 1], dropout=0.0)
>>> x = torch.randn(5, 4)                                         # (N, F)
>>> edge_index = torch.tensor([[0, 1, 2, 3, 4, 1], [0, 1, 2, 3, 4, 0]])  # self-loops and 1 -> 0
>>> model(x, edge_index).shape                                    # (N, C)
torch.Size([5, 3])
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gatkit.edges import to_dense_adjacency, validate_edge_index
from gatkit.functional import (combine_heads, connectivity_mask, dense_scores, dense_softmax,
                               edge_coefficients, edge_scores, gatv2_scores, masked_attention,
                               neighbourhood_softmax, node_scores, project_heads)
from gatkit.ops import aggregate, dropout, linear

__all__ = [
    "ATTENTION_TYPES",
    "GAT",
    "GATLayer",
    "GATLayerDense",
    "GATLayerEdge",
    "GATLayerMasked",
    "GATv2LayerEdge",
    "GraphAttentionLayer",
    "LAYER_TYPES",
    "NoGraphLayer",
    "UniformLayerEdge",
]


def _check_positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


def _check_probability(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} is a dropout probability and must lie in [0, 1], got {value!r}")
    return float(value)


class GraphAttentionLayer(nn.Module):
    """Shared base of every attention layer here: settings, validation, dropout, heads, residual, bias.

    A subclass creates its own projection and attention parameters (:meth:`_create_weights`,
    called before the residual projection and the bias are created, which keeps the parameter
    order, and so the optimiser's, and the seeded initialisation of the GAT layers as they were
    before GATv2), initialises them (:meth:`reset_parameters`, then ``super()``'s) and
    implements :meth:`_attend`, the attention and aggregation step. Everything else (the input
    checks, input dropout, concatenating or averaging the heads, the residual connection and the
    bias) lives here, so that the layers cannot drift apart. Use :class:`GATLayer`'s three
    implementations or :class:`GATv2LayerEdge`.

    Parameters
    ----------
    in_features : int
        F, the width of the input ``x``.
    out_features : int
        F', the features each head produces.
    heads : int, default 1
        H, the number of independent attention heads.
    concat : bool, default True
        Concatenate the heads to ``(N, H * F')`` (hidden layers) or average them to ``(N, F')``
        (the paper's output layer).
    dropout : float, default 0.0
        Dropout probability on the layer's input ``x`` (train mode only).
    attention_dropout : float, default 0.0
        Dropout probability on the normalised coefficients ``alpha`` (train mode only): each
        node then aggregates over a random subset of its neighbourhood.
    value_dropout : float, default 0.0
        Dropout probability on the projected features ``z`` that are aggregated (train mode
        only). The authors' code applies its input dropout here a second time; on Citeseer it
        is worth about two points of test accuracy.
    negative_slope : float, default 0.2
        Slope of the LeakyReLU applied in the scores.
    residual : bool, default False
        Add a learned linear projection of the (dropped-out) input to the output.
    bias : bool, default True
        Add a learned bias to the output.

    Attributes
    ----------
    bias : torch.nn.Parameter or None
        ``(H * F',)`` if ``concat`` else ``(F',)``.
    residual : torch.nn.Linear or None
        ``residual.weight`` is ``(H * F' or F', F)``, no bias.
    """

    def __init__(self, in_features: int, out_features: int, heads: int = 1, *, concat: bool = True,
                 dropout: float = 0.0, attention_dropout: float = 0.0, value_dropout: float = 0.0,
                 negative_slope: float = 0.2, residual: bool = False, bias: bool = True) -> None:
        super().__init__()
        self.in_features = _check_positive_int("in_features", in_features)
        self.out_features = _check_positive_int("out_features", out_features)
        self.heads = _check_positive_int("heads", heads)
        self.concat = bool(concat)
        self.dropout = _check_probability("dropout", dropout)
        self.attention_dropout = _check_probability("attention_dropout", attention_dropout)
        self.value_dropout = _check_probability("value_dropout", value_dropout)
        if isinstance(negative_slope, bool) or not isinstance(negative_slope, (int, float)) or negative_slope < 0:
            raise ValueError(f"negative_slope must be a float >= 0 (the paper uses 0.2), got {negative_slope!r}")
        self.negative_slope = float(negative_slope)

        out_total = heads * out_features if self.concat else out_features
        self._create_weights()  # the subclass's projection(s) and attention vector(s)
        self.residual = nn.Linear(in_features, out_total, bias=False) if residual else None
        if bias:
            self.bias = nn.Parameter(torch.empty(out_total))  # (H*F',) or (F',)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def _create_weights(self) -> None:
        """Register the projection(s) and attention vector(s): what tells the layers apart."""
        raise NotImplementedError("GraphAttentionLayer is the shared base class; use GATLayerEdge "
                                  "(or GATLayerDense, GATLayerMasked) or GATv2LayerEdge")

    def reset_parameters(self) -> None:
        """Glorot-uniform residual projection; zero bias (subclasses initialise their weights first)."""
        if self.residual is not None:
            nn.init.xavier_uniform_(self.residual.weight)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def extra_repr(self) -> str:
        return (f"{self.in_features}, {self.out_features}, heads={self.heads}, concat={self.concat}, "
                f"dropout={self.dropout}, attention_dropout={self.attention_dropout}, "
                f"value_dropout={self.value_dropout}, "
                f"negative_slope={self.negative_slope}, residual={self.residual is not None}, "
                f"bias={self.bias is not None}")

    # -- the parts every layer shares -----------------------------------------------------------

    def validate(self, x: object, edge_index: object) -> None:
        """Raise ``ValueError`` (saying how to fix it) unless ``x`` and ``edge_index`` fit this layer."""
        if not isinstance(x, Tensor):
            raise ValueError(f"x must be a torch.Tensor of node features (N, F), got {type(x).__name__}")
        if x.layout not in (torch.strided, torch.sparse_csr):
            raise ValueError(f"x must be a dense or sparse CSR tensor, got layout {x.layout}; "
                             "use x.to_sparse_csr() or x.to_dense()")
        if x.dim() != 2:
            raise ValueError(f"x must be 2-D (N, F) with one row per node, got shape {tuple(x.shape)}; "
                             "for a single graph use x.reshape(num_nodes, -1)")
        if x.shape[0] == 0:
            raise ValueError("x has no rows: a graph needs at least one node")
        if not x.is_floating_point():
            raise ValueError(f"x must be a floating-point tensor, got {x.dtype}; use x.float()")
        if x.shape[1] != self.in_features:
            raise ValueError(f"x has {x.shape[1]} features per node but this layer was built with "
                             f"in_features={self.in_features}; pass x of shape (N, {self.in_features}) "
                             f"or build the layer with in_features={x.shape[1]}")
        dtype = next(self.parameters()).dtype  # all the layer's parameters share it
        if x.dtype != dtype:
            raise ValueError(f"x has dtype {x.dtype} but the layer's parameters are {dtype}; "
                             f"convert one of them, e.g. x.to({dtype})")
        validate_edge_index(edge_index, x.shape[0])
        if edge_index.device != x.device:
            raise ValueError(f"edge_index is on {edge_index.device} but x is on {x.device}; "
                             "move it with edge_index.to(x.device)")

    def _drop_attention(self, alpha: Tensor) -> Tensor:
        """Dropout on normalised coefficients: every implementation calls this on its alpha."""
        return dropout(alpha, p=self.attention_dropout, training=self.training)

    def _drop_values(self, z: Tensor) -> Tensor:
        """Dropout on the projected features before they are aggregated (every implementation)."""
        return dropout(z, p=self.value_dropout, training=self.training)

    def forward(self, x: Tensor, edge_index: Tensor, *, return_attention: bool = False,
                validate: bool = True) -> Tensor | tuple[Tensor, Tensor]:
        """Apply the layer.

        Parameters
        ----------
        x : torch.Tensor
            ``(N, F)`` float node features, dense or sparse CSR.
        edge_index : torch.Tensor
            ``(2, E)`` int64, row 0 the source ``j``, row 1 the target ``i``, with whatever
            self-loops the caller wants (the layer adds none). A node with no incoming edge
            aggregates nothing: its attention output is zero (before residual and bias).
        return_attention : bool, default False
            Also return the attention coefficients.
        validate : bool, default True
            Check the inputs first (:meth:`validate`). :class:`GAT` checks them once for all its
            layers and passes False: the range check reads ``edge_index`` back from the device.

        Returns
        -------
        torch.Tensor or (torch.Tensor, torch.Tensor)
            ``(N, H * F')`` if ``concat`` else ``(N, F')``; with ``return_attention`` also
            ``alpha`` ``(E, H)`` in ``edge_index`` column order, after the softmax and before
            attention dropout (so each target's incoming coefficients sum to 1 per head).
        """
        if validate:
            self.validate(x, edge_index)
        x = dropout(x, p=self.dropout, training=self.training)  # (N, F)
        out, alpha = self._attend(x, edge_index)  # (N, H, F'), (E, H)
        out = combine_heads(out, self.concat)  # (N, H*F') or (N, F')
        if self.residual is not None:
            out = out + linear(x, self.residual.weight)  # (N, H*F') or (N, F')
        if self.bias is not None:
            out = out + self.bias  # (N, H*F') or (N, F')
        return (out, alpha) if return_attention else out

    def _attend(self, x: Tensor, edge_index: Tensor) -> tuple[Tensor, Tensor]:
        """Attention and aggregation: ``x`` (N, F) -> (``out`` (N, H, F'), ``alpha`` (E, H))."""
        raise NotImplementedError(f"{type(self).__name__} must implement _attend")


class GATLayer(GraphAttentionLayer):
    """Shared base of the three GAT layer implementations: GAT's parameters ``W``, ``a_src``, ``a_dst``.

    Subclasses implement only :meth:`_attend`. The parameters and their initialisation live
    here, and the input checks, dropout, heads, residual and bias in
    :class:`GraphAttentionLayer`, so the three implementations cannot drift apart.

    Parameters
    ----------
    in_features, out_features, heads, concat, dropout, attention_dropout, value_dropout, negative_slope, residual, bias
        See :class:`GraphAttentionLayer`.

    Attributes
    ----------
    linear : torch.nn.Linear
        ``linear.weight`` is ``W``, shape ``(H * F', F)``; head ``h`` uses rows
        ``h * F' .. (h + 1) * F' - 1``.
    a_src, a_dst : torch.nn.Parameter
        ``(H, F')`` each: the halves of the paper's attention vector ``a`` that score the source
        ``j`` and the target ``i`` of an edge ``j -> i``.
    bias : torch.nn.Parameter or None
        ``(H * F',)`` if ``concat`` else ``(F',)``.
    residual : torch.nn.Linear or None
        ``residual.weight`` is ``(H * F' or F', F)``, no bias.
    """

    def _create_weights(self) -> None:
        self.linear = nn.Linear(self.in_features, self.heads * self.out_features, bias=False)  # W: (H*F', F)
        self.a_src = nn.Parameter(torch.empty(self.heads, self.out_features))  # (H, F')
        self.a_dst = nn.Parameter(torch.empty(self.heads, self.out_features))  # (H, F')

    def reset_parameters(self) -> None:
        """Glorot-uniform ``W``, ``a_src``, ``a_dst`` (and the residual projection); zero bias."""
        for weight in (self.linear.weight, self.a_src, self.a_dst):
            nn.init.xavier_uniform_(weight)
        super().reset_parameters()

    def project(self, x: Tensor) -> Tensor:
        """``z = x W^T`` viewed per head: ``(N, F)`` -> ``(N, H, F')``; ``x`` may be sparse CSR."""
        return linear(x, self.linear.weight).view(x.shape[0], self.heads, self.out_features)  # (N, H, F')

    def _attend(self, x: Tensor, edge_index: Tensor) -> tuple[Tensor, Tensor]:
        """Attention and aggregation: ``x`` (N, F) -> (``out`` (N, H, F'), ``alpha`` (E, H))."""
        raise NotImplementedError("GATLayer is the shared base class; use GATLayerDense, GATLayerMasked "
                                  "or GATLayerEdge (or LAYER_TYPES[1 | 2 | 3])")


def _refuse_duplicate_edges(edge_index: Tensor, num_nodes: int) -> None:
    """A dense matrix holds each pair once: a repeated edge would silently count once."""
    key = edge_index[1] * num_nodes + edge_index[0]  # (E,)
    num_distinct = int(torch.unique(key).numel())
    if num_distinct != key.numel():
        raise ValueError(f"edge_index holds {key.numel() - num_distinct} duplicate edge(s); a dense layer "
                         "cannot represent an edge twice. Remove them with torch.unique(edge_index, dim=1) "
                         "or use GATLayerEdge, which attends over repeated edges separately")


class GATLayerDense(GATLayer):
    """Implementation 1, dense per head: ``(H, N, N)`` scores, heads as a batch of matrix products.

    Simple to read and fast on small graphs, but O(H N^2) memory. Raises ``ValueError`` on
    duplicate edges. Parameters and behaviour: see :class:`GATLayer`.
    """

    def _attend(self, x: Tensor, edge_index: Tensor) -> tuple[Tensor, Tensor]:
        n, h = x.shape[0], self.heads
        _refuse_duplicate_edges(edge_index, n)
        adj = to_dense_adjacency(edge_index, n, dtype=x.dtype, device=x.device)  # (N, N)
        z = project_heads(x.to_dense(), self.linear.weight, h)  # (H, N, F'): bmm needs dense x
        s_src = node_scores(z, self.a_src.unsqueeze(1)).T  # (N, H)
        s_dst = node_scores(z, self.a_dst.unsqueeze(1)).T  # (N, H)
        scores = dense_scores(s_src, s_dst, negative_slope=self.negative_slope)  # (H, N, N): [h, i, j] for j -> i
        alpha_dense = dense_softmax(scores, adj)  # (H, N, N), zero off the neighbourhoods
        out = torch.bmm(self._drop_attention(alpha_dense), self._drop_values(z))  # (H, N, F')
        return out.transpose(0, 1), edge_coefficients(alpha_dense, edge_index)  # (N, H, F'), (E, H)


class GATLayerMasked(GATLayer):
    """Implementation 2, dense with a connectivity mask: the layout of the authors' TensorFlow code.

    One matmul projects all heads at once, the scores get an additive mask (0 on edges, -inf
    elsewhere) and a plain ``softmax`` normalises each row. O(H N^2) memory. Raises ``ValueError``
    on duplicate edges. Parameters and behaviour: see :class:`GATLayer`.
    """

    def _attend(self, x: Tensor, edge_index: Tensor) -> tuple[Tensor, Tensor]:
        _refuse_duplicate_edges(edge_index, x.shape[0])
        mask = connectivity_mask(edge_index, x.shape[0], dtype=x.dtype)  # (N, N)
        out, alpha_dense = masked_attention(x, self.linear.weight, self.a_src, self.a_dst, mask,
                                            negative_slope=self.negative_slope, drop_attention=self._drop_attention,
                                            drop_values=self._drop_values)  # (N, H, F'), (H, N, N)
        return out, edge_coefficients(alpha_dense, edge_index)  # (N, H, F'), (E, H)


class GATLayerEdge(GATLayer):
    """Implementation 3, edge list: O(N + E) memory, the way graph libraries implement GAT.

    Node scores are lifted to the edges with ``index_select``, the softmax runs over each
    target's incoming edges with a per-target maximum, and the messages are summed into the
    targets with ``index_add`` (see :mod:`gatkit.functional`). Repeated edges are allowed (each
    column is attended separately). Parameters and behaviour: see :class:`GATLayer`.
    """

    def _attend(self, x: Tensor, edge_index: Tensor) -> tuple[Tensor, Tensor]:
        z = self.project(x)  # (N, H, F')
        e = edge_scores(node_scores(z, self.a_src), node_scores(z, self.a_dst), edge_index,
                        negative_slope=self.negative_slope)  # (E, H)
        alpha = neighbourhood_softmax(e, edge_index, x.shape[0])  # (E, H)
        values = self._drop_values(z)  # (N, H, F')
        out = aggregate(self._drop_attention(alpha), values, edge_index)  # (N, H, F')
        return out, alpha  # (N, H, F'), (E, H)


#: The implementations by number, as the course chapters name them.
LAYER_TYPES: dict[int, type[GATLayer]] = {1: GATLayerDense, 2: GATLayerMasked, 3: GATLayerEdge}


class GATv2LayerEdge(GraphAttentionLayer):
    """GATv2 (Brody, Alon and Yahav, ICLR 2022) on an edge list: attention that can depend on the target.

    For every edge ``j -> i`` and head ``h``::

        e_ij = a[h] . LeakyReLU(W_dst x_i + W_src x_j)[h]            (E, H)
        alpha_ij = softmax of e_ij over the incoming edges of i      (E, H)
        h'_i[h] = sum_j alpha_ij (W_src x_j)[h]                      (N, H, F')

    The paper writes ``W [x_i || x_j]`` with ``W = [W_dst | W_src]``. Applying ``a`` after the
    nonlinearity is the whole change from GAT: GAT's score is a monotone function of
    ``a_src . z_j`` plus a term of the target, so every target ranks its neighbours in the same
    order; here the ranking can differ from target to target. The scores are computed per edge
    (:func:`gatkit.functional.gatv2_scores`, an ``(E, H, F')`` intermediate), then normalised
    and aggregated as in :class:`GATLayerEdge`, with the same dropout sites. Repeated edges are
    attended separately. Weights are laid out as PyTorch Geometric's ``GATv2Conv`` without its
    linear biases (``lin_l`` = ``linear_src``, ``lin_r`` = ``linear_dst``, ``att`` = ``a``).

    Parameters
    ----------
    in_features, out_features, heads, concat, dropout, attention_dropout, value_dropout, negative_slope, residual, bias
        See :class:`GraphAttentionLayer`.
    share_weights : bool, default False
        Use one projection for source and target, ``W_dst = W_src`` (the paper's ``W``
        applied to both halves of the pair).

    Attributes
    ----------
    linear_src : torch.nn.Linear
        ``W_src``, weight ``(H * F', F)``, no bias: projects the source ``j``, both for its
        score and for the message it sends. With ``share_weights`` it projects the target too.
    linear_dst : torch.nn.Linear or None
        ``W_dst``, weight ``(H * F', F)``, no bias: projects the target ``i`` for the score;
        None with ``share_weights``.
    a : torch.nn.Parameter
        ``(H, F')``, the attention vector of each head.
    bias : torch.nn.Parameter or None
        ``(H * F',)`` if ``concat`` else ``(F',)``.
    residual : torch.nn.Linear or None
        ``residual.weight`` is ``(H * F' or F', F)``, no bias.

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> layer = GATv2LayerEdge(4, 3, heads=2)
    >>> edge_index = torch.tensor([[0, 1, 2, 1], [0, 1, 2, 0]])      # self-loops and 1 -> 0
    >>> out, alpha = layer(torch.randn(3, 4), edge_index, return_attention=True)
    >>> tuple(out.shape), tuple(alpha.shape)                          # (N, H*F'), (E, H)
    ((3, 6), (4, 2))
    """

    def __init__(self, in_features: int, out_features: int, heads: int = 1, *, concat: bool = True,
                 dropout: float = 0.0, attention_dropout: float = 0.0, value_dropout: float = 0.0,
                 negative_slope: float = 0.2, residual: bool = False, bias: bool = True,
                 share_weights: bool = False) -> None:
        self.share_weights = bool(share_weights)  # first: the base's __init__ calls _create_weights
        super().__init__(in_features, out_features, heads, concat=concat, dropout=dropout,
                         attention_dropout=attention_dropout, value_dropout=value_dropout,
                         negative_slope=negative_slope, residual=residual, bias=bias)

    def _create_weights(self) -> None:
        width = self.heads * self.out_features
        self.linear_src = nn.Linear(self.in_features, width, bias=False)  # W_src: (H*F', F)
        self.linear_dst = None if self.share_weights else nn.Linear(self.in_features, width, bias=False)  # W_dst
        self.a = nn.Parameter(torch.empty(self.heads, self.out_features))  # (H, F')

    def reset_parameters(self) -> None:
        """Glorot-uniform ``W_src``, ``W_dst``, ``a`` (and the residual projection); zero bias."""
        for module in (self.linear_src, self.linear_dst):
            if module is not None:
                nn.init.xavier_uniform_(module.weight)
        nn.init.xavier_uniform_(self.a)
        super().reset_parameters()

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, share_weights={self.share_weights}"

    def project(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(z_src, z_dst)``, ``x W_src^T`` and ``x W_dst^T`` per head, (N, H, F') each; one tensor if shared."""
        shape = (x.shape[0], self.heads, self.out_features)
        z_src = linear(x, self.linear_src.weight).view(shape)  # (N, H, F')
        z_dst = z_src if self.linear_dst is None else linear(x, self.linear_dst.weight).view(shape)  # (N, H, F')
        return z_src, z_dst

    def _attend(self, x: Tensor, edge_index: Tensor) -> tuple[Tensor, Tensor]:
        z_src, z_dst = self.project(x)  # (N, H, F') each
        e = gatv2_scores(z_src, z_dst, self.a, edge_index, negative_slope=self.negative_slope)  # (E, H)
        alpha = neighbourhood_softmax(e, edge_index, x.shape[0])  # (E, H)
        values = self._drop_values(z_src)  # (N, H, F'): the messages are W_src x_j
        out = aggregate(self._drop_attention(alpha), values, edge_index)  # (N, H, F')
        return out, alpha  # (N, H, F'), (E, H)


class UniformLayerEdge(GraphAttentionLayer):
    """The same layer with attention fixed to uniform: ``alpha_ij = 1 / |N(i)|`` (a GCN-like mean).

    The baseline that tells what learned attention adds: everything but the scores is as in
    :class:`GATLayerEdge` (``W``, dropout on the input, the coefficients and the values, heads,
    residual, bias); there is no attention vector, and every target averages its incoming
    messages. Parameters: see :class:`GraphAttentionLayer`.
    """

    def _create_weights(self) -> None:
        self.linear = nn.Linear(self.in_features, self.heads * self.out_features, bias=False)  # W: (H*F', F)

    def reset_parameters(self) -> None:
        nn.init.xavier_uniform_(self.linear.weight)
        super().reset_parameters()

    def _attend(self, x: Tensor, edge_index: Tensor) -> tuple[Tensor, Tensor]:
        z = linear(x, self.linear.weight).view(x.shape[0], self.heads, self.out_features)  # (N, H, F')
        flat = z.new_zeros(edge_index.shape[1], self.heads)  # (E, H): equal scores, so softmax is 1 / |N(i)|
        alpha = neighbourhood_softmax(flat, edge_index, x.shape[0])  # (E, H)
        out = aggregate(self._drop_attention(alpha), self._drop_values(z), edge_index)  # (N, H, F')
        return out, alpha


class NoGraphLayer(UniformLayerEdge):
    """The same layer without the graph: each node's output is its own projection ``W x_i``.

    A stack of these is an MLP with exactly the other models' widths, dropout and residuals: all
    of a node's attention on itself. ``edge_index`` is only validated; the returned ``alpha`` is 1
    on self-loops and 0 on every other edge. Parameters: see :class:`GraphAttentionLayer`.
    """

    def _attend(self, x: Tensor, edge_index: Tensor) -> tuple[Tensor, Tensor]:
        z = linear(x, self.linear.weight).view(x.shape[0], self.heads, self.out_features)  # (N, H, F')
        alpha = (edge_index[0] == edge_index[1]).to(z.dtype).unsqueeze(1).expand(-1, self.heads)  # (E, H)
        return self._drop_values(z), alpha


#: The attention mechanisms :class:`GAT` builds, with the layer each uses: GAT's (static, any of
#: :data:`LAYER_TYPES`), GATv2's (dynamic), uniform weights (a mean over the neighbourhood) and
#: none (no graph: an MLP); all but GAT's have only the edge-list implementation.
ATTENTION_LAYERS: dict[str, type[GraphAttentionLayer]] = {
    "gatv2": GATv2LayerEdge, "uniform": UniformLayerEdge, "none": NoGraphLayer}
ATTENTION_TYPES: tuple[str, ...] = ("gat", *ATTENTION_LAYERS)


class GAT(nn.Module):
    """The GAT model: a stack of :class:`GATLayer` s (or :class:`GATv2LayerEdge` s), ELU between them, logits out.

    Hidden layers concatenate their heads and apply ELU; the last layer averages its heads and
    applies no activation. Each layer drops out its input with ``dropout``, its attention
    coefficients with ``attention_dropout`` (both as in the paper) and, as the authors' code
    does, the projected features it aggregates with ``value_dropout`` (train mode only).

    Parameters
    ----------
    features_per_layer : sequence of int
        The input width F, then F' of each layer, e.g. ``[1433, 8, 7]`` for the paper's Cora model.
        Layer ``l > 0`` reads ``features_per_layer[l] * heads_per_layer[l - 1]`` features.
    heads_per_layer : sequence of int
        H of each layer, e.g. ``[8, 1]``; one fewer entry than ``features_per_layer``.
    layer_type : int, default 3
        Which implementation to use: a key of :data:`LAYER_TYPES` (1 dense, 2 masked, 3 edge list).
        The parameter names (``layers.0.linear.weight``, ``layers.0.a_src``, ...) are the same for
        every type, so a state dict moves freely between them.
    attention : {"gat", "gatv2", "uniform", "none"}, default "gat"
        The attention mechanism (:data:`ATTENTION_TYPES`): GAT's; GATv2's, which builds every
        layer as a :class:`GATv2LayerEdge` (parameters ``layers.0.linear_src.weight``,
        ``layers.0.linear_dst.weight``, ``layers.0.a``, ...); uniform weights
        (:class:`UniformLayerEdge`, the baseline of a mean over each neighbourhood); or none
        (:class:`NoGraphLayer`, an MLP of the same shape). All but GAT's need ``layer_type=3``.
    dropout : float, default 0.6
        Dropout on each layer's input.
    attention_dropout : float or None, default None
        Dropout on the attention coefficients; None means the same as ``dropout``.
    value_dropout : float or None, default None
        Dropout on the projected features before aggregation; None means the same as ``dropout``.
    residual, bias : bool
        Passed to every layer (see :class:`GATLayer`).
    norm : bool, default False
        Layer normalisation (``norms.l``, with learned scale and shift) of every hidden layer's
        output, before its ELU.
    """

    def __init__(self, features_per_layer: Sequence[int], heads_per_layer: Sequence[int], *,
                 layer_type: int = 3, attention: str = "gat", dropout: float = 0.6,
                 attention_dropout: float | None = None, value_dropout: float | None = None,
                 residual: bool = False, bias: bool = True, norm: bool = False) -> None:
        super().__init__()
        features, heads = list(features_per_layer), list(heads_per_layer)
        if len(features) < 2 or len(heads) != len(features) - 1:
            raise ValueError(f"features_per_layer needs the input width plus one entry per layer and "
                             f"heads_per_layer one entry per layer, got {len(features)} and {len(heads)} "
                             "entries; e.g. GAT([1433, 8, 7], [8, 1])")
        for i, value in enumerate(features):
            _check_positive_int(f"features_per_layer[{i}]", value)
        for i, value in enumerate(heads):
            _check_positive_int(f"heads_per_layer[{i}]", value)
        if layer_type not in LAYER_TYPES:
            raise ValueError(f"layer_type must be one of {sorted(LAYER_TYPES)} (1 dense, 2 masked, 3 edge list), "
                             f"got {layer_type!r}")
        if attention not in ATTENTION_TYPES:
            raise ValueError(f"attention must be one of {', '.join(map(repr, ATTENTION_TYPES))}, got {attention!r}")
        if attention != "gat" and layer_type != 3:
            raise ValueError(f"attention={attention!r} needs layer_type=3 (only GAT's attention has the dense "
                             f"implementations; {ATTENTION_LAYERS[attention].__name__} is an edge list), "
                             f"got layer_type={layer_type!r}")
        self.layer_type = layer_type
        self.attention = attention
        attention_dropout = dropout if attention_dropout is None else attention_dropout
        value_dropout = dropout if value_dropout is None else value_dropout
        layer_class = ATTENTION_LAYERS.get(attention, LAYER_TYPES[layer_type])
        num_layers = len(heads)
        self.layers = nn.ModuleList(
            layer_class(features[0] if l == 0 else features[l] * heads[l - 1], features[l + 1], heads[l],
                        concat=l < num_layers - 1, dropout=dropout, attention_dropout=attention_dropout,
                        value_dropout=value_dropout,
                        residual=residual, bias=bias)
            for l in range(num_layers)
        )
        # Layer normalisation of every hidden layer's output, before the ELU (with residual
        # connections, what lets deeper stacks train on the heterophilous graphs).
        self.norms = nn.ModuleList(nn.LayerNorm(features[l + 1] * heads[l]) for l in range(num_layers - 1)) \
            if norm else None

    def _run(self, x: Tensor, edge_index: Tensor | Sequence[Tensor]) -> tuple[list[Tensor], list[Tensor]]:
        if isinstance(edge_index, Tensor):
            per_layer = [edge_index] * len(self.layers)
        elif isinstance(edge_index, Sequence) and len(edge_index) == len(self.layers):
            per_layer = list(edge_index)
        else:
            raise ValueError(f"edge_index must be a (2, E) tensor or a list of {len(self.layers)} of them "
                             f"(one per layer), got {type(edge_index).__name__}"
                             + (f" of length {len(edge_index)}" if isinstance(edge_index, Sequence) else ""))
        self.layers[0].validate(x, per_layer[0])  # once, at the boundary: later inputs are ours
        for layer_edges in {id(edges): edges for edges in per_layer if edges is not per_layer[0]}.values():
            validate_edge_index(layer_edges, x.shape[0])
        outputs, alphas = [], []
        for l, layer_edges in enumerate(per_layer):
            x, alpha = self.apply_layer(l, x, layer_edges, validate=False)  # (N, H_l*F'_l) or (N, C), (E_l, H_l)
            outputs.append(x)
            alphas.append(alpha)
        return outputs, alphas

    def apply_layer(self, l: int, x: Tensor, edge_index: Tensor, *, validate: bool = True) -> tuple[Tensor, Tensor]:
        """Layer ``l`` and what follows it: ``x`` (N, F_l) -> (output, ``alpha`` (E, H_l)).

        After a hidden layer come layer normalisation (if ``norm``) and ELU; the last layer's
        output is the logits. :meth:`forward` is these steps in turn; a caller that must do
        something between layers (:func:`gatkit.partition.partitioned_forward` fetches the rows
        other processes own) calls them one at a time. ``validate`` checks ``x`` and
        ``edge_index`` first (see :meth:`GraphAttentionLayer.validate`).
        """
        x, alpha = self.layers[l](x, edge_index, return_attention=True, validate=validate)  # (N, H_l*F'_l) or (N, C), (E, H_l)
        if l < len(self.layers) - 1:
            x = F.elu(x if self.norms is None else self.norms[l](x))  # (N, H_l*F'_l)
        return x, alpha

    def forward(self, x: Tensor, edge_index: Tensor | Sequence[Tensor], *,
                return_attention: bool = False) -> Tensor | tuple[Tensor, list[Tensor]]:
        """Logits ``(N, C)`` for node features ``x`` (N, F) on the graph ``edge_index`` (2, E).

        ``edge_index`` may also be a list with one edge list per layer. Layer ``l``'s output at a
        node depends only on that node's incoming edges, so when only some nodes' logits are
        needed (the training nodes', for the loss), each layer can be given just the edges into
        the nodes the next layer reads; see :class:`gatkit.train.Subgraph`.

        With ``return_attention=True`` returns ``(logits, alphas)``, ``alphas[l]`` being layer
        ``l``'s coefficients ``(E_l, H_l)`` before attention dropout.
        """
        outputs, alphas = self._run(x, edge_index)
        return (outputs[-1], alphas) if return_attention else outputs[-1]

    def hidden(self, x: Tensor, edge_index: Tensor | Sequence[Tensor]) -> list[Tensor]:
        """Every layer's output (after ELU for hidden layers; logits last), for embedding plots.

        Runs in eval mode (no dropout) without gradients and restores the previous mode, so the
        result is deterministic and detached.
        """
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                outputs, _ = self._run(x, edge_index)
        finally:
            self.train(was_training)
        return outputs
