"""Many independent runs of one GAT, computed as one model: mean and spread at a fraction of the cost.

A result over one seed says little (the GAT paper reports the mean of 100 runs), yet much of one
Cora training step's time is per-operation overhead, which R runs computed in one pass pay once.
So :class:`GATRuns` holds R copies of one :class:`~gatkit.layers.GAT`, each with its own
parameters, and computes all R on the same graph in one forward pass:

* every parameter gets a leading run dimension, ``(R, *shape)``, and the projections become
  per-run products (a block-diagonal sparse product for sparse input features; GAT's node
  scores ``a . W x`` come out of the same product as ``(W^T a) . x``);
* the R runs' heads sit side by side, ``(N, R * H, F')``, so the attention functions of
  :mod:`gatkit.functional` (and the aggregation of :mod:`gatkit.ops`) work unchanged: to them
  the runs are just more heads on the same edges, which never mix, since a head's softmax and
  sum only ever read that head;
* every dropout site draws its own mask for every run, as R separate models would;
* with ``rows`` (:meth:`gatkit.train.Subgraph.nearest_first`) each layer computes only the
  outputs the next layer reads.

The runs share no parameter and no gradient: a loss that is a sum of per-run losses gives each
run exactly the gradient it would get alone, and Adam (an elementwise update) then moves each
run as it would move alone. :func:`gatkit.train.train_runs` trains such a batch, with early
stopping per run; the tests compare it with runs trained one at a time.

Shapes: N nodes, R runs, F input features, H heads, F' features per head, C classes.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gatkit.edges import validate_edge_index
from gatkit.functional import edge_scores, gatv2_scores, neighbourhood_softmax
from gatkit.layers import GAT, GATLayer, GATv2LayerEdge, GraphAttentionLayer, NoGraphLayer, UniformLayerEdge
from gatkit.ops import aggregate, cached, dropout, forget_patterns, linear, pattern_store

__all__ = ["GATRuns"]


class _RunsLayer(nn.Module):
    """R copies of one attention layer: its parameters stacked ``(R, *shape)``, one forward for all."""

    def __init__(self, layers: Sequence[GraphAttentionLayer]):
        super().__init__()
        first = layers[0]
        kinds = {GATv2LayerEdge: "gatv2", NoGraphLayer: "none", UniformLayerEdge: "uniform"}
        self.kind = next((kind for cls, kind in kinds.items() if type(first) is cls),
                         "gat" if isinstance(first, GATLayer) else None)
        if self.kind is None:
            raise TypeError(f"GATRuns stacks the layers of gatkit.layers.GAT, not {type(first).__name__}")
        self.runs, self.heads, self.out_features, self.concat = len(layers), first.heads, first.out_features, first.concat
        self.dropout, self.attention_dropout, self.value_dropout = first.dropout, first.attention_dropout, first.value_dropout
        self.negative_slope = first.negative_slope
        #: The single layer's parameter names (``linear.weight``, ``a_src``, ...), in its order.
        self.names = [name for name, _ in first.named_parameters()]
        for name, parameter in first.named_parameters():
            stacked = torch.stack([dict(layer.named_parameters())[name].detach() for layer in layers])  # (R, *shape)
            self.register_parameter(name.replace(".", "_"), nn.Parameter(stacked, parameter.requires_grad))

    def add_norm(self, norms: Sequence[nn.LayerNorm]) -> None:
        """The runs' layer normalisations of this layer's output (GAT's ``norms.l``), applied last."""
        self.norm_eps = norms[0].eps
        for name in ("weight", "bias"):
            self.register_parameter(f"norm_{name}", nn.Parameter(torch.stack([getattr(n, name).detach() for n in norms])))  # (R, D)

    def stacked(self, name: str) -> Tensor | None:
        """The parameter the single layer calls ``name``, stacked ``(R, *shape)``; None if it has none."""
        return getattr(self, name.replace(".", "_"), None) if name in self.names else None

    def forward(self, x: Tensor, edge_index: Tensor, num_targets: int | None = None) -> Tensor:
        """``x``: (N, F) shared by every run, or (N, R, F) one input per run -> (M, R, out).

        Only the first ``M = num_targets`` nodes' outputs are computed (default: all N); every
        edge's target must be among them.
        """
        x = _drop_per_run(x, self.dropout, self.training, self.runs)  # (N, F), (N, R, F) or run blocks
        n, h, width = _rows(x), self.heads, self.heads * self.out_features
        m = n if num_targets is None else num_targets
        if self.kind in ("uniform", "none"):
            z = _project(x, self.stacked("linear.weight"), n).reshape(n, -1, self.out_features)  # (N, R*H, F')
            e = z.new_zeros(edge_index.shape[1], z.shape[1])  # (E, R*H): equal scores, so alpha = 1 / |N(i)|
        elif self.kind == "gatv2":
            z_src = _project(x, self.stacked("linear_src.weight"), n).reshape(n, -1, self.out_features)  # (N, R*H, F')
            w_dst = self.stacked("linear_dst.weight")
            z_dst = z_src[:m] if w_dst is None else _project(x, w_dst, n)[:m].reshape(m, -1, self.out_features)  # (M, R*H, F')
            e = gatv2_scores(z_src, z_dst, self.stacked("a").reshape(-1, self.out_features), edge_index,
                             negative_slope=self.negative_slope)  # (E, R*H)
            z = z_src
        else:
            # a . (W x) = (W^T a) . x: the node scores come out of the projection as 2H more
            # columns, instead of an (N, R*H, F') product and sum for each of them.
            weight = self.stacked("linear.weight")  # (R, H*F', F)
            per_head = weight.view(self.runs, h, self.out_features, -1)  # (R, H, F', F)
            score_weights = [torch.einsum("rhof,rho->rhf", per_head, self.stacked(name)) for name in ("a_src", "a_dst")]
            projected = _project(x, torch.cat([weight, *score_weights], dim=1), n)  # (N, R, H*F' + 2H)
            z = projected[..., :width].reshape(n, -1, self.out_features)  # (N, R*H, F')
            s_src = projected[..., width:width + h].reshape(n, -1)  # (N, R*H)
            s_dst = projected[:m, :, width + h:].reshape(m, -1)  # (M, R*H)
            e = edge_scores(s_src, s_dst, edge_index, negative_slope=self.negative_slope)  # (E, R*H)
        values = dropout(z, self.value_dropout, self.training)  # (N, R*H, F')
        if self.kind == "none":  # no graph: each node keeps its own projection
            out = values[:m].view(m, self.runs, h, self.out_features)  # (M, R, H, F')
        else:
            alpha = neighbourhood_softmax(e, edge_index, m)  # (E, R*H): a run's heads never mix with another's
            alpha = dropout(alpha, self.attention_dropout, self.training)  # (E, R*H)
            out = aggregate(alpha, values, edge_index, num_targets=m).view(m, self.runs, h, self.out_features)  # (M, R, H, F')
        out = out.reshape(m, self.runs, width) if self.concat else out.mean(dim=2)  # (M, R, H*F') or (M, R, F')
        residual = self.stacked("residual.weight")
        if residual is not None:
            out = out + _project(x, residual, n)[:m]  # (M, R, out)
        bias = self.stacked("bias")
        out = out if bias is None else out + bias  # (M, R, out) + (R, out)
        if hasattr(self, "norm_weight"):
            out = F.layer_norm(out, out.shape[-1:], eps=self.norm_eps) * self.norm_weight + self.norm_bias  # (M, R, out)
        return out


class GATRuns(nn.Module):
    """R independent copies of one :class:`~gatkit.layers.GAT`, computed together on one graph.

    Built from R models of the same architecture (``GATRuns([build_model(...) for seed in
    seeds])``, each initialised from its own seed), whose parameters it copies, stacked along a
    new leading run dimension: the parameter that model ``r`` calls ``layers.0.linear.weight``
    is row ``r`` of ``layers[0].linear_weight``. :meth:`state_dict_of` gives a run's parameters
    back under the single model's names and :meth:`model` a :class:`GAT` holding them, of the
    layer type the runs were built with (the batch itself always uses the edge-list layout;
    every layer type computes the same function).

    ``forward(x, edge_index)`` takes one graph (``x`` (N, F), dense or sparse CSR, and an
    ``edge_index`` or one per layer, as :class:`GAT` does) and returns the logits of every run,
    ``(N, R, C)``. In train mode each run draws its own dropout masks.
    """

    def __init__(self, models: Sequence[GAT]):
        super().__init__()
        models = list(models)
        if not models or not all(isinstance(m, GAT) for m in models):
            raise ValueError("GATRuns needs a non-empty list of GAT models (one per run)")
        shapes = {name: t.shape for name, t in models[0].state_dict().items()}
        for r, model in enumerate(models[1:], start=1):
            if repr(model) != repr(models[0]) or {n: t.shape for n, t in model.state_dict().items()} != shapes:
                raise ValueError(f"run {r}'s model has another architecture than run 0's; "
                                 "GATRuns stacks copies of one architecture")
        self.runs = len(models)
        self._template = (copy.deepcopy(models[0]),)  # in a tuple: not a submodule, its parameters not ours
        self.layers = nn.ModuleList(_RunsLayer([m.layers[l] for m in models]) for l in range(len(models[0].layers)))
        for l, layer in enumerate(self.layers[:-1] if models[0].norms is not None else []):
            layer.add_norm([m.norms[l] for m in models])

    def forward(self, x: Tensor, edge_index: Tensor | Sequence[Tensor], rows: Sequence[int] | None = None) -> Tensor:
        """Logits of every run, ``(N, R, C)``, or ``(rows[-1], R, C)`` with ``rows``.

        ``rows`` (one count per layer, as :meth:`gatkit.train.Subgraph.nearest_first` gives
        them) lets layer ``l`` compute only the first ``rows[l]`` nodes' outputs: all that the
        next layer reads when the nodes are ordered nearest first. Every edge of layer ``l`` must
        then point to one of them, and come from one of the previous layer's.
        """
        per_layer = [edge_index] * len(self.layers) if isinstance(edge_index, Tensor) else list(edge_index)
        if len(per_layer) != len(self.layers):
            raise ValueError(f"edge_index must be a (2, E) tensor or a list of {len(self.layers)} of them")
        rows = [x.shape[0]] * len(self.layers) if rows is None else list(rows)
        self._template[0].layers[0].validate(x, per_layer[0])
        for l, edges in enumerate(per_layer):
            validate_edge_index(edges, x.shape[0] if l == 0 else rows[l - 1])
            if edges.shape[1] and int(edges[1].max()) >= rows[l]:
                raise ValueError(f"layer {l} has an edge into node {int(edges[1].max())}, but rows[{l}] = {rows[l]} "
                                 "computes only the outputs of the nodes before it")
        for l, (layer, edges) in enumerate(zip(self.layers, per_layer)):
            x = layer(x, edges, rows[l])  # (rows[l], R, H_l*F'_l) or (rows[l], R, C)
            if l < len(self.layers) - 1:
                x = F.elu(x)
        return x  # (rows[-1], R, C)

    def keep_runs(self, runs: Sequence[int], optimizer: torch.optim.Optimizer | None = None) -> None:
        """Drop every run but ``runs`` (positions in this batch, in the new order), in place.

        Each parameter is replaced by its kept rows; ``optimizer``, if given, is moved onto the
        new parameters with its per-parameter state (Adam's moments) cut down the same way, so
        that training goes on with the smaller batch: runs that have finished stop costing time.
        """
        rows = torch.as_tensor(list(runs), dtype=torch.long, device=next(self.parameters()).device)
        replaced = {}
        for layer in self.layers:
            for name, parameter in list(layer.named_parameters(recurse=False)):
                kept = nn.Parameter(parameter.detach()[rows], requires_grad=parameter.requires_grad)
                setattr(layer, name, kept)
                replaced[parameter] = kept
            layer.runs = len(rows)
        self.runs = len(rows)
        forget_patterns()
        if optimizer is not None:
            for group in optimizer.param_groups:
                group["params"] = [replaced.get(p, p) for p in group["params"]]
            for old, new in replaced.items():
                state = optimizer.state.pop(old, {})
                optimizer.state[new] = {key: value[rows] if torch.is_tensor(value) and value.shape == old.shape
                                        else value for key, value in state.items()}  # the moments; step is shared

    def state_dict_of(self, run: int) -> dict[str, Tensor]:
        """Run ``run``'s parameters under the single model's names (copies)."""
        state = self.state_dict()
        single = {f"layers.{l}.{name}": state[f"layers.{l}.{name.replace('.', '_')}"][run].clone()
                  for l, layer in enumerate(self.layers) for name in layer.names}
        norms = {f"norms.{l}.{name}": state[f"layers.{l}.norm_{name}"][run].clone()
                 for l, layer in enumerate(self.layers) if hasattr(layer, "norm_weight") for name in ("weight", "bias")}
        return {**single, **norms}

    def model(self, run: int) -> GAT:
        """A :class:`GAT` with run ``run``'s parameters (see :meth:`state_dict_of`), in eval mode."""
        model = copy.deepcopy(self._template[0])
        model.load_state_dict(self.state_dict_of(run))
        return model.eval()


# --- per-run inputs: shared, one per run, or run blocks of a sparse matrix ----------------------

class _RunBlocks:
    """R copies of a sparse ``(N, F)`` input (each with its own dropout mask in train mode) as one
    block-diagonal CSR matrix.

    Row ``r * N + i`` holds run ``r``'s copy of row ``i``, in columns ``r * F .. (r + 1) * F - 1``,
    so that one sparse product with the R weights stacked ``(R * F, out)`` projects every run's
    copy with its own weight, touching only the stored values.
    """

    def __init__(self, matrix: Tensor, runs: int):
        self.matrix, self.runs = matrix, runs  # (R*N, R*F) sparse CSR


_BLOCKS = pattern_store()  # blocks per input and run count (see gatkit.ops.cached)


def _blocks(x: Tensor, runs: int) -> Tensor:
    """``x`` (N, F) sparse CSR repeated as R diagonal blocks, (R*N, R*F) sparse CSR (cached)."""
    crow, col, values = x.crow_indices(), x.col_indices(), x.values()

    def build() -> Tensor:
        n, f = x.shape
        offsets = torch.arange(runs, device=x.device)  # (R,)
        new_crow = torch.cat([crow[:1], (crow[1:] + (offsets * col.numel()).unsqueeze(1)).reshape(-1)])  # (R*N + 1,)
        new_col = (col + (offsets * f).unsqueeze(1)).reshape(-1)  # (R*nnz,)
        return torch.sparse_csr_tensor(new_crow, new_col, values.repeat(runs), (runs * n, runs * f),
                                       check_invariants=False)

    return cached(_BLOCKS, (crow, col, values), (tuple(x.shape), runs), build)


def _drop_per_run(x: Tensor, p: float, training: bool, runs: int) -> Tensor | _RunBlocks:
    """Input dropout with a mask per run. A dense input stays shared when nothing is dropped.

    A sparse input always becomes run blocks: even with the same values in every block, one
    product with the blocks is faster than one with all runs' weights side by side, whose rows
    are R times wider.
    """
    if x.dim() == 3:
        return dropout(x, p, training)  # already (N, R, F)
    if x.layout == torch.sparse_csr:
        return _RunBlocks(dropout(_blocks(x, runs), p, training), runs)  # (R*N, R*F), values dropped per run
    if not training or p == 0.0:
        return x  # (N, F), one input for every run
    return dropout(x.unsqueeze(1).expand(-1, runs, -1), p, training)  # (N, R, F)


def _rows(x: Tensor | _RunBlocks) -> int:
    return x.matrix.shape[0] // x.runs if isinstance(x, _RunBlocks) else x.shape[0]


def _project(x: Tensor | _RunBlocks, weight: Tensor, n: int) -> Tensor:
    """Each run's input times its own ``weight`` (R, out, F), transposed: -> (N, R, out)."""
    runs, out, f = weight.shape
    # The stacked weights are laid out (inputs, outputs) in memory, the layout a product with a
    # sparse x reads fastest, and handed to linear (x @ weight.T) as a transposed view.
    if isinstance(x, _RunBlocks):  # one sparse product for every run's block
        stacked = weight.transpose(1, 2).reshape(runs * f, out)  # (R*F, out): run r's W^T in rows r*F..
        z = linear(x.matrix, stacked.T)  # (R*N, out)
        return z.view(runs, n, out).transpose(0, 1)  # (N, R, out)
    if x.dim() == 2:  # one input for every run: a single product with all weights side by side
        side_by_side = weight.permute(2, 0, 1).reshape(f, runs * out)  # (F, R*out)
        return linear(x, side_by_side.T).view(n, runs, out)  # (N, R, out)
    return torch.einsum("nrf,rof->nro", x, weight)  # (N, R, out)
