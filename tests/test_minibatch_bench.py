"""benchmarks/bench_minibatch.py and gatkit.viz.scale: the mini-batch scale benchmark, its figure and
the ogbn-papers100M estimate."""

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from gatkit.viz import scale  # noqa: E402

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_minibatch.py"


def bench():
    spec = importlib.util.spec_from_file_location("bench_minibatch", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def record(num_nodes, avg_degree=4.0, **changes):
    """A made-up record with every field the figure and the estimate read."""
    values = {"status": "ok", "num_nodes": num_nodes, "num_edges": 5 * num_nodes, "avg_degree": avg_degree,
              "targets": 1024, "batch_size": 512, "fanouts": [10, 10], "threads": 1, "feature_bytes": 512 * num_nodes,
              "edge_bytes": 80 * num_nodes, "rss_start_bytes": 2**28, "rss_built_bytes": 2**28 + 600 * num_nodes,
              "training_added_bytes": 2**27, "peak_rss_training_bytes": 2**28 + 600 * num_nodes + 2**27,
              "full_graph_step_bytes": 9000 * num_nodes, "epoch_seconds": 1.0, "batches_per_epoch": 2,
              "batch_seconds": 0.5, "sample_seconds_per_batch": 0.1, "graph_seconds": num_nodes / 1e5,
              "nodes_per_batch": 10_000.0}
    return {**values, **changes}


def run(*arguments):
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, str(SCRIPT), *arguments], capture_output=True, text=True, env=environment,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_benchmark_measures_each_size_in_its_own_process_and_draws_the_figure(tmp_path):
    out, figure = tmp_path / "minibatch.json", tmp_path / "minibatch.png"
    printed = run("--sizes", "2000", "4000", "--targets", "256", "--batch-size", "128", "--epochs", "1",
                  "--json", str(out), "--figure", str(figure))
    result = json.loads(out.read_text())
    small, large = result["records"]
    assert [small["num_nodes"], large["num_nodes"]] == [2000, 4000] and result["machine"]["cores"] >= 1
    for r in (small, large):
        assert r["status"] == "ok" and r["threads"] == 1 and r["batches_per_epoch"] == 2
        assert r["feature_bytes"] == r["num_nodes"] * 128 * 4 and r["edge_bytes"] == r["num_edges"] * 16
        assert r["peak_rss_training_bytes"] >= r["rss_built_bytes"] > r["rss_start_bytes"] > 0
        assert r["training_added_bytes"] == r["peak_rss_training_bytes"] - r["rss_built_bytes"]
        assert 128 < r["nodes_per_batch"] <= 128 * (1 + 10 + 100) and r["edges_per_batch"] > r["nodes_per_batch"] / 2
        assert r["epoch_seconds"] > r["batch_seconds"] > r["sample_seconds_per_batch"] > 0
    assert large["num_edges"] > small["num_edges"] and large["full_graph_step_bytes"] > small["full_graph_step_bytes"]
    assert figure.read_bytes()[:4] == b"\x89PNG" and "ogbn-papers100M" in printed

    figure.unlink()
    again = run("--plot-only", "--json", str(out), "--figure", str(figure))
    assert json.loads(out.read_text()) == result, "--plot-only measures and writes nothing"
    assert figure.exists() and "N=    4,000" in again


def test_a_rerun_replaces_only_the_records_it_measured(tmp_path):
    path = tmp_path / "minibatch.json"
    path.write_text(json.dumps({"records": [record(1000), record(2000), record(2000, avg_degree=30.0)]}))
    merged = bench().merge(path, [record(2000, epoch_seconds=7.0)], {"cores": 2})
    assert [(r["num_nodes"], r["avg_degree"], r["epoch_seconds"]) for r in merged["records"]] == \
        [(1000, 4.0, 1.0), (2000, 4.0, 7.0), (2000, 30.0, 1.0)]
    assert merged["machine"] == {"cores": 2}


def test_a_graph_that_cannot_fit_is_refused_before_a_process_starts(monkeypatch):
    module = bench()
    monkeypatch.setattr(module, "available_bytes", lambda: 2**30)  # pretend 1 GiB is free
    refused = module.measure_in_fresh_process({"num_nodes": 4_000_000, "avg_degree": 4.0}, 1, timeout=1)
    assert refused["status"] == "refused" and "GiB free" in refused["reason"]


def test_the_figure_draws_each_measured_line_and_marks_other_degrees():
    records = [record(n) for n in (1000, 2000, 4000)] + [record(2000, avg_degree=30.0),
                                                       {"status": "failed", "num_nodes": 8000, "avg_degree": 4.0}]
    figure = scale.plot_minibatch_scaling(records, memory_bytes=2**34)
    memory, time = figure.axes
    main = [line for line in memory.lines if len(line.get_xdata()) == 3]
    assert len(main) == 5 and all(list(line.get_xdata()) == [1000, 2000, 4000] for line in main)
    assert len([line for line in time.lines if len(line.get_xdata()) == 3]) == 3
    labels = [text.get_text() for text in memory.get_legend().get_texts()]
    assert "hollow: the same, average degree 30" in labels and "what training adds (peak − built)" in labels
    assert any(text.get_text() == "0.125 GiB" for text in memory.texts), "the largest graph's values, labelled"


def test_the_papers100m_estimate_follows_from_the_facts_and_the_record():
    records = [record(1000), record(4000, avg_degree=30.0, nodes_per_batch=40_000.0, batch_seconds=2.0),
               record(2000, avg_degree=30.0)]
    estimate = scale.papers100m_estimate(records, machine_bytes=64 * 2**30, usable=0.5)
    n, e = 111_059_956, 1_615_685_872
    assert estimate["measured_on"]["num_nodes"] == 4000, "the largest graph of the degree nearest papers100M's"
    assert estimate["mean_in_degree"] == pytest.approx(29.1, abs=0.05)
    assert estimate["feature_bytes_float32"] == 56_862_697_472 == 2 * estimate["feature_bytes_float16"]
    assert estimate["edge_bytes_coo_int64"] == 4 * e * 8
    assert estimate["edge_bytes_csr_int32"] == (n + 1) * 8 + 2 * e * 4
    storage = estimate["storage_bytes"]
    assert storage == n * 128 * 4 + n * 8 + 4 * e * 8 + 2 * e * 8 + (n + 1) * 8  # features, labels, COO, the sampler's CSR
    assert estimate["machines"] == math.ceil(storage / (32 * 2**30 - 2**28 - 2**27))
    batches = math.ceil(1_207_179 / 512)
    assert estimate["batches_per_epoch"] == batches and estimate["epoch_seconds_one_process"] == batches * 2.0
    four = estimate["by_machines"][4]
    assert four["network_bytes_per_epoch"] == pytest.approx(batches * 40_000 * 3 / 4 * 128 * 4)
    assert four["epoch_seconds"] == math.ceil(batches / 4) * 2.0
    assert estimate["by_machines"][1]["network_bytes_per_epoch"] == 0, "one machine fetches nothing"
    assert estimate["machines"] in estimate["by_machines"]
    text = scale.describe_estimate(estimate)
    assert "ogbn-papers100M" in text and "GiB" in text and "Gbit/s" in text
    with pytest.raises(ValueError, match="no measured record"):
        scale.papers100m_estimate([{"status": "failed", "num_nodes": 10, "avg_degree": 4.0}])
