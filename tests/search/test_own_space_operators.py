"""The paper's parts on a space of your own: the prior start takes the space's ``prior_genomes`` (a space without
them starts at random, said in a log line), the homogeneous crossover keeps the genes both parents share, the BOA
exploitation chains the genes in order, and a search with all three resumes to the uninterrupted archive."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from cell_space import CellSpace, cell_objectives
from search_helpers import StopAfter

from nsga_lightning.search import Archive, FunctionEvaluator, NSGANetOperators
from nsga_lightning.search.build import build_search
from nsga_lightning.search.evolution.homogeneous_crossover import HomogeneousCrossover
from nsga_lightning.search.proposers.exploitation import chains


class PriorCellSpace(CellSpace):
    """The cell space with two hand-crafted designs: all 3x3 convolutions, and a chain of skips."""

    def prior_genomes(self, rng: np.random.Generator) -> list[list[int]]:
        return [[3] * 6, [1, 0, 1, 0, 0, 1]]


def test_the_prior_start_takes_the_space_s_designs_first() -> None:
    space = PriorCellSpace()
    pop = NSGANetOperators(space, 2, initialization="prior").initial(5, np.random.default_rng(0))
    assert [ind.get("key") for ind in pop][:2] == [space.key([3] * 6), space.key([1, 0, 1, 0, 0, 1])]
    assert len({ind.get("key") for ind in pop}) == 5


def test_a_space_without_designs_starts_at_random_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        prior = NSGANetOperators(CellSpace(), 2, initialization="prior").initial(5, np.random.default_rng(0))
    random = NSGANetOperators(CellSpace(), 2, initialization="random").initial(5, np.random.default_rng(0))
    assert [ind.get("key") for ind in prior] == [ind.get("key") for ind in random]
    assert "the cell space offers no designs" in caplog.text


def test_the_homogeneous_crossover_keeps_shared_genes_and_takes_the_others_from_a_parent() -> None:
    crossover = HomogeneousCrossover(CellSpace())
    assert crossover.unit == "genes"
    rng = np.random.default_rng(0)
    parents = rng.integers(0, 5, size=(2, 50, 6))
    parents[1, :, :3] = parents[0, :, :3]  # the first three genes shared
    children = crossover._do(None, parents, random_state=rng)
    assert (children[:, :, :3] == parents[0, :, :3]).all()
    assert ((children == parents[0]) | (children == parents[1])).all()
    assert ((children[0] == parents[0]) == (children[1] == parents[1])).all()  # the second child: the other genes
    assert (children[0] != parents[0]).any()


def test_the_exploitation_chains_the_genes_in_order() -> None:
    variables, order = chains(CellSpace())
    assert variables == [slice(i, i + 1) for i in range(6)] and order == [list(range(6))]


def _paper_search(run_dir, callbacks=()):
    config = {"search": {"pop_size": 6, "n_offspring": 3, "n_gens": 4, "seed": 2, "run_dir": str(run_dir),
                         "objectives": ["error", "latency"], "initialization": "prior", "crossover": "homogeneous",
                         "exploitation_gens": 1}, "progress_bar": False}
    evaluator = FunctionEvaluator(cell_objectives, objectives=["error", "latency"])
    return build_search(config, callbacks=list(callbacks), space=PriorCellSpace(), evaluator=evaluator)


def _rows(run_dir):
    with Archive(run_dir) as archive:
        return [(r.key, r.genome, r.generation, r.objectives) for r in archive.rows()], [
            (g.population, g.rng_state) for g in archive.generations()]


def test_a_search_with_all_three_parts_resumes_to_the_uninterrupted_archive(tmp_path) -> None:
    with _paper_search(tmp_path / "whole") as runner:
        assert runner.run().status == "completed"
    with _paper_search(tmp_path / "resumed", [StopAfter(10)]) as runner, pytest.raises(KeyboardInterrupt):
        runner.run()
    with _paper_search(tmp_path / "resumed") as runner:
        runner.run()
    assert _rows(tmp_path / "resumed") == _rows(tmp_path / "whole")
    rows, _ = _rows(tmp_path / "whole")
    assert {(3,) * 6, (1, 0, 1, 0, 0, 1)} <= {tuple(genome) for _, genome, generation, _ in rows if generation == 0}
