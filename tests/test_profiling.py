"""gatkit.profiling and `gatkit profile`: the graphs, the measurements and their failure records."""

import contextlib
import io
import json
import time
from pathlib import Path

import pytest
import torch

from gatkit import cli, profiling


def test_synthetic_graph_is_a_clean_undirected_block_model():
    graph = profiling.synthetic_graph(3000, seed=1)
    n, edges = graph.num_nodes, graph.edge_index
    assert graph.x.shape == (3000, 128) and graph.y.shape == (3000,)
    loops = edges[0] == edges[1]
    assert int(loops.sum()) == n and torch.equal(edges[0, loops], torch.arange(n)), "one self-loop per node"
    key = edges[1] * n + edges[0]
    assert torch.equal(key, torch.sort(key).values) and len(torch.unique(key)) == key.numel(), \
        "sorted by target then source, no repeats"
    pairs = set(map(tuple, edges.T.tolist()))
    assert all((b, a) in pairs for a, b in pairs), "every edge both ways"
    average_degree = (edges.shape[1] - n) / n
    assert 3.5 < average_degree < 4.1
    others = edges[:, ~loops]
    assert (graph.y[others[0]] == graph.y[others[1]]).float().mean() > 0.75, "mostly within a class"
    assert len(graph.train_idx) == 150 and torch.equal(graph.train_idx, torch.unique(graph.train_idx))
    again = profiling.synthetic_graph(3000, seed=1)
    assert torch.equal(again.edge_index, edges) and torch.equal(again.x, graph.x)
    with pytest.raises(ValueError, match="num_nodes"):
        profiling.synthetic_graph(5)


def test_dense_bytes_matches_a_real_tensor():
    assert profiling.dense_bytes(2708) == 234_664_448  # chapter 04's hand computation for Cora
    assert torch.empty(8, 300, 300).untyped_storage().nbytes() == profiling.dense_bytes(300)


def test_the_machine_description_names_the_processor_and_its_memory():
    info = profiling.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists() and "model name" in cpuinfo.read_text():
        names = {line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")}
        assert info["cpu"] in names
    assert info["cores"] >= 1 and 0 < profiling.available_bytes() <= info["memory_gib"] * 2**30 * 1.01


def test_a_point_is_measured_with_its_median_and_peak_memory():
    record = profiling.measure("3", 200, repeats=2, warmup=1)
    assert record["status"] == "ok" and record["step_ms"] > 0
    assert record["num_nodes"] == 200 and record["peak_mb"] >= record["baseline_mb"] > 0


def test_a_dense_point_that_cannot_fit_is_refused_before_allocating(monkeypatch):
    monkeypatch.setattr(profiling, "available_bytes", lambda: 2**30)  # pretend 1 GiB is free
    record = profiling.measure("1", 5000)
    assert record["status"] == "refused" and "GiB" in record["reason"]
    assert record["estimated_mb"] > 1024 and "step_ms" not in record
    assert profiling.measure("3", 5000, repeats=1, warmup=0)["status"] == "ok", "the edge list fits"


def test_a_step_over_the_time_limit_is_recorded_not_repeated():
    record = profiling.measure("2", 300, time_limit=0.0)
    assert record["status"] == "too slow" and "limit" in record["reason"]


def test_a_failing_child_process_becomes_a_record():
    record = profiling.measure_in_fresh_process("3", 5)
    assert record["status"] == "failed" and "num_nodes must be" in record["reason"]


def test_a_sweep_skips_larger_sizes_after_a_failure(monkeypatch):
    def fake(implementation, size, **options):
        status = "refused" if (implementation == "1" and size >= 2000) else "ok"
        return {"implementation": implementation, "size": size, "num_nodes": size, "status": status,
                "step_ms": 1.0, "peak_mb": 1.0, "estimated_mb": 1.0}

    monkeypatch.setattr(profiling, "measure_in_fresh_process", fake)
    records = profiling.sweep(["1", "3"], [1000, 2000, 4000])
    assert [r["status"] for r in records] == ["ok", "refused", "skipped", "ok", "ok", "ok"]
    figure = profiling.plot_scaling(records)
    assert len(figure.axes[0].lines) >= 2


def run(argv):
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = cli.main(argv)
    return code, stdout.getvalue(), stderr.getvalue()


def test_gatkit_profile_prints_a_table_and_writes_its_results(tmp_path):
    code, stdout, stderr = run(["profile", "--sizes", "200", "100", "--implementations", "3", "--repeats", "1",
                                "--out-dir", str(tmp_path)])
    assert code == 0, stderr
    rows = [line for line in stdout.splitlines() if line.startswith("imp. 3")]
    assert [row.split()[4] for row in rows] == ["100", "200"], "sizes measured in increasing order"
    saved = json.loads((tmp_path / "profile.json").read_text())
    assert [r["num_nodes"] for r in saved["records"]] == [100, 200] and saved["machine"]["cores"] >= 1
    assert (tmp_path / "profile.png").read_bytes()[:4] == b"\x89PNG"


def test_gatkit_profile_rejects_a_tiny_graph():
    code, _, stderr = run(["profile", "--sizes", "3"])
    assert code == 2 and "at least 14" in stderr


# --- time_calls and training_step ------------------------------------------------------------

def test_time_calls_warms_up_then_times_each_call():
    calls = []
    timed = profiling.time_calls(lambda: calls.append(torch.get_num_threads()), repeats=4, warmup=3, threads=1)
    assert len(calls) == 7 and set(calls) == {1}, "3 warm-up calls, 4 timed ones, all on one thread"
    assert len(timed.times) == 4 and all(t > 0 for t in timed.times)
    middle = sorted(timed.times)[1:3]
    assert timed.median == pytest.approx(sum(middle) / 2), "the median of the timed calls"
    assert timed.number_per_run == 1 and timed.task_spec.num_threads == 1


def test_time_calls_stops_at_the_budget_but_not_before_min_repeats():
    calls = []

    def slow():
        calls.append(None)
        time.sleep(0.02)

    timed = profiling.time_calls(slow, repeats=50, warmup=1, budget=0.05, min_repeats=2)
    assert 2 <= len(timed.times) <= 4 and len(calls) == len(timed.times) + 1  # 0.02 s each, stop past 0.05 s
    assert len(profiling.time_calls(slow, repeats=5, warmup=0, budget=0.0, min_repeats=3).times) == 3


def test_time_calls_gives_up_after_one_call_over_the_time_limit():
    calls = []
    with pytest.raises(profiling.TimeLimitExceeded) as info:
        profiling.time_calls(lambda: calls.append(time.sleep(0.01)), repeats=5, warmup=2, time_limit=0.001)
    assert len(calls) == 1 and info.value.seconds > 0.001 and "limit" in str(info.value)
    with pytest.raises(ValueError, match="repeats"):
        profiling.time_calls(lambda: None, repeats=0)


def test_training_step_is_gatkits_step_on_the_papers_model():
    graph = profiling.synthetic_graph(100, seed=2)
    step = profiling.training_step("3", graph)
    first, second = step(), step()  # the training nodes' logits of each step
    assert first.shape == (len(graph.train_idx), 7) and not first.requires_grad
    assert not torch.equal(first, second), "the weights (and dropout masks) changed between the steps"
    again = profiling.training_step("3", graph)()
    assert torch.equal(again, first), "seeded: the same first step"
    with pytest.raises(ValueError, match="implementation"):
        profiling.training_step("4", graph)


# --- synthetic_graph's faster deduplication builds exactly the graph it built before ---------

def _synthetic_graph_before_issue_19(num_nodes, *, avg_degree=4.0, num_features=128, num_classes=7,
                                     same_class=0.8, seed=0):
    """The oracle: synthetic_graph as written before issue 19 (``torch.unique(..., dim=1)``, then a
    sort by target; features as one expression), kept literally, only to compare against."""
    generator = torch.Generator().manual_seed(seed)
    y = torch.randint(num_classes, (num_nodes,), generator=generator)
    by_class = torch.argsort(y)
    starts = torch.searchsorted(y[by_class], torch.arange(num_classes))
    counts = torch.bincount(y, minlength=num_classes)
    pairs = round(num_nodes * avg_degree / 2)
    source = torch.randint(num_nodes, (pairs,), generator=generator)
    offset = (torch.rand(pairs, generator=generator) * counts[y[source]]).long()
    partner = by_class[starts[y[source]] + offset]
    anyone = torch.randint(num_nodes, (pairs,), generator=generator)
    target = torch.where(torch.rand(pairs, generator=generator) < same_class, partner, anyone)
    edges = torch.stack([torch.cat([source, target]), torch.cat([target, source])])
    edges = edges[:, edges[0] != edges[1]]
    loops = torch.arange(num_nodes).repeat(2, 1)
    edges = torch.unique(torch.cat([edges, loops], dim=1), dim=1)
    edges = edges[:, torch.argsort(edges[1] * num_nodes + edges[0])]
    means = torch.randn(num_classes, num_features, generator=generator)
    x = means[y] + 2.0 * torch.randn(num_nodes, num_features, generator=generator)
    train = torch.randperm(num_nodes, generator=generator)[:max(20, num_nodes // 20)]
    return profiling.Graph(x=x, edge_index=edges, y=y, train_idx=torch.sort(train).values)


@pytest.mark.parametrize("num_nodes, options", [
    (14, {}),
    (200, {"seed": 3, "avg_degree": 10.0, "num_classes": 3, "same_class": 0.5}),
    (3000, {"seed": 1}),
    (70_000, {"num_features": 4, "seed": 2}),  # more than one block of rows of features
])
def test_synthetic_graph_is_the_graph_it_was_before_its_speed_up(num_nodes, options):
    graph = profiling.synthetic_graph(num_nodes, **options)
    oracle = _synthetic_graph_before_issue_19(num_nodes, **options)
    for field in ("x", "edge_index", "y", "train_idx"):
        assert torch.equal(getattr(graph, field), getattr(oracle, field)), field


def test_unique_by_target_matches_unique_columns_sorted_by_target():
    generator = torch.Generator().manual_seed(0)
    edges = torch.randint(30, (2, 500), generator=generator)  # (2, 500) many repeats, in no order
    expected = torch.unique(edges, dim=1)
    expected = expected[:, torch.argsort(expected[1] * 30 + expected[0])]
    assert torch.equal(profiling._unique_by_target(edges, 30), expected)
