"""Checks for chapter 06, Implementation 3: edge list.

The references are the library's :func:`gatkit.functional.edge_scores` (6.1) and
:func:`~gatkit.functional.neighbourhood_max` (6.2, the first step of the stable
:func:`~gatkit.functional.neighbourhood_softmax`), the functions implementation 3 is built from,
and that implementation itself, :class:`gatkit.layers.GATLayerEdge` (6.3, the layer as an
``nn.Module``).

The random graphs are directed with shuffled columns, so answers that swap source and target or
assume edges sorted by target fail. The maximum (6.2) sees :func:`~course.checks.cases.spread_scores`:
neighbourhoods around +120, around -120 (all negative, so the zeros a scatter starts from must stay
out of the max) and spread +-100 inside, the signs flipped from head to head, so one global max,
a max over the heads, a min or a mean all differ; nodes that receive no edge (they get 0); and
float64 scores (the result keeps their dtype).

The layer (6.3) is a class, so its check drives it (``Check.run``, :func:`run_layer`): it builds
the learner's layer under a fixed seed, finds W, a_src, a_dst and the bias among its parameters
whatever their names and layout (:class:`course.checks.modules.GATParameterMap`), judges their
initialisation by the statistics the Glorot rule fixes, loads the same fixed parameters into it
that the reference gets, and compares outputs in eval and in train mode, the gradients, and
where dropout went (:func:`course.checks.modules.recorded_dropout` turns dropout into a recorded
identity). The cases have F, F', H and H*F' all different, so no layout can pass for another.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from course.checks.cases import (TOY_DIRECTED, TOY_DIRECTED_LOOPED, directed_graph, load_cora, random_graph,
                                 seeded_generator, spread_scores)
from course.checks.core import Case, Check, register
from course.checks.modules import DropoutCall, GATParameterMap, recorded_dropout
from gatkit.functional import (aggregate, combine_heads, edge_scores, neighbourhood_max, neighbourhood_softmax,
                               node_scores)
from gatkit.layers import GATLayerEdge


# --- cases --------------------------------------------------------------------------------

def _score_inputs(edge_index: torch.Tensor, num_nodes: int, heads: int, seed: int) -> tuple:
    generator = seeded_generator(seed)
    s_src = torch.randn(num_nodes, heads, generator=generator)  # (N, H)
    s_dst = torch.randn(num_nodes, heads, generator=generator)  # (N, H)
    return s_src, s_dst, edge_index


def _score_cases() -> list[Case]:
    cora = load_cora()
    return [Case("directed toy graph (4 nodes, H=2)", _score_inputs(TOY_DIRECTED_LOOPED, 4, 2, seed=10)),
            Case("random directed graph (15 nodes, 40 edges, H=3)",
                 _score_inputs(random_graph(15, 40, seed=11), 15, 3, seed=12)),
            Case("Cora with self-loops (H=8)",
                 _score_inputs(cora.edge_index_with_self_loops, cora.num_nodes, 8, seed=13))]


def _max_cases() -> list[Case]:
    cora = load_cora()
    random_edges = random_graph(12, 35, seed=14)
    sparse_edges, n_sparse = directed_graph(10, 16, seed=15, loops=(0, 3, 6), isolated=1)
    return [Case("directed toy graph (4 nodes, node 3 receives nothing; H=2; scores around +120, -120 and "
                 "+-100 per neighbourhood)", (spread_scores(TOY_DIRECTED, 4, 2, seed=16), TOY_DIRECTED, 4)),
            Case("random directed graph (12 nodes, 35 edges and a self-loop each, columns shuffled; H=3; "
                 "neighbourhoods around +120, -120 and +-100, the signs flipped in every other head)",
                 (spread_scores(random_edges, 12, 3, seed=17), random_edges, 12)),
            Case("random directed graph, scores in FLOAT64 (11 nodes, some of them receive nothing, "
                 "columns shuffled; H=2)",
                 (spread_scores(sparse_edges, n_sparse, 2, seed=18).double(), sparse_edges, n_sparse)),
            Case("Cora with self-loops (H=8)",
                 (spread_scores(cora.edge_index_with_self_loops, cora.num_nodes, 8, seed=19),
                  cora.edge_index_with_self_loops, cora.num_nodes))]


# --- known mistakes, each fed to its check by the tests --------------------------------------

def _scores_swapped(s_src, s_dst, edge_index):
    return edge_scores(s_src, s_dst, edge_index.flip(0))


def _scores_without_leaky_relu(s_src, s_dst, edge_index):
    return s_src.index_select(0, edge_index[0]) + s_dst.index_select(0, edge_index[1])


def _scores_default_slope(s_src, s_dst, edge_index):
    return F.leaky_relu(_scores_without_leaky_relu(s_src, s_dst, edge_index))  # slope 0.01


def _per_node(scores, node, num_nodes, reduce, include_self=False):
    """(N, H): ``reduce`` of ``scores`` (E, H) over the edges whose ``node`` (E,) is each node, from zeros."""
    index = node.unsqueeze(1).expand_as(scores)  # (E, H)
    return scores.new_zeros(num_nodes, scores.shape[1]).scatter_reduce(0, index, scores, reduce=reduce,
                                                                       include_self=include_self)


def _one_global_max(scores, edge_index, num_nodes):
    return scores.max().expand(num_nodes, scores.shape[1]).clone()  # the original project's shift


def _one_max_per_head(scores, edge_index, num_nodes):
    return scores.amax(dim=0).expand(num_nodes, -1).clone()


def _zeros_take_part(scores, edge_index, num_nodes):
    return _per_node(scores, edge_index[1], num_nodes, "amax", include_self=True)


def _minus_inf_without_incoming_edges(scores, edge_index, num_nodes):
    index = edge_index[1].unsqueeze(1).expand_as(scores)  # (E, H)
    start = torch.full((num_nodes, scores.shape[1]), -math.inf, dtype=scores.dtype)  # (N, H)
    return start.scatter_reduce(0, index, scores, reduce="amax")


def _max_over_sources(scores, edge_index, num_nodes):
    return _per_node(scores, edge_index[0], num_nodes, "amax")


def _max_over_heads(scores, edge_index, num_nodes):
    return _per_node(scores, edge_index[1], num_nodes, "amax").amax(dim=1, keepdim=True).expand(-1, scores.shape[1])


def _index_not_expanded(scores, edge_index, num_nodes):
    index = edge_index[1].unsqueeze(1)  # (E, 1): scatter_reduce then fills column 0 only
    return scores.new_zeros(num_nodes, scores.shape[1]).scatter_reduce(0, index, scores, "amax", include_self=False)


def _per_target_min(scores, edge_index, num_nodes):
    return _per_node(scores, edge_index[1], num_nodes, "amin")


def _per_target_mean(scores, edge_index, num_nodes):
    return _per_node(scores, edge_index[1], num_nodes, "mean")


def _gathered_to_edges(scores, edge_index, num_nodes):
    return neighbourhood_max(scores, edge_index, num_nodes).index_select(0, edge_index[1])  # (E, H)


def _consecutive_blocks(scores, edge_index, num_nodes):
    counts = torch.bincount(edge_index[1], minlength=num_nodes).tolist()  # block sizes, if sorted by target
    blocks = torch.split(scores, counts)
    return torch.stack([block.amax(dim=0) if len(block) else scores.new_zeros(scores.shape[1]) for block in blocks])


def _loop_into_float32_zeros(scores, edge_index, num_nodes):
    top = torch.zeros(num_nodes, scores.shape[1])  # float32, whatever the scores' dtype
    for node in edge_index[1].unique().tolist():
        top[node] = scores[edge_index[1] == node].amax(dim=0)
    return top


register(Check(
    id="6.1",
    title="lifting scores to the edges",
    reference=edge_scores,
    cases=_score_cases,
    hint="Take the source's score with s_src.index_select(0, edge_index[0]), the target's with "
         "s_dst.index_select(0, edge_index[1]), add them (E, H), then F.leaky_relu(..., 0.2).",
    mistakes={
        "Source and target are swapped: row 0 of edge_index is the SOURCE j (its score comes from "
        "s_src) and row 1 the TARGET i (s_dst).": _scores_swapped,
        "The LeakyReLU is missing: e = LeakyReLU(s_src[j] + s_dst[i]) with slope 0.2.":
            _scores_without_leaky_relu,
        "LeakyReLU has the wrong slope: F.leaky_relu defaults to 0.01, GAT uses "
        "negative_slope=0.2.": _scores_default_slope,
    },
))

register(Check(
    id="6.2",
    title="the maximum of each neighbourhood",
    reference=neighbourhood_max,
    cases=_max_cases,
    hint="Group the edges by their TARGET edge_index[1]: with index = edge_index[1].unsqueeze(1).expand_as(scores) "
         "(E, H), scores.new_zeros(num_nodes, H).scatter_reduce(0, index, scores, reduce='amax', "
         "include_self=False) puts in row i the max over the edges into i, per head, and leaves 0 where "
         "no edge arrives.",
    mistakes={
        "You took ONE max over all edges, as the original PyTorch GAT project's softmax does: every "
        "row is the same. Subtracted before exp, it makes a neighbourhood far below it (here around "
        "-120 against +120) underflow to 0, so its attention sums to 0 (or is 0 / 0 = nan). Row i must "
        "be the max over the edges INTO i only: scatter_reduce at edge_index[1].": _one_global_max,
        "You took one max per head over ALL edges, so every node gets the same row: row i must be the "
        "max over the edges INTO i only (scatter_reduce at edge_index[1]).": _one_max_per_head,
        "Your maximum also sees the zeros you started from: scatter_reduce includes the destination's "
        "initial values unless include_self=False, so a neighbourhood whose scores are all negative "
        "(here around -120) gets the max 0, not its own.": _zeros_take_part,
        "A node without incoming edges must get 0 (this course's and gatkit's convention), not -inf: "
        "start from scores.new_zeros(...) and pass include_self=False, so the zeros stay out of every "
        "max and remain only where no edge arrives. -inf turns into nan as soon as it meets a 0 "
        "(-inf * 0) or itself (-inf - -inf).": _minus_inf_without_incoming_edges,
        "You grouped the edges by their SOURCE (edge_index[0]): row i is the max over the edges INTO "
        "i, whose targets are edge_index[1]. Only a directed graph shows the difference.": _max_over_sources,
        "Your max also runs over the heads: every head of a node gets the same value. Each head has "
        "its own scores and its own maximum; reduce over the edges only (dim 0).": _max_over_heads,
        "Only the first head got its max, the other heads stayed 0: the index for scatter_reduce must "
        "have the shape of scores, (E, H), edge_index[1].unsqueeze(1).expand_as(scores), or it fills "
        "only the columns the index covers.": _index_not_expanded,
        "That is the per-target MIN (reduce='amin'): the softmax subtracts the largest score, so that "
        "its largest term is exp(0) = 1; use reduce='amax'.": _per_target_min,
        "That is the per-target MEAN (reduce='mean'): shifting by the mean leaves exp(max - mean), which "
        "overflows when a neighbourhood spreads widely (here +-100). Use reduce='amax'.": _per_target_mean,
        "You returned one row per edge, (E, H): each neighbourhood's max gathered back to its edges. "
        "Return the (N, H) table, one row per node; the softmax gathers it with index_select itself.":
            _gathered_to_edges,
        "You took the max of consecutive blocks of columns, as if the edges were sorted by target: the "
        "columns of edge_index come in any order (here shuffled). scatter_reduce at edge_index[1] "
        "works in any order.": _consecutive_blocks,
        "Your result is float32 for float64 scores: build it with scores.new_zeros(num_nodes, H) (or "
        "dtype=scores.dtype), so it keeps the dtype of the scores.": _loop_into_float32_zeros,
    },
))



# --- 6.3 the layer as an nn.Module -------------------------------------------------------------------

PASSED_INITIALISATION = "Glorot-uniform W, a_src, a_dst; zero bias"
NOT_COMPARED = "not compared: the parameters were not recognised"
# What a layer's result holds besides "parameters", in the order they are compared (the first
# difference is the one reported).
LAYER_KEYS = ("initialisation", "output", "output in train mode", "input dropout", "attention dropout",
              "other dropout", "dropout in eval mode", "no gradient for", "gradients")


def _layer_case(label: str, edge_index: torch.Tensor, num_nodes: int, in_features: int, out_features: int,
                heads: int, concat: bool, dropout: float, attention_dropout: float, seed: int) -> Case:
    x = torch.randn(num_nodes, in_features, generator=seeded_generator(seed))  # (N, F)
    return Case(label, (x, edge_index), dict(out_features=out_features, heads=heads, concat=concat, dropout=dropout,
                                             attention_dropout=attention_dropout, seed=seed))


def _layer_cases() -> list[Case]:
    loops = tuple(range(0, 12, 2))  # self-loops on the even nodes only
    random_edges, n_random = directed_graph(12, 30, seed=60, loops=loops, isolated=1)  # node 12: no edge
    averaged_edges, n_averaged = directed_graph(10, 24, seed=61, loops=tuple(range(10)))
    wide_edges = random_graph(10, 25, seed=62)
    return [_layer_case("directed toy graph (4 nodes, node 3 receives nothing; F=5, H=2, F'=3, heads "
                        "concatenated, dropout=0.3, attention_dropout=0.7)",
                        TOY_DIRECTED, 4, 5, 3, 2, True, 0.3, 0.7, seed=63),
            _layer_case("random directed graph (13 nodes, node 12 isolated, self-loops on even nodes only, "
                        "columns shuffled; F=7, H=3, F'=4, heads concatenated, dropout=0.3, attention_dropout=0.7)",
                        random_edges, n_random, 7, 4, 3, True, 0.3, 0.7, seed=64),
            _layer_case("random directed graph (10 nodes; F=8, H=3, F'=5, heads AVERAGED (concat=False), "
                        "dropout=0.6, attention_dropout=0.2)",
                        averaged_edges, n_averaged, 8, 5, 3, False, 0.6, 0.2, seed=65),
            _layer_case("wide layer (10 nodes; F=96, H=2, F'=40: W has 7680 entries, so its initial values "
                        "show the initialisation rule; dropout=0.3, attention_dropout=0.7)",
                        wide_edges, 10, 96, 40, 2, True, 0.3, 0.7, seed=66)]


def _fixed_parameters(in_features: int, out_features: int, heads: int, concat: bool, seed: int) -> dict:
    """gatkit-layout parameters loaded into every layer of a case: z ~ N(0, 1), scores of a few units."""
    generator = seeded_generator(seed + 1000)
    bias_size = heads * out_features if concat else out_features
    return {"linear.weight": torch.randn(heads * out_features, in_features, generator=generator) / math.sqrt(in_features),
            "a_src": 1.5 * torch.randn(heads, out_features, generator=generator) / math.sqrt(out_features),
            "a_dst": 1.5 * torch.randn(heads, out_features, generator=generator) / math.sqrt(out_features),
            "bias": torch.randn(bias_size, generator=generator)}


# -- initialisation: what the Glorot rule fixes ------------------------------------------------------

def _glorot_problem(name: str, values: torch.Tensor, *, low: float, high: float, default: float) -> str | None:
    """Why ``values`` cannot be Glorot-uniform: all zero, beyond ``high`` (the widest Glorot bound of
    any layout), one-signed, or (where a correct draw would fail with probability below 1e-6)
    spanning less than 0.8 of ``low`` (the narrowest bound), e.g. nn.Linear's ``default``."""
    top = values.abs().max().item()
    if top == 0:
        return f"{name} is all zeros"
    if top > high * (1 + 1e-5):
        return f"{name} exceeds the Glorot-uniform bound {high:.2f} (a gain, or a normal init?)"
    if not values.min() < 0 < values.max():
        return f"{name} has one sign only: Glorot-uniform is symmetric about 0"
    if 0.8 ** values.numel() < 1e-6 and top < 0.8 * low:
        if top <= default * (1 + 1e-5):
            return f"{name} keeps nn.Linear's default init (within {default:.2f}), not Glorot ({low:.2f})"
        return f"{name} spans less than 0.8 of its Glorot-uniform bound {low:.2f}"
    return None


def _initialisation(parameters: dict, in_features: int, out_features: int, heads: int) -> str:
    """PASSED_INITIALISATION, or the first way the parameters break the rule (W, a_src, a_dst, bias)."""
    f, fp, h = in_features, out_features, heads
    # W: Glorot over the whole projection (F -> H*F'), or per head (F -> F', as the authors' code).
    problem = _glorot_problem("W", parameters["linear.weight"], low=math.sqrt(6 / (f + h * fp)),
                              high=math.sqrt(6 / (f + fp)), default=1 / math.sqrt(f))
    # a: xavier_uniform_ on (H, F'), (1, H, F'), (H, 2F'), one (F', 1) or (2F', 1) per head...
    a_bounds = [math.sqrt(6 / fan) for fan in (h + fp, (h + 1) * fp, h + 2 * fp, fp + 1, 2 * fp + 1, h * fp + 1)]
    for name in ("a_src", "a_dst"):
        problem = problem or _glorot_problem(name, parameters[name], low=min(a_bounds), high=max(a_bounds),
                                             default=1 / math.sqrt(fp))
    if problem is None and parameters["bias"].abs().max() > 0:
        problem = "the bias is not zero"
    return problem or PASSED_INITIALISATION


# -- where dropout went -------------------------------------------------------------------------------

def _reference_parts(x: torch.Tensor, edge_index: torch.Tensor, parameters: dict, heads: int,
                     concat: bool) -> dict[str, torch.Tensor]:
    """Every intermediate tensor of the layer (with these parameters), by the name a message gives it."""
    n = x.shape[0]
    z = (x @ parameters["linear.weight"].T).view(n, heads, -1)  # (N, H, F')
    e = edge_scores(node_scores(z, parameters["a_src"]), node_scores(z, parameters["a_dst"]), edge_index)  # (E, H)
    top = neighbourhood_max(e, edge_index, n)  # (N, H)
    alpha = neighbourhood_softmax(e, edge_index, n)  # (E, H)
    out = aggregate(alpha, z, edge_index)  # (N, H, F')
    return {"x": x, "z = x W (after the projection)": z, "the raw scores e (before the softmax)": e,
            "alpha after the softmax": alpha,
            "exp(e - max) (before the softmax's division)": (e - top.index_select(0, edge_index[1])).exp(),
            "the messages alpha_ij z_j": alpha.unsqueeze(-1) * z.index_select(0, edge_index[0]),
            "the aggregated heads": out, "the layer's output": combine_heads(out, concat) + parameters["bias"]}


def _share_found(values: torch.Tensor, candidates: torch.Tensor) -> float:
    """The share of the finite, non-zero entries of ``values`` that occur (to 1e-4) in sorted ``candidates``."""
    v = values.detach().flatten().double()
    v = v[torch.isfinite(v) & (v != 0) & (v.abs() < 1e6)]  # masked-out entries: 0, -inf or -9e15
    if v.numel() == 0:
        return 0.0
    at = torch.searchsorted(candidates, v).clamp(1, candidates.numel() - 1)
    nearest = torch.minimum((candidates[at] - v).abs(), (candidates[at - 1] - v).abs())
    return (nearest <= 1e-4 * v.abs() + 1e-6).double().mean().item()


def _what(call: DropoutCall, parts: dict[str, torch.Tensor]) -> str:
    """Which of the layer's tensors a dropout call was applied to, in any layout (per head, dense, ...)."""
    shares = {name: _share_found(call.input, part.detach().flatten().double().sort().values)
              for name, part in parts.items()}
    best = max(shares, key=shares.get)  # the first of equal shares: x before z before e ...
    return best if shares[best] >= 0.9 else f"a tensor of shape {tuple(call.input.shape)}"


def _dropout_entries(train_calls: list[DropoutCall], eval_calls: list[DropoutCall],
                     parts: dict[str, torch.Tensor]) -> dict[str, str]:
    """Where the active dropout calls went: input, attention, anything else, and any in eval mode."""
    def described(calls):
        return [(_what(call, parts), f"{_what(call, parts)}, p={call.p:g}") for call in calls if call.active]

    def joined(items):
        return "; ".join(dict.fromkeys(text for _, text in items)) or "none"

    found = described(train_calls)
    inputs = ("x", "z = x W (after the projection)")
    scores = ("the raw scores e (before the softmax)", "alpha after the softmax",
              "exp(e - max) (before the softmax's division)")
    return {"input dropout": joined(item for item in found if item[0] in inputs),
            "attention dropout": joined(item for item in found if item[0] in scores),
            "other dropout": joined(item for item in found if item[0] not in inputs + scores),
            "dropout in eval mode": joined(described(eval_calls))}


# -- the run ------------------------------------------------------------------------------------------

def run_layer(answer, x: torch.Tensor, edge_index: torch.Tensor, *, out_features: int, heads: int, concat: bool,
              dropout: float, attention_dropout: float, seed: int) -> dict:
    """Build ``answer`` (a layer class) for the case and return everything 6.3 compares, by name.

    The layer is built under ``seed`` (its initial values judged by :func:`_initialisation`),
    then given the case's fixed parameters, so that its outputs and gradients can equal the
    reference's exactly; dropout is recorded, not applied.
    """
    in_features = x.shape[1]
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        layer = answer(in_features, out_features, heads, concat=concat, dropout=dropout,
                       attention_dropout=attention_dropout)
    try:
        mapping = GATParameterMap(layer, in_features, out_features, heads, concat)
    except ValueError as error:
        return {"parameters": str(error), **dict.fromkeys(LAYER_KEYS, NOT_COMPARED)}
    found = ", ".join(f"{name.replace('linear.weight', 'W')} {tuple(shape)}" for name, shape in mapping.shapes.items())
    result = {"parameters": found,
              "initialisation": _initialisation(mapping.read(), in_features, out_features, heads)}

    fixed = _fixed_parameters(in_features, out_features, heads, concat, seed)
    mapping.load(fixed)
    with torch.random.fork_rng(), recorded_dropout() as eval_calls:
        output = layer.eval()(x, edge_index)
    with torch.random.fork_rng(), recorded_dropout() as train_calls:
        train_output = layer.train()(x, edge_index)
    result["output"] = _detached(output)
    result["output in train mode"] = _detached(train_output)
    result.update(_dropout_entries(train_calls, eval_calls, _reference_parts(x, edge_index, fixed, heads, concat)))
    result.update(_gradients(layer, mapping, x, edge_index, seed))
    return result


def _detached(value):
    return value.detach() if isinstance(value, torch.Tensor) else value


def _gradients(layer: nn.Module, mapping: GATParameterMap, x: torch.Tensor, edge_index: torch.Tensor,
               seed: int) -> dict:
    """Gradients of a fixed random projection of the eval-mode output w.r.t. x and W, a_src, a_dst, bias."""
    x = x.clone().requires_grad_()
    layer.zero_grad(set_to_none=True)
    with torch.random.fork_rng(), recorded_dropout():
        output = layer.eval()(x, edge_index)
    if isinstance(output, torch.Tensor) and output.requires_grad:
        projection = torch.randn(output.shape, generator=seeded_generator(seed + 2000))
        (output * projection).sum().backward()
    missing = (["x"] if x.grad is None else []) + mapping.without_gradient()
    gradients = {"x": x.grad if x.grad is not None else torch.zeros_like(x)}
    gradients.update((name.replace("linear.weight", "W"), grad) for name, grad in mapping.read(grad=True).items())
    return {"no gradient for": ", ".join(missing) or "none", "gradients": gradients}


# -- known mistakes: a learner's layer, one step changed at a time -------------------------------------

class StepwiseLayer(nn.Module):
    """A correct layer as a learner writes it, one overridable method per step: each known
    mistake here, and each mutant in the test suite, changes one step."""

    projection_bias = False

    def __init__(self, in_features, out_features, heads=1, *, concat=True, dropout=0.0, attention_dropout=0.0):
        super().__init__()
        self.heads, self.out_features, self.concat = heads, out_features, concat
        self.dropout, self.attention_dropout = dropout, attention_dropout
        self.linear = nn.Linear(in_features, heads * out_features, bias=self.projection_bias)  # (H*F', F)
        self.a_src = nn.Parameter(torch.empty(heads, out_features))  # (H, F')
        self.a_dst = nn.Parameter(torch.empty(heads, out_features))  # (H, F')
        self.bias = nn.Parameter(torch.zeros(self.bias_size()))
        self.initialise()

    def bias_size(self):
        return self.heads * self.out_features if self.concat else self.out_features

    def initialise(self):
        for weight in (self.linear.weight, self.a_src, self.a_dst):
            nn.init.xavier_uniform_(weight)

    def drop(self, t, p):
        return F.dropout(t, p, self.training)

    def drop_input(self, x):
        return self.drop(x, self.dropout)

    def drop_projected(self, z):
        return z

    def drop_scores(self, e):
        return e

    def drop_attention(self, alpha):
        return self.drop(alpha, self.attention_dropout)

    def project(self, x):
        return self.linear(x).view(x.shape[0], self.heads, self.out_features)  # (N, H, F')

    def scores(self, z, edge_index):
        return edge_scores(node_scores(z, self.a_src), node_scores(z, self.a_dst), edge_index)  # (E, H)

    def softmax(self, e, edge_index, n):
        return neighbourhood_softmax(e, edge_index, n)  # (E, H)

    def aggregate(self, alpha, z, edge_index):
        return aggregate(alpha, z, edge_index)  # (N, H, F')

    def finish(self, out):
        return combine_heads(out, self.concat) + self.bias  # (N, H*F') or (N, F')

    def forward(self, x, edge_index):
        n = x.shape[0]
        z = self.drop_projected(self.project(self.drop_input(x)))  # (N, H, F')
        alpha = self.softmax(self.drop_scores(self.scores(z, edge_index)), edge_index, n)  # (E, H)
        return self.finish(self.aggregate(self.drop_attention(alpha), z, edge_index))


class _DropoutInEvalMode(StepwiseLayer):
    def drop(self, t, p):
        return F.dropout(t, p)  # training defaults to True


class _AttentionDropoutOnScores(StepwiseLayer):
    def drop_scores(self, e):
        return self.drop(e, self.attention_dropout)

    def drop_attention(self, alpha):
        return alpha


class _InputDropoutAfterProjection(StepwiseLayer):
    def drop_input(self, x):
        return x

    def drop_projected(self, z):
        return self.drop(z, self.dropout)


class _NoAttentionDropout(StepwiseLayer):
    def drop_attention(self, alpha):
        return alpha


class _DropoutProbabilitiesSwapped(StepwiseLayer):
    def drop_input(self, x):
        return self.drop(x, self.attention_dropout)

    def drop_attention(self, alpha):
        return self.drop(alpha, self.dropout)


class _HeadsCombinedTheOtherWay(StepwiseLayer):
    def bias_size(self):
        return self.out_features if self.concat else self.heads * self.out_features

    def finish(self, out):
        return combine_heads(out, not self.concat) + self.bias


class _BiasInTheProjection(StepwiseLayer):
    projection_bias = True  # nn.Linear's default


class _BiasPerHeadBeforeTheMean(StepwiseLayer):
    def bias_size(self):
        return self.heads * self.out_features

    def finish(self, out):
        return combine_heads(out + self.bias.view(self.heads, self.out_features), self.concat)


class _AttentionVectorsSwapped(StepwiseLayer):
    def scores(self, z, edge_index):
        return edge_scores(node_scores(z, self.a_dst), node_scores(z, self.a_src), edge_index)


class _LinearDefaultInitialisation(StepwiseLayer):
    def initialise(self):
        for weight in (self.a_src, self.a_dst):
            nn.init.xavier_uniform_(weight)  # W keeps nn.Linear's own init


class _ZeroAttentionVectors(StepwiseLayer):
    def initialise(self):
        nn.init.xavier_uniform_(self.linear.weight)  # a_src, a_dst: zeros
        nn.init.zeros_(self.a_src)
        nn.init.zeros_(self.a_dst)


class _NoLeakyReLU(StepwiseLayer):
    def scores(self, z, edge_index):
        return node_scores(z, self.a_src)[edge_index[0]] + node_scores(z, self.a_dst)[edge_index[1]]


class _LeakyReLUDefaultSlope(StepwiseLayer):
    def scores(self, z, edge_index):
        return F.leaky_relu(node_scores(z, self.a_src)[edge_index[0]] + node_scores(z, self.a_dst)[edge_index[1]])


class _PlainTensorAttribute(StepwiseLayer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        a_src = self.a_src.detach().clone()
        del self.a_src
        self.a_src = a_src  # a plain tensor: not among the parameters, so never trained


register(Check(
    id="6.3",
    title="the layer as an nn.Module",
    reference=GATLayerEdge,
    cases=_layer_cases,
    run=run_layer,
    rtol=1e-5,
    atol=1e-5,
    hint="In __init__: W = nn.Linear(in_features, heads * out_features, bias=False), a_src and a_dst "
         "nn.Parameter (H, F'), all three nn.init.xavier_uniform_; the bias nn.Parameter of zeros, (H*F',) "
         "if concat else (F',). In forward: F.dropout(x, self.dropout, self.training), z (N, H, F'), the "
         "node scores, edge_scores, neighbourhood_softmax, F.dropout(alpha, self.attention_dropout, "
         "self.training), aggregate, then reshape to (N, H*F') or mean over the heads, then + bias.",
    mistakes={
        "Your dropout also drops in eval mode: F.dropout defaults to training=True. Pass "
        "training=self.training (or use nn.Dropout modules, which follow .train() and .eval()).":
            _DropoutInEvalMode,
        "Attention dropout goes on the NORMALISED coefficients alpha, after the softmax (the paper "
        "drops 'the normalized attention coefficients'), so that each node aggregates over a random "
        "subset of its neighbours. Dropping the raw scores before the softmax only perturbs them.":
            _AttentionDropoutOnScores,
        "Input dropout goes on the layer's input x, before the projection: you dropped z = x W.":
            _InputDropoutAfterProjection,
        "attention_dropout is never applied: drop alpha after the softmax, before the aggregation, "
        "with F.dropout(alpha, self.attention_dropout, self.training).": _NoAttentionDropout,
        "The two dropout probabilities are swapped: `dropout` is for the input x, `attention_dropout` "
        "for alpha.": _DropoutProbabilitiesSwapped,
        "The projection has a bias (nn.Linear's default is bias=True): GAT's W is a plain linear map, "
        "nn.Linear(in_features, heads * out_features, bias=False); the layer's one bias is added at "
        "the end.": _BiasInTheProjection,
        # before the next one: on the concat=False case both give a bias of H*F' entries
        "With concat=False the bias has F' entries and is added once, after the mean over the heads, "
        "not per head before it.": _BiasPerHeadBeforeTheMean,
        "The heads are combined the wrong way round: concat=True concatenates them, (N, H*F') with a "
        "bias of H*F'; concat=False averages them, (N, F') with a bias of F'.": _HeadsCombinedTheOtherWay,
        "a_src and a_dst are swapped: a_src scores the SOURCE j of an edge (edge_index[0]), a_dst the "
        "TARGET i; check your node scores and which one you pass to edge_scores as s_src.":
            _AttentionVectorsSwapped,
        "W keeps nn.Linear's default initialisation (uniform within 1/sqrt(F)): GAT initialises it "
        "Glorot-uniform, nn.init.xavier_uniform_(self.linear.weight).": _LinearDefaultInitialisation,
        "a_src and a_dst start at zero: then every score is 0, attention is uniform and every head "
        "starts out the same. Initialise them with nn.init.xavier_uniform_.": _ZeroAttentionVectors,
        "The LeakyReLU is missing: e_ij = LeakyReLU(s_src[j] + s_dst[i]) with slope 0.2 (edge_scores "
        "of exercise 6.1 applies it).": _NoLeakyReLU,
        "LeakyReLU has the wrong slope: F.leaky_relu defaults to 0.01, GAT uses negative_slope=0.2.":
            _LeakyReLUDefaultSlope,
        "a_src is a plain tensor attribute, so it is not among the layer's parameters: the optimiser "
        "never updates it, and .to(device) and state_dict() skip it. Wrap it: "
        "self.a_src = nn.Parameter(...).": _PlainTensorAttribute,
    },
))
