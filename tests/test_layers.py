"""Tests for gatkit.layers: the three GAT implementations compute one function, correctly and stably.

The implementations are compared with each other, with a slow float64 reference written straight
from the paper's equations (one loop per target and head), and with PyTorch Geometric's GATConv.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from gatkit import functional
from gatkit.layers import (ATTENTION_TYPES, GAT, LAYER_TYPES, GATLayer, GATLayerDense, GATLayerEdge, GATLayerMasked,
                           GATv2LayerEdge, GraphAttentionLayer, NoGraphLayer, UniformLayerEdge)

MIRROR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "planetoid"
IMPLEMENTATIONS = [GATLayerDense, GATLayerMasked, GATLayerEdge]
ATOL = 1e-5
FAST = settings(max_examples=60, deadline=None)


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

@st.composite
def graphs(draw, max_nodes: int = 8, self_loops: bool | None = None):
    """(num_nodes, edge_index): random directed graphs, columns in random order, no duplicates."""
    n = draw(st.integers(1, max_nodes))
    node = st.integers(0, n - 1)
    pairs = draw(st.sets(st.tuples(node, node), max_size=3 * n))
    if self_loops is None:
        self_loops = draw(st.booleans())
    if self_loops:
        pairs |= {(i, i) for i in range(n)}
    pairs = draw(st.permutations(sorted(pairs)))
    edge_index = torch.tensor(pairs, dtype=torch.long).reshape(-1, 2).T  # (2, E)
    return n, edge_index.contiguous()


configs = st.fixed_dictionaries({
    "in_features": st.integers(1, 5),
    "out_features": st.integers(1, 4),
    "heads": st.integers(1, 3),
    "concat": st.booleans(),
    "residual": st.booleans(),
    "bias": st.booleans(),
})


def randomise(module: torch.nn.Module, seed: int) -> None:
    """Give every parameter random values (the bias starts at zero, which would hide a mix-up)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator))


def same_layers(config: dict, seed: int = 0, **extra) -> list[GATLayer]:
    """The three implementations holding one state dict (loaded strictly), in eval mode."""
    first = GATLayerDense(**config, **extra)
    randomise(first, seed)
    layers = [first]
    for cls in IMPLEMENTATIONS[1:]:
        layer = cls(**config, **extra)
        layer.load_state_dict(first.state_dict(), strict=True)
        layers.append(layer)
    return [layer.eval() for layer in layers]


def reference(layer: GATLayer, x: torch.Tensor, edge_index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The paper's equations, one target and head at a time, in float64."""
    p = {name: t.detach().double() for name, t in layer.named_parameters()}
    n, h, f_out = x.shape[0], layer.heads, layer.out_features
    z = (x.double() @ p["linear.weight"].T).view(n, h, f_out)  # (N, H, F')
    out = torch.zeros(n, h, f_out, dtype=torch.float64)
    alpha = torch.zeros(edge_index.shape[1], h, dtype=torch.float64)
    for i in range(n):
        incoming = [k for k in range(edge_index.shape[1]) if edge_index[1, k] == i]
        if not incoming:
            continue
        for head in range(h):
            scores = torch.stack([
                F.leaky_relu(p["a_dst"][head] @ z[i, head] + p["a_src"][head] @ z[edge_index[0, k], head], 0.2)
                for k in incoming])
            weights = torch.softmax(scores, dim=0)
            for k, w in zip(incoming, weights):
                alpha[k, head] = w
                out[i, head] += w * z[edge_index[0, k], head]
    out = out.reshape(n, h * f_out) if layer.concat else out.mean(dim=1)
    if layer.residual is not None:
        out = out + x.double() @ p["residual.weight"].T
    if layer.bias is not None:
        out = out + p["bias"]
    return out, alpha


def per_target_sums(alpha: torch.Tensor, edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """Sum of alpha (E, H) over the incoming edges of each target -> (N, H)."""
    return alpha.new_zeros(num_nodes, alpha.shape[1]).index_add(0, edge_index[1], alpha)


def global_max_softmax(e: torch.Tensor, dst: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """The original project's mistake: ONE max over all edges, then per-target sums (+ epsilon)."""
    p = (e - e.max()).exp()  # (E, H)
    sums = p.new_zeros(num_nodes, e.shape[1]).index_add(0, dst, p)  # (N, H)
    return p / (sums.index_select(0, dst) + 1e-16)  # (E, H)


class GlobalMaxEdgeLayer(GATLayerEdge):
    """Implementation 3 with the global-max softmax: the stability test must catch it."""

    def _attend(self, x, edge_index):
        z = self.project(x)  # (N, H, F')
        e = functional.edge_scores(functional.node_scores(z, self.a_src), functional.node_scores(z, self.a_dst),
                                   edge_index)  # (E, H)
        alpha = global_max_softmax(e, edge_index[1], x.shape[0])  # (E, H)
        return functional.aggregate(alpha, z, edge_index), alpha


# --------------------------------------------------------------------------
# The three implementations compute one (correct) function
# --------------------------------------------------------------------------

@FAST
@given(graph=graphs(), config=configs, seed=st.integers(0, 2**16))
def test_implementations_agree_with_each_other_and_the_reference(graph, config, seed):
    n, edge_index = graph
    layers = same_layers(config, seed)
    x = torch.randn(n, config["in_features"], generator=torch.Generator().manual_seed(seed + 1))
    expected_out, expected_alpha = reference(layers[0], x, edge_index)
    width = config["heads"] * config["out_features"] if config["concat"] else config["out_features"]
    results = [layer(x, edge_index, return_attention=True) for layer in layers]
    for layer, (out, alpha) in zip(layers, results):
        name = type(layer).__name__
        assert out.shape == (n, width) and alpha.shape == (edge_index.shape[1], config["heads"]), name
        torch.testing.assert_close(out.double(), expected_out, atol=ATOL, rtol=1e-5, msg=lambda m: f"{name}: {m}")
        torch.testing.assert_close(alpha.double(), expected_alpha, atol=ATOL, rtol=1e-5, msg=lambda m: f"{name}: {m}")
        # ... and with implementation 1 directly, to the same tolerance
        torch.testing.assert_close(out, results[0][0], atol=ATOL, rtol=1e-5, msg=lambda m: f"{name}: {m}")
        torch.testing.assert_close(alpha, results[0][1], atol=ATOL, rtol=1e-5, msg=lambda m: f"{name}: {m}")


@FAST
@given(graph=graphs(), config=configs, seed=st.integers(0, 2**16))
def test_attention_sums_to_one_over_each_targets_incoming_edges(graph, config, seed):
    n, edge_index = graph
    x = torch.randn(n, config["in_features"], generator=torch.Generator().manual_seed(seed))
    has_incoming = torch.zeros(n, dtype=torch.bool)
    has_incoming[edge_index[1]] = True
    for layer in same_layers(config):
        _, alpha = layer(x, edge_index, return_attention=True)
        assert bool((alpha >= 0).all())
        sums = per_target_sums(alpha, edge_index, n)  # (N, H)
        torch.testing.assert_close(sums[has_incoming], torch.ones_like(sums[has_incoming]), atol=ATOL, rtol=0)


@pytest.mark.parametrize("cls", IMPLEMENTATIONS)
def test_a_node_whose_only_incoming_edge_is_its_self_loop_attends_to_itself_fully(cls):
    # 0 -> 1 and 2 -> 1; node 0 and node 2 only hear themselves.
    edge_index = torch.tensor([[0, 1, 2, 0, 2], [0, 1, 2, 1, 1]])
    layer = cls(3, 2, heads=2).eval()
    randomise(layer, 3)
    x = torch.randn(3, 3, generator=torch.Generator().manual_seed(3))
    _, alpha = layer(x, edge_index, return_attention=True)
    torch.testing.assert_close(alpha[[0, 2]], torch.ones(2, 2))
    assert bool((alpha[[1, 3, 4]] < 1).all())  # node 1 shares its attention among three edges


@pytest.mark.parametrize("cls", IMPLEMENTATIONS)
def test_a_src_scores_the_source_and_a_dst_the_target(cls):
    # Two edges into node 2, scalar features so every score can be computed by hand:
    # e_j2 = LeakyReLU(a_dst * z_2 + a_src * z_j) with z = x, a_src = 1, a_dst = -1.
    edge_index = torch.tensor([[0, 1], [2, 2]])
    layer = cls(1, 1).eval()
    with torch.no_grad():
        layer.linear.weight.fill_(1.0)
        layer.a_src.fill_(1.0)
        layer.a_dst.fill_(-1.0)
    x = torch.tensor([[2.0], [0.0], [5.0]])
    _, alpha = layer(x, edge_index, return_attention=True)
    # -5 + 2 = -3 -> -0.6 and -5 + 0 = -5 -> -1.0; swapped halves would give 3 and 5 instead.
    expected = torch.softmax(torch.tensor([-0.6, -1.0]), dim=0)
    torch.testing.assert_close(alpha[:, 0], expected)


@FAST
@given(graph=graphs(), config=configs, data=st.data())
def test_permuting_node_ids_permutes_the_output(graph, config, data):
    n, edge_index = graph
    perm = torch.tensor(data.draw(st.permutations(range(n))))  # new node k is old node perm[k]
    new_id = torch.empty_like(perm)
    new_id[perm] = torch.arange(n)
    x = torch.randn(n, config["in_features"], generator=torch.Generator().manual_seed(n))
    for layer in same_layers(config):
        out, alpha = layer(x, edge_index, return_attention=True)
        out_p, alpha_p = layer(x[perm], new_id[edge_index], return_attention=True)
        torch.testing.assert_close(out_p, out[perm], atol=ATOL, rtol=1e-5)
        torch.testing.assert_close(alpha_p, alpha, atol=ATOL, rtol=1e-5)  # same edges, same columns


@FAST
@given(graph=graphs(), config=configs, seed=st.integers(0, 2**16))
def test_gradients_agree_across_implementations(graph, config, seed):
    n, edge_index = graph
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, config["in_features"], generator=generator)
    layers = same_layers(config, seed)
    weights = None
    grads = []
    for layer in layers:
        x_leaf = x.clone().requires_grad_(True)
        out = layer(x_leaf, edge_index)
        if weights is None:
            weights = torch.randn(out.shape, generator=generator)
        (out * weights).sum().backward()
        grads.append({"x": x_leaf.grad, **{name: p.grad for name, p in layer.named_parameters()}})
    for other in grads[1:]:
        assert other.keys() == grads[0].keys()
        for name, grad in grads[0].items():
            assert grad is not None and bool(torch.isfinite(grad).all()), name
            torch.testing.assert_close(other[name], grad, atol=1e-5, rtol=1e-4, msg=lambda m: f"{name}: {m}")


# --------------------------------------------------------------------------
# Numerical stability: a per-target max, not a global one
# --------------------------------------------------------------------------

def far_apart_neighbourhoods() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, GATLayer]:
    """Two 4-node cliques (with self-loops) whose raw scores lie about a thousand apart.

    Returns x, edge_index, the mask of edges into the low clique, and a configured layer.
    """
    n = 8
    pairs = [(j, i) for group in (range(4), range(4, 8)) for i in group for j in group]
    edge_index = torch.tensor(pairs).T  # (2, 32)
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(n, 2, generator=generator)  # (N, 2)
    x[:4] += 300.0  # scores around +900
    x[4:] -= 300.0  # scores around -900 * 0.2 = -180
    layer = GATLayerEdge(2, 2, heads=2)
    with torch.no_grad():
        layer.linear.weight.copy_(torch.eye(2).repeat(2, 1))  # z = x in both heads
        layer.a_src.copy_(torch.tensor([[1.0, 0.5], [0.8, 0.7]]))  # both heads score the high clique
        layer.a_dst.copy_(torch.tensor([[0.5, 1.0], [1.0, 0.5]]))  # near 900, the low one near -180
    return x, edge_index, edge_index[1] >= 4, layer.eval()


@pytest.mark.parametrize("cls", IMPLEMENTATIONS)
def test_softmax_is_stable_when_neighbourhoods_score_hundreds_apart(cls):
    x, edge_index, low, configured = far_apart_neighbourhoods()
    layer = cls(2, 2, heads=2).eval()
    layer.load_state_dict(configured.state_dict())
    out, alpha = layer(x, edge_index, return_attention=True)
    s_src = layer.project(x).mul(layer.a_src).sum(-1).detach()  # (N, H)
    assert float(s_src.max() - s_src.min()) > 500  # the premise: scores hundreds apart
    assert bool(torch.isfinite(out).all()) and bool(torch.isfinite(alpha).all())
    sums = per_target_sums(alpha, edge_index, 8)
    torch.testing.assert_close(sums, torch.ones_like(sums), atol=ATOL, rtol=0)
    _, expected = reference(layer, x, edge_index)
    torch.testing.assert_close(alpha.double(), expected, atol=1e-4, rtol=1e-4)
    assert float(alpha[low].detach().min()) > 1e-3  # the low neighbourhood is not starved
    out.sum().backward()
    for name, parameter in layer.named_parameters():
        assert bool(torch.isfinite(parameter.grad).all()), name


def test_the_stability_test_rejects_a_global_max_softmax():
    x, edge_index, low, configured = far_apart_neighbourhoods()
    wrong = GlobalMaxEdgeLayer(2, 2, heads=2).eval()
    wrong.load_state_dict(configured.state_dict())
    _, alpha = wrong(x, edge_index, return_attention=True)
    sums = per_target_sums(alpha, edge_index, 8)  # (N, H)
    starved = ~torch.isfinite(sums[4:]) | (sums[4:] < 0.5)
    assert bool(starved.all()), "the global-max variant should starve the low neighbourhood"
    torch.testing.assert_close(sums[:4], torch.ones(4, 2))  # only the low clique suffers


# --------------------------------------------------------------------------
# Dropout
# --------------------------------------------------------------------------

def attention_revealing_layer(cls, n: int, heads: int, p: float) -> GATLayer:
    """A layer whose output row i, head h, column j is alpha after dropout (x = identity, W = identity)."""
    layer = cls(n, n, heads=heads, attention_dropout=p, bias=False)
    with torch.no_grad():
        layer.linear.weight.copy_(torch.eye(n).repeat(heads, 1))  # z_j = one-hot e_j in every head
    return layer


@pytest.mark.parametrize("cls", IMPLEMENTATIONS)
def test_attention_dropout_zeroes_the_requested_share_of_coefficients(cls):
    torch.manual_seed(0)
    n, heads, p = 60, 2, 0.6
    edge_index = torch.cartesian_prod(torch.arange(n), torch.arange(n)).T  # (2, 3600): every pair
    edge_index = edge_index[:, torch.rand(edge_index.shape[1]) < 0.4]  # about 1400 random edges
    layer = attention_revealing_layer(cls, n, heads, p).train()
    x = torch.eye(n)
    out, alpha = layer(x, edge_index, return_attention=True)
    dropped = out.view(n, heads, n)[edge_index[1], :, edge_index[0]]  # (E, H): alpha after dropout
    # The returned alpha is taken before dropout: it still sums to 1 per target.
    sums = per_target_sums(alpha, edge_index, n)
    torch.testing.assert_close(sums, torch.ones_like(sums), atol=ATOL, rtol=0)
    # Survivors are rescaled by 1 / (1 - p); the rest are zero.
    kept = dropped != 0
    torch.testing.assert_close(dropped[kept], alpha[kept] / (1 - p), atol=ATOL, rtol=1e-4)
    share = 1 - kept.float().mean().item()
    assert abs(share - p) < 0.05, f"{cls.__name__} dropped {share:.1%} of attention, expected about {p:.0%}"
    # Non-edges stay exactly zero.
    off_graph = torch.ones(n, n, dtype=torch.bool)
    off_graph[edge_index[1], edge_index[0]] = False
    assert bool((out.view(n, heads, n).transpose(1, 2)[off_graph] == 0).all())


@pytest.mark.parametrize("cls", IMPLEMENTATIONS)
def test_dropout_is_random_in_train_mode_and_off_in_eval_mode(cls):
    torch.manual_seed(1)
    n = 10
    edge_index = torch.cartesian_prod(torch.arange(n), torch.arange(n)).T  # (2, 100)
    x = torch.randn(n, 4)
    for kwargs in ({"attention_dropout": 0.5}, {"dropout": 0.5}):
        layer = cls(4, 3, heads=2, **kwargs)
        layer.train()
        assert not torch.equal(layer(x, edge_index), layer(x, edge_index)), kwargs
        out_1, alpha_1 = layer(x, edge_index, return_attention=True)
        if "attention_dropout" in kwargs:  # alpha is reported before dropout, whatever the draw
            torch.testing.assert_close(per_target_sums(alpha_1, edge_index, n), torch.ones(n, 2))
        layer.eval()
        assert torch.equal(layer(x, edge_index), layer(x, edge_index)), kwargs


# --------------------------------------------------------------------------
# PyTorch Geometric agrees with implementation 3
# --------------------------------------------------------------------------

def as_gatconv(layer: GATLayer):
    """A torch_geometric GATConv holding ``layer``'s weights (its own names and shapes)."""
    gat_conv = pytest.importorskip("torch_geometric.nn").GATConv
    conv = gat_conv(layer.in_features, layer.out_features, heads=layer.heads, concat=layer.concat,
                    negative_slope=layer.negative_slope, add_self_loops=False,
                    bias=layer.bias is not None, residual=layer.residual is not None)
    state = {"lin.weight": layer.linear.weight,
             "att_src": layer.a_src.unsqueeze(0),  # (1, H, F')
             "att_dst": layer.a_dst.unsqueeze(0)}
    if layer.bias is not None:
        state["bias"] = layer.bias
    if layer.residual is not None:
        state["res.weight"] = layer.residual.weight
    conv.load_state_dict(state, strict=True)
    return conv.eval()


@pytest.mark.parametrize("concat", [True, False])
@pytest.mark.parametrize("residual", [False, True])
def test_edge_layer_matches_torch_geometric_gatconv(concat, residual):
    torch.manual_seed(2)
    n = 40
    edge_index = torch.randint(0, n, (2, 150))
    edge_index = torch.unique(edge_index[:, edge_index[0] != edge_index[1]], dim=1)
    edge_index = torch.cat([edge_index, torch.arange(n).repeat(2, 1)], dim=1)  # self-loops already in
    layer = GATLayerEdge(6, 4, heads=3, concat=concat, residual=residual).eval()
    randomise(layer, 5)
    conv = as_gatconv(layer)
    x = torch.randn(n, 6)
    out, alpha = layer(x, edge_index, return_attention=True)
    out_pyg, (edge_index_pyg, alpha_pyg) = conv(x, edge_index, return_attention_weights=True)
    assert torch.equal(edge_index_pyg, edge_index)
    torch.testing.assert_close(out, out_pyg, atol=ATOL, rtol=1e-5)
    torch.testing.assert_close(alpha, alpha_pyg, atol=ATOL, rtol=1e-5)


# --------------------------------------------------------------------------
# Initialisation and input validation
# --------------------------------------------------------------------------

def test_initialisation_is_glorot_uniform_with_zero_bias_and_seeded():
    torch.manual_seed(4)
    layer = GATLayerEdge(100, 8, heads=8, residual=True)
    for name, fan_sum in [("linear.weight", 100 + 64), ("a_src", 8 + 8), ("a_dst", 8 + 8),
                          ("residual.weight", 100 + 64)]:
        values = layer.get_parameter(name).detach()
        bound = math.sqrt(6 / fan_sum)
        assert float(values.abs().max()) <= bound, name
        assert float(values.abs().max()) > 0.8 * bound, name  # it uses the whole range
    assert bool((layer.bias == 0).all())
    torch.manual_seed(4)
    again = GATLayerEdge(100, 8, heads=8, residual=True)
    for (name, a), (_, b) in zip(layer.named_parameters(), again.named_parameters()):
        assert torch.equal(a, b), name


@pytest.fixture
def toy():
    x = torch.randn(4, 3)
    edge_index = torch.tensor([[0, 1, 2, 3, 1], [0, 1, 2, 3, 0]])
    return x, edge_index


BAD_INPUTS = {
    "float edge_index": (lambda x, ei: (x, ei.float()), "edge_index.long()"),
    "transposed edge_index": (lambda x, ei: (x, ei.T.contiguous()), "use edge_index.T"),
    "edge_index with 3 rows": (lambda x, ei: (x, torch.cat([ei, ei[:1]])), "shape (2, E)"),
    "node id out of range": (lambda x, ei: (x, ei.clone().fill_(4)), "valid ids are 0 .. 3"),
    "negative node id": (lambda x, ei: (x, ei - 1), "valid ids are 0 .. 3"),
    "x 1-D": (lambda x, ei: (x[:, 0], ei), "must be 2-D"),
    "x 3-D": (lambda x, ei: (x.unsqueeze(0), ei), "must be 2-D"),
    "x too wide": (lambda x, ei: (torch.randn(4, 5), ei), "in_features=3"),
    "x integer": (lambda x, ei: (x.long(), ei), "x.float()"),
    "x float64": (lambda x, ei: (x.double(), ei), "float32"),
    "x not a tensor": (lambda x, ei: (x.tolist(), ei), "torch.Tensor"),
    "x sparse COO": (lambda x, ei: (x.to_sparse_coo(), ei), "to_sparse_csr()"),
    "x without rows": (lambda x, ei: (x[:0], ei[:, :0]), "at least one node"),
    "edge_index a list": (lambda x, ei: (x, ei.tolist()), "must be a torch.Tensor"),
}


@pytest.mark.parametrize("cls", IMPLEMENTATIONS)
@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_inputs_raise_value_errors_that_say_what_to_fix(cls, case, toy):
    make_bad, fragment = BAD_INPUTS[case]
    layer = cls(3, 2, heads=2)
    with pytest.raises(ValueError, match=re.escape(fragment)):
        layer(*make_bad(*toy))


@pytest.mark.parametrize("cls", [GATLayerDense, GATLayerMasked])
def test_dense_layers_refuse_duplicate_edges(cls, toy):
    x, edge_index = toy
    with pytest.raises(ValueError, match="duplicate.*torch.unique.*GATLayerEdge"):
        cls(3, 2)(x, torch.cat([edge_index, edge_index[:, :2]], dim=1))


def test_edge_layer_attends_over_repeated_edges_separately(toy):
    x, edge_index = toy
    doubled = torch.cat([edge_index, edge_index[:, -1:]], dim=1)  # 1 -> 0 twice
    _, alpha = GATLayerEdge(3, 2, heads=2).eval()(x, doubled, return_attention=True)
    torch.testing.assert_close(per_target_sums(alpha, doubled, 4), torch.ones(4, 2))
    torch.testing.assert_close(alpha[-1], alpha[-2])


@pytest.mark.parametrize("make", [
    lambda: GATLayerEdge(0, 2), lambda: GATLayerEdge(3, 2, heads=0), lambda: GATLayerEdge(3, 2.5),
    lambda: GATLayerEdge(3, 2, dropout=1.5), lambda: GATLayerEdge(3, 2, attention_dropout=-0.1),
    lambda: GATLayerEdge(3, 2, negative_slope=-1.0),
    lambda: GAT([1433, 8], [8, 1]), lambda: GAT([1433], []), lambda: GAT([4, 0, 2], [1, 1]),
    lambda: GAT([4, 8, 2], [1, 1], layer_type=4),
])
def test_bad_constructor_arguments_raise_value_errors(make):
    with pytest.raises(ValueError, match="must|needs"):
        make()


def test_the_base_class_says_which_implementation_to_use(toy):
    with pytest.raises(NotImplementedError, match="GATLayerEdge"):
        GATLayer(3, 2)(*toy)


# --------------------------------------------------------------------------
# The GAT model
# --------------------------------------------------------------------------

@settings(max_examples=15, deadline=None)
@given(graph=graphs(self_loops=True), seed=st.integers(0, 2**16),
       shape=st.sampled_from([([3, 4, 2], [2, 1]), ([5, 2, 3, 2], [3, 2, 2]), ([2, 3], [2])]),
       residual=st.booleans())
def test_gat_models_of_every_layer_type_compute_the_same_function(graph, seed, shape, residual):
    n, edge_index = graph
    features, heads = shape
    torch.manual_seed(seed)
    models = [GAT(features, heads, layer_type=t, residual=residual) for t in LAYER_TYPES]
    randomise(models[0], seed)
    x = torch.randn(n, features[0])
    names = list(models[0].state_dict())
    for model in models[1:]:
        assert list(model.state_dict()) == names
        model.load_state_dict(models[0].state_dict(), strict=True)
    results = [model.eval()(x, edge_index, return_attention=True) for model in models]
    logits, alphas = results[0]
    assert logits.shape == (n, features[-1])
    assert [a.shape for a in alphas] == [(edge_index.shape[1], h) for h in heads]
    for other_logits, other_alphas in results[1:]:
        torch.testing.assert_close(other_logits, logits, atol=ATOL, rtol=1e-5)
        for a, b in zip(other_alphas, alphas):
            torch.testing.assert_close(a, b, atol=ATOL, rtol=1e-5)


def test_gat_layer_widths_activations_and_hidden_outputs():
    torch.manual_seed(0)
    model = GAT([6, 4, 5, 3], [3, 2, 2], dropout=0.5)
    assert [(l.in_features, l.out_features, l.heads, l.concat) for l in model.layers] == [
        (6, 4, 3, True), (12, 5, 2, True), (10, 3, 2, False)]
    assert all(l.dropout == 0.5 and l.attention_dropout == 0.5 for l in model.layers)
    assert GAT([6, 3], [1], dropout=0.6, attention_dropout=0.1).layers[0].attention_dropout == 0.1
    n = 7
    edge_index = torch.cat([torch.randint(0, n, (2, 20)), torch.arange(n).repeat(2, 1)], dim=1)
    edge_index = torch.unique(edge_index, dim=1)
    x = torch.randn(n, 6)
    model.train()
    outputs = model.hidden(x, edge_index)
    assert model.training  # restored
    assert [o.shape for o in outputs] == [(n, 12), (n, 10), (n, 3)]
    assert all(not o.requires_grad for o in outputs)
    assert all(float(o.min()) >= -1 for o in outputs[:-1])  # ELU output
    assert not torch.equal(model(x, edge_index), model(x, edge_index))  # dropout 0.5 in train mode
    model.eval()
    with torch.no_grad():
        first = F.elu(model.layers[0](x, edge_index))  # hidden layers: ELU
        second = F.elu(model.layers[1](first, edge_index))
        logits = model.layers[2](second, edge_index)  # output layer: no activation
        torch.testing.assert_close(model(x, edge_index), logits)
    for output, expected in zip(outputs, [first, second, logits]):  # hidden() ran in eval mode
        torch.testing.assert_close(output, expected)


@pytest.mark.parametrize("cls", IMPLEMENTATIONS)
def test_layers_work_in_float64(cls, toy):
    x, edge_index = toy
    layer = cls(3, 2, heads=2).double().eval()
    out, alpha = layer(x.double(), edge_index, return_attention=True)
    assert out.dtype == alpha.dtype == torch.float64
    expected_out, expected_alpha = reference(layer, x, edge_index)
    torch.testing.assert_close(out, expected_out)
    torch.testing.assert_close(alpha, expected_alpha)


def test_gat_is_deterministic_under_manual_seed_and_types_share_the_init():
    states = []
    for layer_type in LAYER_TYPES:
        torch.manual_seed(7)
        states.append(GAT([10, 4, 3], [2, 1], layer_type=layer_type).state_dict())
    for state in states[1:]:
        assert all(torch.equal(state[k], states[0][k]) for k in states[0])


# --------------------------------------------------------------------------
# Real Cora with the paper's architecture
# --------------------------------------------------------------------------

@pytest.mark.skipif(not (MIRROR / "SHA256SUMS").is_file(), reason=f"Planetoid mirror not found at {MIRROR}")
def test_paper_architecture_on_cora_agrees_across_layer_types_and_with_pyg():
    from gatkit.data import load_planetoid

    cora = load_planetoid("cora", progress=False)
    edge_index = cora.edge_index_with_self_loops
    torch.manual_seed(0)
    models = [GAT([1433, 8, 7], [8, 1], layer_type=t).eval() for t in LAYER_TYPES]
    for model in models[1:]:
        model.load_state_dict(models[0].state_dict(), strict=True)
    with torch.no_grad():
        results = [model(cora.x, edge_index, return_attention=True) for model in models]
        first_layer_pyg = as_gatconv(models[2].layers[0])(cora.x, edge_index)
        first_layer = models[2].layers[0](cora.x, edge_index)
    logits, alphas = results[0]
    assert logits.shape == (2708, 7)
    assert [a.shape for a in alphas] == [(13264, 8), (13264, 1)]
    for other_logits, other_alphas in results[1:]:
        torch.testing.assert_close(other_logits, logits, atol=ATOL, rtol=1e-5)
        for a, b in zip(other_alphas, alphas):
            torch.testing.assert_close(a, b, atol=ATOL, rtol=1e-5)
    sums = per_target_sums(alphas[0], edge_index, 2708)
    torch.testing.assert_close(sums, torch.ones_like(sums), atol=ATOL, rtol=0)
    torch.testing.assert_close(first_layer, first_layer_pyg, atol=ATOL, rtol=1e-5)


# --- sparse inputs ---------------------------------------------------------------------------

@pytest.mark.parametrize("cls", IMPLEMENTATIONS)
@pytest.mark.parametrize("residual", [False, True])
def test_sparse_csr_input_computes_the_same_function(cls, residual):
    torch.manual_seed(0)
    x = torch.rand(30, 12) * (torch.rand(30, 12) < 0.2)  # (N, F), mostly zeros
    edge_index = torch.cat([torch.randint(0, 30, (2, 80)), torch.arange(30).repeat(2, 1)], dim=1)
    edge_index = torch.unique(edge_index, dim=1)
    layer = cls(12, 4, heads=3, residual=residual).eval()
    dense_out, dense_alpha = layer(x, edge_index, return_attention=True)
    sparse_out, sparse_alpha = layer(x.to_sparse_csr(), edge_index, return_attention=True)
    torch.testing.assert_close(sparse_out, dense_out, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(sparse_alpha, dense_alpha, rtol=1e-5, atol=1e-6)
    grads = []
    for features in (x, x.to_sparse_csr()):
        layer.zero_grad()
        layer(features, edge_index).square().sum().backward()
        grads.append(layer.linear.weight.grad.clone())
    torch.testing.assert_close(grads[1], grads[0], rtol=1e-5, atol=1e-6)


def test_sparse_dropout_drops_only_stored_values_with_the_usual_scaling():
    from gatkit.ops import dropout as _dropout

    torch.manual_seed(0)
    x = (torch.rand(200, 300) < 0.05).float() * 2.0  # (N, F): 5% non-zeros, each 2.0
    dropped = _dropout(x.to_sparse_csr(), p=0.6, training=True).to_dense()
    assert torch.all(dropped[x == 0] == 0), "zeros stay zero"
    kept = dropped[x != 0]
    assert set(kept.unique().tolist()) <= {0.0, 5.0}, "kept values scaled by 1 / (1 - p)"
    assert abs((kept == 0).float().mean().item() - 0.6) < 0.05
    assert _dropout(x.to_sparse_csr(), p=0.6, training=False).to_dense().equal(x)


@pytest.mark.parametrize("p", [0.1, 0.6, 0.95])
def test_dense_dropout_keeps_one_minus_p_and_scales_by_its_inverse(p):
    from gatkit.ops import dropout

    x = torch.ones(1000, 1000, requires_grad=True)
    torch.manual_seed(0)
    dropped = dropout(x, p=p, training=True)
    kept = dropped != 0
    assert abs(kept.float().mean().item() - (1 - p)) < 0.002  # 1e6 draws: 5 standard deviations
    assert torch.allclose(dropped[kept], torch.tensor(1 / (1 - p)))
    dropped.sum().backward()
    assert torch.equal(x.grad, dropped.detach()), "the gradient passes where the value was kept, scaled alike"
    torch.manual_seed(0)
    assert torch.equal(dropout(x, p=p, training=True), dropped), "the global seed makes it repeatable"
    assert dropout(x, p=p, training=False) is x
    assert not dropout(x, p=1.0, training=True).any()


def test_gat_takes_one_edge_list_per_layer():
    torch.manual_seed(0)
    model = GAT([4, 3, 2], [2, 1], dropout=0.0).eval()
    x = torch.randn(5, 4)
    full = torch.tensor([[0, 1, 2, 3, 4, 1, 2], [0, 1, 2, 3, 4, 0, 1]])
    into_0 = full[:, full[1] == 0]  # layer 2 needs only the edges into node 0
    torch.testing.assert_close(model(x, [full, into_0])[0], model(x, full)[0])
    with pytest.raises(ValueError, match="one per layer"):
        model(x, [full])


@pytest.mark.parametrize("cls", IMPLEMENTATIONS)
def test_value_dropout_drops_the_aggregated_features_in_train_mode_only(cls, toy):
    x, edge_index = toy
    layer = cls(3, 2, heads=2, value_dropout=1.0)
    torch.nn.init.normal_(layer.bias)
    layer.train()
    out = layer(x, edge_index)  # every aggregated value dropped: only the bias is left
    torch.testing.assert_close(out, layer.bias.expand_as(out))
    layer.eval()
    assert not torch.allclose(layer(x, edge_index), layer.bias.expand_as(out))


def test_the_model_checks_its_inputs_once_at_the_boundary(monkeypatch):
    checked = []
    validate = GATLayer.validate
    monkeypatch.setattr(GATLayer, "validate", lambda self, x, e: checked.append(1) or validate(self, x, e))
    model = GAT([4, 3, 3, 2], [2, 2, 1], dropout=0.0)
    edge_index = torch.tensor([[0, 1, 2, 3, 4, 1], [0, 1, 2, 3, 4, 0]])
    assert model(torch.randn(5, 4), edge_index).shape == (5, 2)
    assert len(checked) == 1  # not once per layer: the range check syncs with the device
    with pytest.raises(ValueError, match="valid ids are 0 .. 4"):
        model(torch.randn(5, 4), [edge_index, edge_index, edge_index + 1])  # a later layer's list is checked too


def test_the_masked_layer_is_masked_attention_then_the_heads_and_the_bias(toy):
    x, edge_index = toy
    for concat in (True, False):
        layer = GATLayerMasked(3, 2, heads=2, concat=concat).eval()
        randomise(layer, 5)
        mask = functional.connectivity_mask(edge_index, x.shape[0])
        with torch.no_grad():
            out, alpha = layer(x, edge_index, return_attention=True)
            per_head, alpha_dense = functional.masked_attention(x, layer.linear.weight, layer.a_src, layer.a_dst, mask)
        torch.testing.assert_close(out, functional.combine_heads(per_head, concat) + layer.bias)
        assert torch.equal(alpha, functional.edge_coefficients(alpha_dense, edge_index))


# --------------------------------------------------------------------------
# GATv2: a after the nonlinearity, so the ranking can depend on the target
# --------------------------------------------------------------------------

def directed_graph(n: int, num_edges: int, seed: int) -> torch.Tensor:
    """A seeded random directed graph: self-loops, node n - 1 isolated (no edge at all), columns shuffled."""
    generator = torch.Generator().manual_seed(seed)
    pairs = torch.randint(0, n - 1, (2, num_edges), generator=generator)  # (2, E0), never node n - 1
    pairs = torch.unique(pairs[:, pairs[0] != pairs[1]], dim=1)
    edge_index = torch.cat([pairs, torch.arange(n - 1).repeat(2, 1)], dim=1)  # self-loops, but not on n - 1
    return edge_index[:, torch.randperm(edge_index.shape[1], generator=generator)]  # (2, E)


def as_gatv2conv(layer: GATv2LayerEdge):
    """A torch_geometric GATv2Conv holding ``layer``'s weights; its linear biases (gatkit has none) zeroed."""
    gatv2_conv = pytest.importorskip("torch_geometric.nn").GATv2Conv
    conv = gatv2_conv(layer.in_features, layer.out_features, heads=layer.heads, concat=layer.concat,
                      negative_slope=layer.negative_slope, add_self_loops=False, share_weights=layer.share_weights,
                      bias=layer.bias is not None, residual=layer.residual is not None)
    target = layer.linear_src if layer.linear_dst is None else layer.linear_dst
    with torch.no_grad():
        conv.lin_l.weight.copy_(layer.linear_src.weight)  # lin_l projects the source j
        conv.lin_r.weight.copy_(target.weight)  # lin_r the target i (lin_l itself when shared)
        conv.att.copy_(layer.a.unsqueeze(0))  # (1, H, F')
        if layer.bias is not None:
            conv.lin_l.bias.zero_()
            conv.lin_r.bias.zero_()
            conv.bias.copy_(layer.bias)
        if layer.residual is not None:
            conv.res.weight.copy_(layer.residual.weight)
    return conv.eval()


def gatv2_gradients(layer: GATv2LayerEdge) -> dict[str, torch.Tensor]:
    """The layer's gradients under PyTorch Geometric's names."""
    grads = {"lin_l.weight": layer.linear_src.weight.grad, "att": layer.a.grad.unsqueeze(0)}
    if layer.linear_dst is not None:
        grads["lin_r.weight"] = layer.linear_dst.weight.grad
    if layer.bias is not None:
        grads["bias"] = layer.bias.grad
    if layer.residual is not None:
        grads["res.weight"] = layer.residual.weight.grad
    return grads


@pytest.mark.parametrize("concat", [True, False])
@pytest.mark.parametrize("share_weights", [False, True])
@pytest.mark.parametrize("bias, residual", [(True, False), (False, False), (True, True)])
@pytest.mark.parametrize("seed", [0, 1])
def test_gatv2_layer_matches_torch_geometric_gatv2conv(concat, share_weights, bias, residual, seed):
    n = 30
    edge_index = directed_graph(n, 120, seed)
    layer = GATv2LayerEdge(6, 4, heads=3, concat=concat, share_weights=share_weights, bias=bias,
                           residual=residual).eval()
    randomise(layer, seed + 5)
    conv = as_gatv2conv(layer)
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 6, generator=generator)
    x_ours, x_pyg = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    out, alpha = layer(x_ours, edge_index, return_attention=True)
    out_pyg, (edge_index_pyg, alpha_pyg) = conv(x_pyg, edge_index, return_attention_weights=True)
    assert torch.equal(edge_index_pyg, edge_index)
    torch.testing.assert_close(out, out_pyg, atol=ATOL, rtol=1e-5)
    torch.testing.assert_close(alpha, alpha_pyg, atol=ATOL, rtol=1e-5)
    assert alpha.shape == (edge_index.shape[1], 3)
    weights = torch.randn(out.shape, generator=generator)
    (out * weights).sum().backward()
    (out_pyg * weights).sum().backward()
    torch.testing.assert_close(x_ours.grad, x_pyg.grad, atol=1e-5, rtol=1e-4)
    pyg_parameters = dict(conv.named_parameters())
    for name, grad in gatv2_gradients(layer).items():
        assert grad is not None and bool(torch.isfinite(grad).all()), name
        torch.testing.assert_close(grad, pyg_parameters[name].grad, atol=1e-5, rtol=1e-4, msg=lambda m: f"{name}: {m}")


def two_targets_two_sources(**options) -> tuple[torch.Tensor, torch.Tensor, GATv2LayerEdge]:
    """Sources 0 (x = +1) and 1 (x = -1) point into targets 2 (x = +1) and 3 (x = -1).

    With W = [[1], [-1]] for both ends and a = [1, 1], ``e_ij = a . LeakyReLU([x_i + x_j, -(x_i + x_j)])
    = 0.8 |x_i + x_j|``: each target scores the source of its own sign 1.6 and the other 0.
    """
    x = torch.tensor([[1.0], [-1.0], [1.0], [-1.0]])  # (N, F=1)
    edge_index = torch.tensor([[0, 1, 0, 1], [2, 2, 3, 3]])  # (2, 4): 0 -> 2, 1 -> 2, 0 -> 3, 1 -> 3
    layer = GATv2LayerEdge(1, 2, **options).eval()
    with torch.no_grad():
        for module in (layer.linear_src, layer.linear_dst):
            if module is not None:
                module.weight.copy_(torch.tensor([[1.0], [-1.0]]))  # (H*F', F) = (2, 1)
        layer.a.copy_(torch.tensor([[1.0, 1.0]]))  # (H, F') = (1, 2)
    return x, edge_index, layer


@pytest.mark.parametrize("share_weights", [False, True])
def test_gatv2_attention_is_dynamic_two_targets_rank_the_same_sources_in_opposite_orders(share_weights):
    x, edge_index, layer = two_targets_two_sources(share_weights=share_weights)
    _, alpha = layer(x, edge_index, return_attention=True)
    high, low = torch.softmax(torch.tensor([1.6, 0.0]), dim=0)  # by hand, from 0.8 |x_i + x_j|
    torch.testing.assert_close(alpha[:, 0], torch.stack([high, low, low, high]))
    assert alpha[0, 0] > alpha[1, 0] and alpha[2, 0] < alpha[3, 0]  # target 2 prefers 0, target 3 prefers 1


def rankings(alpha: torch.Tensor, edge_index: torch.Tensor, targets: torch.Tensor, sources: torch.Tensor) -> torch.Tensor:
    """(T, H, S): for each target and head, the sources in order of decreasing attention."""
    grid = torch.zeros(len(targets), alpha.shape[1], len(sources))  # (T, H, S)
    row = {int(t): k for k, t in enumerate(targets)}
    column = {int(s): k for k, s in enumerate(sources)}
    for (j, i), coefficients in zip(edge_index.T.tolist(), alpha.detach()):
        grid[row[i], :, column[j]] = coefficients
    return grid.argsort(dim=-1, descending=True)


def bipartite(num_sources: int, num_targets: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Every source points into every target (columns shuffled): all targets share one neighbour set."""
    sources, targets = torch.arange(num_sources), torch.arange(num_sources, num_sources + num_targets)
    edge_index = torch.cartesian_prod(sources, targets).T  # (2, S*T)
    order = torch.randperm(edge_index.shape[1], generator=torch.Generator().manual_seed(seed))
    return edge_index[:, order], sources, targets


@pytest.mark.parametrize("seed", range(5))
def test_gat_attention_is_static_every_target_ranks_a_shared_neighbourhood_alike(seed):
    edge_index, sources, targets = bipartite(6, 5, seed)
    layer = GATLayerEdge(4, 3, heads=3).eval()
    randomise(layer, seed)
    x = torch.randn(11, 4, generator=torch.Generator().manual_seed(seed))
    _, alpha = layer(x, edge_index, return_attention=True)
    order = rankings(alpha, edge_index, targets, sources)  # (T, H, S)
    assert torch.equal(order, order[:1].expand_as(order)), "GAT: one order per head, whatever the target"
    gatv2 = GATv2LayerEdge(4, 3, heads=3).eval()
    randomise(gatv2, seed)
    _, alpha_v2 = gatv2(x, edge_index, return_attention=True)
    order_v2 = rankings(alpha_v2, edge_index, targets, sources)
    assert not torch.equal(order_v2, order_v2[:1].expand_as(order_v2)), "GATv2: the order depends on the target"


def test_gatv2_scores_are_the_functional_scores_and_the_messages_are_w_src_x_j():
    n = 12
    edge_index = directed_graph(n, 40, 3)
    layer = GATv2LayerEdge(5, 2, heads=2, bias=False).eval()
    randomise(layer, 3)
    x = torch.randn(n, 5, generator=torch.Generator().manual_seed(3))
    out, alpha = layer(x, edge_index, return_attention=True)
    z_src, z_dst = layer.project(x)  # (N, H, F') each
    e = functional.gatv2_scores(z_src, z_dst, layer.a, edge_index)  # (E, H)
    torch.testing.assert_close(alpha, functional.neighbourhood_softmax(e, edge_index, n))
    torch.testing.assert_close(out, functional.aggregate(alpha, z_src, edge_index).reshape(n, -1))
    assert not torch.allclose(z_src, z_dst)
    assert bool((out[n - 1] == 0).all()), "the isolated node aggregates nothing"


def test_shared_weights_equal_two_projections_holding_the_same_matrix():
    shared = GATv2LayerEdge(5, 3, heads=2, share_weights=True, residual=True).eval()
    assert shared.linear_dst is None and "linear_dst.weight" not in shared.state_dict()
    assert list(shared.state_dict()) == ["a", "bias", "linear_src.weight", "residual.weight"]
    randomise(shared, 4)
    separate = GATv2LayerEdge(5, 3, heads=2, residual=True).eval()
    assert list(separate.state_dict()) == ["a", "bias", "linear_src.weight", "linear_dst.weight", "residual.weight"]
    separate.load_state_dict({**shared.state_dict(), "linear_dst.weight": shared.linear_src.weight}, strict=True)
    x, edge_index = torch.randn(12, 5), directed_graph(12, 40, 4)
    z_src, z_dst = shared.project(x)
    assert z_dst is z_src  # one projection
    for got, expected in zip(shared(x, edge_index, return_attention=True), separate(x, edge_index, return_attention=True)):
        torch.testing.assert_close(got, expected)


def test_gatv2_return_attention_shapes_and_sums(toy):
    x, edge_index = toy  # 4 nodes with self-loops and 1 -> 0
    for concat, width in ((True, 6), (False, 3)):
        layer = GATv2LayerEdge(3, 3, heads=2, concat=concat)
        out = layer(x, edge_index)
        out_too, alpha = layer(x, edge_index, return_attention=True)
        assert out.shape == out_too.shape == (4, width) and alpha.shape == (5, 2)
        torch.testing.assert_close(per_target_sums(alpha, edge_index, 4), torch.ones(4, 2))
        torch.testing.assert_close(out, out_too)


@pytest.mark.parametrize("share_weights", [False, True])
@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_gatv2_bad_inputs_raise_value_errors_that_say_what_to_fix(case, share_weights, toy):
    make_bad, fragment = BAD_INPUTS[case]
    layer = GATv2LayerEdge(3, 2, heads=2, share_weights=share_weights)
    with pytest.raises(ValueError, match=re.escape(fragment)):
        layer(*make_bad(*toy))


@pytest.mark.parametrize("make", [
    lambda: GATv2LayerEdge(0, 2), lambda: GATv2LayerEdge(3, 2, heads=0), lambda: GATv2LayerEdge(3, 2.5),
    lambda: GATv2LayerEdge(3, 2, dropout=1.5), lambda: GATv2LayerEdge(3, 2, value_dropout=-0.1),
    lambda: GATv2LayerEdge(3, 2, negative_slope=-1.0),
    lambda: GAT([4, 8, 2], [1, 1], attention="gatv3"), lambda: GAT([4, 8, 2], [1, 1], attention="GATv2"),
    lambda: GAT([4, 8, 2], [1, 1], attention="gatv2", layer_type=1),
    lambda: GAT([4, 8, 2], [1, 1], attention="gatv2", layer_type=2),
])
def test_bad_gatv2_arguments_raise_value_errors(make):
    with pytest.raises(ValueError, match="must|needs") as error:
        make()
    assert "\n" not in str(error.value)


def test_gatv2_with_another_layer_type_says_it_needs_the_edge_list():
    with pytest.raises(ValueError, match=r"attention='gatv2' needs layer_type=3 .*got layer_type=2"):
        GAT([4, 8, 2], [1, 1], attention="gatv2", layer_type=2)
    with pytest.raises(ValueError, match=r"attention must be one of 'gat', 'gatv2', 'uniform', 'none', got 'gatv3'"):
        GAT([4, 8, 2], [1, 1], attention="gatv3")
    assert ATTENTION_TYPES == ("gat", "gatv2", "uniform", "none")


def test_the_shared_base_class_says_which_layers_to_use():
    with pytest.raises(NotImplementedError, match="GATLayerEdge.*GATv2LayerEdge"):
        GraphAttentionLayer(3, 2)
    assert issubclass(GATLayer, GraphAttentionLayer) and issubclass(GATv2LayerEdge, GraphAttentionLayer)
    assert not issubclass(GATv2LayerEdge, GATLayer)  # GATLayer means GAT's parameters


def test_gatv2_dropout_is_random_in_train_mode_and_off_in_eval_mode():
    torch.manual_seed(1)
    n = 10
    edge_index = torch.cartesian_prod(torch.arange(n), torch.arange(n)).T  # (2, 100)
    x = torch.randn(n, 4)
    for kwargs in ({"attention_dropout": 0.5}, {"dropout": 0.5}, {"value_dropout": 0.5}):
        layer = GATv2LayerEdge(4, 3, heads=2, **kwargs)
        layer.train()
        assert not torch.equal(layer(x, edge_index), layer(x, edge_index)), kwargs
        _, alpha = layer(x, edge_index, return_attention=True)  # reported before attention dropout
        torch.testing.assert_close(per_target_sums(alpha, edge_index, n), torch.ones(n, 2))
        layer.eval()
        assert torch.equal(layer(x, edge_index), layer(x, edge_index)), kwargs
    layer = GATv2LayerEdge(4, 3, heads=2, value_dropout=1.0)
    torch.nn.init.normal_(layer.bias)
    out = layer.train()(x, edge_index)  # every aggregated value dropped: only the bias is left
    torch.testing.assert_close(out, layer.bias.expand_as(out))


def test_gatv2_attention_dropout_drops_coefficients_not_scores():
    torch.manual_seed(0)
    n, heads, p = 40, 2, 0.6
    edge_index = torch.cartesian_prod(torch.arange(n), torch.arange(n)).T  # (2, 1600): every pair
    layer = GATv2LayerEdge(n, n, heads=heads, attention_dropout=p, bias=False, share_weights=True).train()
    with torch.no_grad():
        layer.linear_src.weight.copy_(torch.eye(n).repeat(heads, 1))  # z_j = one-hot e_j in every head
    out, alpha = layer(torch.eye(n), edge_index, return_attention=True)
    dropped = out.view(n, heads, n)[edge_index[1], :, edge_index[0]]  # (E, H): alpha after dropout
    kept = dropped != 0
    torch.testing.assert_close(dropped[kept], alpha[kept] / (1 - p), atol=ATOL, rtol=1e-4)
    assert abs((1 - kept.float().mean().item()) - p) < 0.05


def test_gatv2_initialisation_is_glorot_uniform_with_zero_bias_and_seeded():
    torch.manual_seed(4)
    layer = GATv2LayerEdge(100, 8, heads=8, residual=True)
    for name, fan_sum in [("linear_src.weight", 100 + 64), ("linear_dst.weight", 100 + 64), ("a", 8 + 8),
                          ("residual.weight", 100 + 64)]:
        values = layer.get_parameter(name).detach()
        bound = math.sqrt(6 / fan_sum)
        assert bound * 0.8 < float(values.abs().max()) <= bound, name
    assert bool((layer.bias == 0).all())
    torch.manual_seed(4)
    again = GATv2LayerEdge(100, 8, heads=8, residual=True)
    assert all(torch.equal(a, b) for a, b in zip(layer.parameters(), again.parameters()))


def test_gatv2_takes_sparse_csr_and_float64_input():
    torch.manual_seed(0)
    x = torch.rand(30, 12) * (torch.rand(30, 12) < 0.2)  # (N, F), mostly zeros
    edge_index = directed_graph(30, 80, 0)
    layer = GATv2LayerEdge(12, 4, heads=3, residual=True).eval()
    dense = layer(x, edge_index, return_attention=True)
    sparse = layer(x.to_sparse_csr(), edge_index, return_attention=True)
    for got, expected in zip(sparse, dense):
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    out64, alpha64 = layer.double()(x.double(), edge_index, return_attention=True)
    assert out64.dtype == alpha64.dtype == torch.float64
    torch.testing.assert_close(out64.float(), dense[0], rtol=1e-4, atol=1e-5)


def test_a_gatv2_model_is_built_from_gatv2_layers_and_checks_its_inputs():
    torch.manual_seed(0)
    model = GAT([6, 4, 5, 3], [3, 2, 2], attention="gatv2", dropout=0.0).eval()
    assert model.attention == "gatv2" and GAT([6, 3], [1]).attention == "gat"
    assert all(type(layer) is GATv2LayerEdge and not layer.share_weights for layer in model.layers)
    assert [(l.in_features, l.out_features, l.heads, l.concat) for l in model.layers] == [
        (6, 4, 3, True), (12, 5, 2, True), (10, 3, 2, False)]
    assert "layers.0.linear_dst.weight" in model.state_dict() and "layers.0.a_src" not in model.state_dict()
    edge_index = directed_graph(7, 20, 1)
    x = torch.randn(7, 6)
    logits, alphas = model(x, edge_index, return_attention=True)
    assert logits.shape == (7, 3) and [a.shape for a in alphas] == [(edge_index.shape[1], h) for h in (3, 2, 2)]
    with torch.no_grad():
        first = F.elu(model.layers[0](x, edge_index))
        second = F.elu(model.layers[1](first, edge_index))
        torch.testing.assert_close(logits, model.layers[2](second, edge_index))
    with pytest.raises(ValueError, match="valid ids are 0 .. 6"):
        model(x, edge_index + 2)  # node 6 is isolated, so + 2 reaches past it


# --- the baselines: uniform attention and no graph, and layer normalisation ----------------------

def test_uniform_attention_averages_each_neighbourhood():
    torch.manual_seed(0)
    layer = UniformLayerEdge(3, 2, heads=2).eval()
    x = torch.randn(4, 3)  # (N, F)
    edge_index = torch.tensor([[2, 0, 1, 3, 2, 1], [0, 0, 0, 1, 1, 2]])  # unsorted; node 3 gets nothing
    out, alpha = layer(x, edge_index, return_attention=True)  # (N, H*F'), (E, H)
    z = (x @ layer.linear.weight.T).view(4, 2, 2)  # (N, H, F')
    expected = torch.stack([z[[2, 0, 1]].mean(0), z[[3, 2]].mean(0), z[1], torch.zeros(2, 2)]).reshape(4, 4)
    torch.testing.assert_close(out, expected + layer.bias)
    torch.testing.assert_close(alpha, torch.tensor([1 / 3] * 3 + [1 / 2] * 2 + [1.0]).unsqueeze(1).expand(-1, 2))
    assert not any("a_" in name or name == "a" for name, _ in layer.named_parameters()), "no attention vector"


def test_the_no_graph_layer_is_a_linear_layer_that_ignores_the_edges():
    torch.manual_seed(1)
    layer = NoGraphLayer(3, 2, heads=2, residual=True).eval()
    x = torch.randn(5, 3)  # (N, F)
    loops = torch.arange(5).repeat(2, 1)  # (2, N)
    out, alpha = layer(x, torch.cat([loops, torch.tensor([[0, 1], [1, 2]])], 1), return_attention=True)
    torch.testing.assert_close(out, x @ (layer.linear.weight + layer.residual.weight).T + layer.bias)
    torch.testing.assert_close(layer(x, loops), out)
    assert alpha.tolist() == [[1.0, 1.0]] * 5 + [[0.0, 0.0]] * 2


@pytest.mark.parametrize("attention", ["uniform", "none"])
def test_the_baselines_need_the_edge_list_layer(attention):
    assert attention in ATTENTION_TYPES
    with pytest.raises(ValueError, match=f"attention='{attention}' needs layer_type=3"):
        GAT([4, 3, 2], [2, 1], attention=attention, layer_type=1)


def test_layer_norm_normalises_every_hidden_output_before_the_elu():
    torch.manual_seed(2)
    model = GAT([4, 3, 3, 2], [2, 2, 1], norm=True, dropout=0.0).eval()
    assert [name for name in model.state_dict() if name.startswith("norms")] == [
        "norms.0.weight", "norms.0.bias", "norms.1.weight", "norms.1.bias"]
    seen = []
    for layer in model.layers[:2]:
        layer.register_forward_hook(lambda module, inputs, output: seen.append(output[0]))  # (out, alpha)
    x, edge_index = torch.randn(6, 4) * 10 + 3, torch.arange(6).repeat(2, 1)  # (N, F), self-loops only
    hidden = model.hidden(x, edge_index)
    for output, after in zip(seen, hidden[:2]):  # default scale 1, shift 0: rows of mean 0, variance 1
        normalised = (output - output.mean(1, keepdim=True)) / output.var(1, unbiased=False, keepdim=True).add(1e-5).sqrt()
        torch.testing.assert_close(after, F.elu(normalised))
    assert not GAT([4, 3, 2], [2, 1]).norms, "off by default"
