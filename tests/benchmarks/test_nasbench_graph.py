"""NAS-Bench-Graph as a space and a tabular evaluator: every genome is keyed by the benchmark's own isomorphism hash
and lands in its table, the evaluator returns the table's validation error, latency and parameters (never the test
accuracy), the shipped preset searches from the command line in seconds, and bad input is one line."""

from __future__ import annotations

import itertools
import pickle
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("nas_bench_graph")

from nsga_lightning.benchmarks import DATASETS, NASBenchGraphEvaluator, NASBenchGraphSpace, load_table
from nsga_lightning.benchmarks.nasbench_graph import GraphArchitecture
from nsga_lightning.cli import main
from nsga_lightning.search import Archive, Candidate
from nsga_lightning.search.build import build_search

SKIP_ONLY_KEY = "88888"  # the benchmark's hash of the network of skip connections only, which it never trained


def _every_genome(space: NASBenchGraphSpace) -> np.ndarray:
    return np.array(list(itertools.product(*(range(u + 1) for u in space.upper))), dtype=np.int64)


@pytest.mark.parametrize("dataset", ["cora", "proteins"])
def test_every_genome_is_keyed_into_the_table_and_the_keys_are_the_tables(dataset: str) -> None:
    space = NASBenchGraphSpace(dataset)
    table = load_table(dataset)
    genomes = _every_genome(space)
    keys = {space.key(g) for g in genomes}
    skip_only = [g for g in genomes if all(space.operations[i] == "skip" for i in g[1:])]
    assert len(genomes) == 9 * len(space.operations) ** 4 and len(skip_only) == 9
    assert {space.key(g) for g in skip_only} == {SKIP_ONLY_KEY}
    # every other genome is an architecture of the table, and every architecture of the table is reached
    assert keys - {SKIP_ONLY_KEY} == {str(k) for k in table.keys}
    assert len(table.keys) == (2021 if dataset == "proteins" else 26206)


def test_the_datasets_with_nine_operations_share_cora_s_architectures() -> None:
    cora = load_table("cora").keys
    for dataset in sorted(set(DATASETS) - {"cora", "proteins"}):
        assert np.array_equal(load_table(dataset).keys, cora), dataset


def test_the_table_loads_once_per_process_in_well_under_a_second() -> None:
    load_table.cache_clear()
    start = time.perf_counter()
    table = load_table("cora")
    assert time.perf_counter() - start < 2.0  # ~0.15 s measured on the shared 2-core machine
    assert load_table("cora") is table


def test_the_evaluator_returns_the_tables_validation_values_and_never_the_test_accuracy() -> None:
    import nas_bench_graph

    raw = nas_bench_graph.light_read("citeseer")
    space, evaluator = NASBenchGraphSpace("citeseer"), NASBenchGraphEvaluator()
    genomes = space.sample(np.random.default_rng(0), 40)
    candidates = [Candidate(space.key(g), g.tolist(), 0, 0, space.decode(g)) for g in genomes]
    evaluations = list(evaluator.evaluate(candidates))
    for candidate, evaluation in zip(candidates, evaluations):
        if candidate.key == SKIP_ONLY_KEY:
            continue
        entry = raw[int(candidate.key)]
        assert evaluation.is_ok
        assert evaluation.objectives == pytest.approx({"error": 100 * (1 - entry["valid_perf"]),
                                                       "latency": 1000 * entry["latency"], "params": 1e6 * entry["para"]})
        assert set(evaluation.objectives) == set(evaluator.objective_names)  # no test accuracy
    complexity = evaluator.complexity(candidates)
    assert complexity == [{k: e.objectives[k] for k in ("latency", "params")} for e in evaluations]
    assert pickle.loads(pickle.dumps(evaluator)).fingerprint() == evaluator.fingerprint()


def test_the_skip_only_network_fails_with_one_line_and_ranks_last_for_the_surrogate() -> None:
    space, evaluator = NASBenchGraphSpace("proteins"), NASBenchGraphEvaluator()
    genome = [3] + [space.operations.index("skip")] * 4
    candidate = Candidate(space.key(genome), genome, 0, 0, space.decode(genome))
    (evaluation,) = evaluator.evaluate([candidate])
    assert not evaluation.is_ok and "skip connections only is not in NAS-Bench-Graph" in evaluation.error_text
    table = load_table("proteins")
    assert evaluator.complexity([candidate]) == [{"latency": table.latency.max(), "params": table.params.max()}]


def test_the_space_stores_its_architectures_and_refuses_bad_genomes_in_one_line() -> None:
    space = NASBenchGraphSpace("proteins")
    architecture = space.decode([8, 0, 1, 2, 4])
    assert architecture == GraphArchitecture("proteins", (0, 1, 2, 3), ("gcn", "sage", "arma", "skip"))
    assert space.genotype_from_data(space.genotype_to_data(architecture)) == architecture
    assert space.categorical.tolist() == [True] * 5
    with pytest.raises(ValueError, match=r"position 1 \(operation 1\): value 5 outside the allowed range 0\.\.4"):
        space.validate([0, 5, 0, 0, 0])
    with pytest.raises(ValueError, match="not a nas-bench-graph architecture of proteins"):
        space.genotype_from_data({"dataset": "proteins", "link": [0, 0, 0, 0], "ops": ["gat"] * 4})
    with pytest.raises(ValueError, match="unknown NAS-Bench-Graph dataset 'imagenet'; choose one of arxiv"):
        NASBenchGraphSpace("imagenet")


def test_without_the_package_each_entry_point_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    load_table.cache_clear()
    monkeypatch.setitem(sys.modules, "nas_bench_graph", None)
    for build in (lambda: NASBenchGraphSpace("cora"), lambda: load_table("cora"),
                  lambda: NASBenchGraphEvaluator().prepare()):
        with pytest.raises(ValueError, match=r'NAS-Bench-Graph is not installed: pip install -e "\.\[benchmarks\]"'):
            build()
    load_table.cache_clear()


def _config(run_dir: Path, **search: object) -> dict:
    return {"search": {"pop_size": 20, "n_offspring": 10, "n_gens": 4, "seed": 2, "objectives": ["error", "latency"],
                       "run_dir": str(run_dir), **search}, "progress_bar": False}


def _rows(run_dir: Path) -> list:
    with Archive(run_dir) as archive:
        return [(r.key, r.genome, r.generation, r.status, r.objectives) for r in archive.rows()]


def test_the_evaluator_block_of_a_config_searches_as_the_evaluator_object_does(tmp_path: Path) -> None:
    block = {**_config(tmp_path / "block"), "space": {"class_path": "nsga_lightning.benchmarks.NASBenchGraphSpace",
                                                      "init_args": {"dataset": "pubmed"}},
             "evaluator": {"class_path": "nsga_lightning.benchmarks.NASBenchGraphEvaluator"}}
    with build_search(block, callbacks=[]) as runner:
        runner.run()
        fingerprint = runner.archive.meta()["fingerprint"]
        assert runner.config()["evaluator"]["class_path"] == "nsga_lightning.benchmarks.nasbench_graph.NASBenchGraphEvaluator"
    with build_search(_config(tmp_path / "object"), callbacks=[], space=NASBenchGraphSpace("pubmed"),
                      evaluator=NASBenchGraphEvaluator()) as runner:
        runner.run()
        assert runner.archive.meta()["fingerprint"] == fingerprint
    assert _rows(tmp_path / "block") == _rows(tmp_path / "object") and len(_rows(tmp_path / "block")) == 50


@pytest.mark.parametrize(("change", "message"), [
    ({"model": {"init_channels": 8}}, "the model block.* configure the trainer evaluator"),
    ({"evaluator": {"init_args": {}}}, r"evaluator needs a class_path \(e\.g\. nsga_lightning\.benchmarks"),
    ({"evaluator": {"class_path": "nsga_lightning.benchmarks.NASBenchGraphSpace"}},
     "is not an evaluator: it has no evaluate"),
    ({"evaluator": {"class_path": "nsga_lightning.benchmarks.NASBenchGraphEvaluator", "init_args": {"dataset": "x"}}},
     "evaluator.init_args"),
])
def test_a_bad_evaluator_block_is_one_line_before_anything_is_created(tmp_path: Path, change: dict,
                                                                      message: str) -> None:
    config = {**_config(tmp_path / "run"), "space": {"class_path": "nsga_lightning.benchmarks.NASBenchGraphSpace"},
              "evaluator": {"class_path": "nsga_lightning.benchmarks.NASBenchGraphEvaluator"}, **change}
    with pytest.raises(ValueError, match=message):
        build_search(config, callbacks=[])
    assert not (tmp_path / "run").exists()


def test_an_evaluator_block_and_an_evaluator_object_together_are_refused(tmp_path: Path) -> None:
    config = {**_config(tmp_path / "run"), "evaluator": {"class_path": "nsga_lightning.benchmarks.NASBenchGraphEvaluator"}}
    with pytest.raises(ValueError, match="either as the config's evaluator block or as build_search"):
        build_search(config, space=NASBenchGraphSpace(), evaluator=NASBenchGraphEvaluator())


def test_the_shipped_preset_searches_from_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    Path("photo.yaml").write_text("space:\n  class_path: nsga_lightning.benchmarks.NASBenchGraphSpace\n"
                                  "  init_args: {dataset: photo}\n")
    start = time.perf_counter()
    assert main(["search", "--config", "benchmark/nas-bench-graph", "--config", "photo.yaml", "--progress_bar",
                 "false", "--search.n_gens", "3"]) == 0
    seconds = time.perf_counter() - start
    out = capsys.readouterr().out
    assert "40 architectures trained in this session" in out and "outputs: runs/nas-bench-graph/pareto.csv" in out
    assert "retrain" not in out  # no training configs for a table
    assert seconds < 60  # a few seconds; the command's imports dominate on a busy machine
    assert main(["report", "runs/nas-bench-graph"]) == 0
    assert "does not draw its architectures" in (tmp_path / "runs/nas-bench-graph/report.html").read_text()
    with Archive(tmp_path / "runs/nas-bench-graph") as archive:
        assert {r.genotype["dataset"] for r in archive.rows()} == {"photo"}
    assert main(["search", "--config", "benchmark/nas-bench-graph", "--trainer", "{max_epochs: 2}"]) == 2
    assert "the trainer block(s) configure the trainer evaluator" in capsys.readouterr().err


def test_the_readme_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import re

    monkeypatch.chdir(tmp_path)
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = text.split("## Benchmark landscapes: NAS-Bench-Graph", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    namespace: dict = {"__name__": "readme"}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102
    assert namespace["result"].n_archived == 110 and len(namespace["table"].keys) == 26206
    with Archive(tmp_path / "runs" / "nbg-photo") as archive:  # the default surrogate proposed from generation 1
        assert {p.generation for p in archive.predictions()} == set(range(1, 10))
        assert archive.predictions()[0].model == "gp"


def test_the_surrogate_over_the_listed_table_never_proposes_a_child_over_a_limit(tmp_path: Path) -> None:
    """Hard limits (issue 27) with the listed pool of the default surrogate (issue 26): the whole table is
    predicted, but children whose parameter count is over the limit are neither proposed nor trained."""
    limit = float(np.median(load_table("cora").params))
    config = _config(tmp_path, n_gens=5, constraints={"params": limit}, surrogate={"model": "gp", "min_trained": 10})
    with build_search(config, callbacks=[], space=NASBenchGraphSpace("cora"),
                      evaluator=NASBenchGraphEvaluator()) as runner:
        runner.run()
        predicted = runner.archive.predictions()
        rows = runner.archive.rows()
    assert len({p.generation for p in predicted}) == 4  # the surrogate proposed every generation after the first
    params = {r.key: r.objectives["params"] for r in rows if r.is_ok}
    assert params and max(params.values()) <= limit
    assert all(params[p.key] <= limit for p in predicted if p.key in params)
