"""The soak (issue 19): the search's modes, combined, run the paper's length (pop 40, 20 children, 30 generations)
with the archive's invariants checked after every generation, and end, interrupted at three seeded points and
resumed after each, in the archive of the uninterrupted run; every combination the search refuses gets its
one-line error; the shipped search configs run their full length. A function evaluator stands in for the training
(its error depends on the genome and on the epochs, so rungs and promotions are real): nothing is trained.
``pytest -m soak`` runs it alone (about 135 s of CPU; most of it in canonical keys and the archive).

The modes: initialization random/prior, crossover two_point/homogeneous, exploitation on/off, fidelity
off/sync/async (rungs [2, 6, 20]), pre-screen off/on (a key-hash scorer), generational or steady state
(``n_offspring: 1``), one or two workers. Every supported combination of exploitation, fidelity, pre-screen, steady
state and workers runs; the steady state with all four (initialization, crossover) pairs, the generational modes
each with one pair, chosen so that every pair meets every value of every other mode (the pairs choose genomes, not
the loop's course; all 64 generational combinations would take four times as long). Two workers run in a scripted
two-slot pool in this process, so that the asynchronous modes (the steady state, the rungs) are deterministic and an
interrupted run can be compared with an uninterrupted one; three more runs put the two workers in local worker
processes, and one runs the single isolated worker process of ``search.isolation`` with candidates that abort it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from crash_helpers import SometimesAborting
from search_helpers import StopAfter
from soak_helpers import (
    GUARDS,
    PAPER,
    SMALL,
    STEADY_LONG,
    Modes,
    Run,
    all_modes,
    archive_state,
    check_archive,
    in_process,
    interrupt_points,
    local_pool,
    soak,
)

from nsga_lightning.search import Archive
from nsga_lightning.search.assemble.settings import SurrogateSettings
from nsga_lightning.search.proposers.surrogate import training_rows
from nsga_lightning.search.settings import SearchConfig

pytestmark = pytest.mark.soak

ROOT = Path(__file__).resolve().parents[2]

# What the search refuses, with the one-line error each gets, in the order it checks them: a combination is
# refused by the first rule it matches.
REFUSED = [
    ({"fidelity": "async", "workers": 1},
     ("search.fidelity.asynchronous needs search.workers > 1 and an evaluator that takes candidates one at a time "
     "(with one worker the rungs never wait for anyone); set workers or asynchronous: false")),
    ({"exploitation": True, "steady": True, "workers": 2},
     ("exploitation_gens needs the generational mode; the asynchronous steady state (n_offspring 1 with several "
     "workers) has no last generations to exploit in")),
    ({"fidelity": "sync", "steady": True, "workers": 2},
     ("search.fidelity needs the generational mode; the asynchronous steady state (n_offspring 1 with several "
     "workers) has no generation of children to promote from")),
    ({"fidelity": "async", "steady": True, "workers": 2},
     ("search.fidelity needs the generational mode; the asynchronous steady state (n_offspring 1 with several "
     "workers) has no generation of children to promote from")),
    ({"prescreen": True, "steady": True, "workers": 2},
     ("search.prescreen needs the generational mode; the asynchronous steady state (n_offspring 1 with several "
     "workers) mates one child at a time")),
]


def refusal(modes: Modes) -> str | None:
    """The one-line error the search gives these modes, ``None`` if it runs them."""
    for rule, message in REFUSED:
        if all(getattr(modes, name) == value for name, value in rule.items()):
            return message
    return None



OPERATORS = [("random", "two_point"), ("prior", "homogeneous"), ("random", "homogeneous"), ("prior", "two_point")]


def _operators(modes: Modes) -> tuple[str, str]:
    """The (initialization, crossover) pair a generational combination runs with: one of the four, chosen so that
    each pair meets every value of every other mode (fixing any one of exploitation, staged training and
    pre-screen, the other two pick the pair one to one)."""
    staged = modes.fidelity != "off"
    return OPERATORS[2 * (modes.exploitation ^ staged) + (staged ^ modes.prescreen)]


def _matrix() -> list[tuple[Modes, tuple[int, ...]]]:
    """The combinations run, grouped by everything but the workers: (modes with one worker, the worker counts the
    search runs them with). Every supported combination of the steady state (one child a generation: cheap);
    every supported generational combination with its pair of :func:`_operators` (a run at the paper's length
    costs about a second of CPU, three runs a combination)."""
    shapes: dict[Modes, list[int]] = {}
    for modes in all_modes():
        if refusal(modes) is None and (modes.steady or (modes.initialization, modes.crossover) == _operators(modes)):
            shapes.setdefault(dataclasses.replace(modes, workers=1), []).append(modes.workers)
    return [(modes, tuple(workers)) for modes, workers in shapes.items()]


def _run(modes: Modes, workers: int, folder: Path, kind: str, size: tuple[int, int, int] = PAPER) -> Run:
    """A run of ``modes`` on ``workers`` in this process, in ``folder/<modes>-w<workers>-<kind>``."""
    modes = dataclasses.replace(modes, workers=workers)
    config = modes.config(folder / f"{modes.name}-{kind}", size)
    return Run(config, in_process(config))


def _worker_independent(modes: Modes) -> bool:
    """The generational modes give the same archive for any number of workers (the asynchronous ones do not)."""
    return not modes.steady and modes.fidelity != "async"


@pytest.mark.parametrize(("modes", "workers"), _matrix(), ids=lambda v: v.name.removesuffix("-w1")
                         if isinstance(v, Modes) else "w" + "+".join(map(str, v)))
def test_every_supported_combination_survives_the_paper_length_and_three_interrupts(folder, modes, workers):
    if _worker_independent(modes):  # one uninterrupted run on one worker is the reference of both counts
        assert workers == (1, 2)
        soak(_run(modes, 1, folder, "straight"), *(_run(modes, w, folder, "interrupted") for w in workers))
        return
    for count in workers:
        soak(_run(modes, count, folder, "straight"), _run(modes, count, folder, "interrupted"))


@pytest.mark.parametrize("modes", [Modes(surrogate="rbf"), Modes(surrogate="rbf", fidelity="sync"),
                                   Modes(surrogate="rbf", guards=True)], ids=lambda m: m.name)
def test_the_surrogate_survives_the_paper_length_and_three_interrupts(folder, modes):
    """The surrogate proposes from generation 1 to 29 (pop 20 / 10 children: its fit and inner search make it the
    slow mode; with its guard rails from the initial design of 30 on, mating a share of every generation and a
    whole one after poor predictions); one uninterrupted run on one worker is the reference of one and of two
    out-of-order workers, each interrupted three times."""
    soak(_run(modes, 1, folder, "straight", SMALL), *(_run(modes, w, folder, "interrupted", SMALL) for w in (1, 2)))
    with Archive(folder / f"{modes.name}-straight") as archive:  # it did propose, generation after generation
        proposed = {p.generation for p in archive.predictions()}
        rows = archive.rows()
    if modes.guards:
        assert 10 <= len(proposed) < 28
    else:  # every generation once the earlier ones fully trained the initial design (with rungs: the promoted only)
        design = SurrogateSettings().min_trained
        assert proposed == {g for g in range(1, SMALL[2]) if len(training_rows(rows, g)) >= design}
        assert len(proposed) >= (20 if modes.fidelity == "off" else 12)  # with rungs from generation 13-17 on


@pytest.mark.parametrize("modes", [Modes(genes="space"), Modes(genes="space", fidelity="sync", prescreen=True)],
                         ids=lambda m: m.name)
def test_categorical_genes_survive_the_paper_length_and_three_interrupts(folder, modes):
    """``search.genes: space`` (the micro space's genes resampled as categories when mutated) at the paper's length:
    one uninterrupted run on one worker is the reference of one and of two workers, each interrupted three times."""
    soak(_run(modes, 1, folder, "straight"), *(_run(modes, w, folder, "interrupted") for w in (1, 2)))
    with Archive(folder / f"{modes.name}-straight") as archive:  # the categorical mutation did run
        assert archive.config()["operators"]["mutation"]["class"] == "CategoricalMutation"


def _cell_search(run_dir: Path, callbacks: tuple = (), workers: int = 1) -> Any:
    from cell_space import CellSpace, cell_latency, cell_objectives

    from nsga_lightning.search import FunctionEvaluator
    from nsga_lightning.search.build import build_search

    pop_size, n_offspring, n_gens = SMALL
    config = {"search": {"pop_size": pop_size, "n_offspring": n_offspring, "n_gens": n_gens, "seed": 0,
                         "run_dir": str(run_dir), "workers": workers, "objectives": ["error", "latency"],
                         "surrogate": {"model": "rbf", **GUARDS}}, "progress_bar": False}
    evaluator = FunctionEvaluator(cell_objectives, {"table": "cell v1"}, objectives=("error", "latency"),
                                  complexity=cell_latency)
    with build_search(config, list(callbacks), space=CellSpace(), evaluator=evaluator) as runner:
        return runner.run()


def test_the_surrogate_on_a_listed_space_survives_the_paper_length_and_three_interrupts(folder):
    """A space small enough to list (the cell space, 15,625 genomes): every architecture not yet trained is
    predicted instead of an inner search, with the guard rails on; interrupted three times and on two local
    worker processes it ends in the uninterrupted archive."""
    reference = _cell_search(folder / "straight")
    assert reference.status == "completed" and reference.generations == SMALL[2]
    done = 0
    for point in interrupt_points("listed", reference.n_evaluated):
        with pytest.raises(KeyboardInterrupt):
            _cell_search(folder / "interrupted", (StopAfter(point - done),))
        done = point
    assert _cell_search(folder / "interrupted").status == "completed"
    assert _cell_search(folder / "workers", workers=2).workers == 2
    expected = archive_state(folder / "straight", order=False)
    assert archive_state(folder / "interrupted", order=False) == expected
    assert archive_state(folder / "workers", order=False) == expected
    with Archive(folder / "straight") as archive:
        assert 10 <= len({p.generation for p in archive.predictions()}) < SMALL[2] - 1


def _limits() -> dict[str, float]:
    """A limit known before training (the 60th percentile of random genomes' MAdds) and one on the trained error
    (its 70th percentile): many children are mated again, some trained results are infeasible."""
    from search_helpers import analytic_complexity, analytic_objectives

    from nsga_lightning.search.core.evaluator import Candidate
    from nsga_lightning.spaces import make_space

    space = make_space("micro")
    genomes = [[int(g) for g in genome] for genome in space.sample(np.random.default_rng(11), 300)]
    candidates = [Candidate(space.key(g), g, 0, 0) for g in genomes]
    errors = []
    for candidate in candidates:
        try:
            errors.append(analytic_objectives(candidate)["error"])
        except RuntimeError:  # the evaluator's keyed failures
            pass
    return {"madds": float(np.percentile([c["madds"] for c in analytic_complexity(candidates)], 60)),
            "error": float(np.nanpercentile(errors, 70))}


@pytest.mark.parametrize("modes", [Modes("prior", "homogeneous", exploitation=True, fidelity="sync", prescreen=True),
                                   Modes(steady=True, workers=2)], ids=lambda m: m.name)
def test_limits_survive_the_paper_length_and_three_interrupts(folder, modes):
    """``search.constraints`` with the modes that choose children (exploitation, rungs, pre-screen, the steady
    state; the surrogate with limits: ``test_limits.py``): no child over the known limit trains, every resume ends
    in the uninterrupted archive."""
    limits = _limits()
    size = SMALL
    runs = []
    for kind in ("straight", "interrupted"):
        config = modes.config(folder / f"{modes.name}-limits-{kind}", size)
        config["search"]["constraints"] = limits
        runs.append(Run(config, in_process(config)))
    soak(*runs)
    with Archive(runs[0].run_dir) as archive:
        rows = archive.rows()
        skipped = [s for s in archive.screening() if s.score_name == "limits"]
    assert skipped and all(r.objectives["madds"] <= limits["madds"] for r in rows if r.is_ok)
    assert any(r.is_ok and r.objectives["error"] > limits["error"] for r in rows)


@pytest.mark.parametrize("workers", [1, 2])
def test_the_steady_state_survives_the_number_of_evaluations_of_the_paper_length(folder, workers):
    """One child a generation for as many evaluations as pop 20 / 10 children / 30 generations (291 generation
    rows; with two workers the asynchronous steady state, whose resume replays every recorded completion)."""
    modes = Modes(steady=True)
    soak(_run(modes, workers, folder, "straight", STEADY_LONG),
         _run(modes, workers, folder, "interrupted", STEADY_LONG))


@pytest.mark.parametrize("modes", [m for m in all_modes() if refusal(m) is not None], ids=lambda m: m.name)
def test_every_refused_combination_gets_its_one_line_error_and_creates_nothing(tmp_path, modes):
    config = modes.config(tmp_path / "run")
    with pytest.raises(ValueError) as error:
        Run(config, in_process(config)).runner()
    assert str(error.value) == refusal(modes)
    assert not (tmp_path / "run").exists()


LOCAL_POOL = [
    # a generational combination: the archive of the scripted pool in this process
    Modes("prior", "homogeneous", exploitation=True, fidelity="sync", prescreen=True, workers=2),
    # the asynchronous modes depend on the order in which the processes finish: the invariants, and resumes that
    # replay the recorded order
    Modes("prior", "homogeneous", fidelity="async", prescreen=True, workers=2),
    Modes("random", "two_point", steady=True, workers=2),
]


@pytest.mark.parametrize("modes", LOCAL_POOL, ids=lambda m: m.name)
def test_two_local_worker_processes_survive_the_length_and_three_interrupts(folder, modes):
    size = STEADY_LONG if modes.steady else SMALL
    config = modes.config(folder / f"{modes.name}-processes", size)
    soak(_run(modes, 2, folder, "straight", size), Run(config, local_pool(config)),
         same_archive=_worker_independent(modes))


def test_one_isolated_worker_process_with_native_crashes_survives_the_length_and_three_interrupts(folder):
    """``search.isolation``'s single worker process (the default of a trainer search), at pop 20 / 10 children / 30
    generations, with about one key in 64 aborting it: three interrupts and resumes end in the uninterrupted run's
    archive, every abort recorded once, with its signal."""
    from search_helpers import CountingEvaluator

    from nsga_lightning.search.execution.factory import CopyFactory
    from nsga_lightning.search.execution.local_pool import LocalPoolEvaluator
    from nsga_lightning.search.execution.plans import WorkerPlan

    runs = []
    for kind in ("straight", "interrupted"):
        config = Modes().config(folder / f"isolated-{kind}", SMALL)
        pool = LocalPoolEvaluator(CopyFactory(SometimesAborting()), [WorkerPlan()], CountingEvaluator())
        runs.append(Run(config, pool))
    soak(*runs)
    with Archive(folder / "isolated-interrupted") as archive:
        aborted = [row for row in archive.rows("failed") if "killed by SIGABRT" in row.error_text]
    assert aborted  # the crashes happened


def _shipped_configs() -> list[Path]:
    return sorted((ROOT / "configs" / "search").glob("*.yaml")) + [ROOT / "configs" / "quickstart.yaml"]


@pytest.mark.parametrize("path", _shipped_configs(), ids=lambda p: p.stem)
def test_every_shipped_search_config_runs_its_full_length(folder, path):
    """Each shipped config as written (space, population, children, generations, rungs, paper parts) with only the
    training replaced; the Pareto outputs are written as a search writes them."""
    from nsga_lightning.callbacks import ParetoOutputs

    config = yaml.safe_load(path.read_text())
    config["search"]["run_dir"] = str(folder / "run")
    run = Run(config, in_process(config))
    result = run.straight()
    assert result.status == "completed" and result.generations == config["search"]["n_gens"]
    settings = SearchConfig.from_dict(config)
    outputs = ParetoOutputs(settings.search.objectives, settings.retrain, settings.data)
    with Archive(folder / "run") as archive:
        written = outputs.write(folder / "run", settings.space.name, archive)
    assert {p.stem for p in written} == {r.key for r in result.pareto}
    check_archive(folder / "run", config)  # reads the pareto.csv the outputs wrote


def test_the_matrix_runs_every_supported_combination_of_the_modes_and_each_operator_pair_with_every_mode():
    matrix = [dataclasses.replace(m, workers=w) for m, workers in _matrix() for w in workers]
    refused = [m for m in all_modes() if refusal(m) is not None]
    assert len(all_modes()) == 2 * 2 * 2 * 3 * 2 * 2 * 2 and not set(matrix) & set(refused)
    loop = [f.name for f in dataclasses.fields(Modes) if f.name not in ("initialization", "crossover")]
    supported = {tuple(getattr(m, name) for name in loop) for m in all_modes() if refusal(m) is None}
    assert {tuple(getattr(m, name) for name in loop) for m in matrix} == supported
    for name in loop:
        for value in {getattr(m, name) for m in matrix}:
            assert {(m.initialization, m.crossover) for m in matrix if getattr(m, name) == value} == set(OPERATORS)
