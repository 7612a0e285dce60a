"""SearchTensorBoard: per-generation scalars and the Pareto figure, each generation logged once across resumes."""

from __future__ import annotations

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from nsga_lightning.callbacks import SearchTensorBoard
from nsga_lightning.search.store.run_directory import RunDirectory


def _scalars(folder) -> dict[str, list[int]]:
    accumulator = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0})
    accumulator.Reload()
    return {tag: [e.step for e in accumulator.Scalars(tag)] for tag in accumulator.Tags()["scalars"]}


def test_every_generation_is_logged_once_even_across_a_resume(make_search):
    with make_search([SearchTensorBoard()], n_gens=2) as runner:
        runner.run()
    with make_search([SearchTensorBoard()], n_gens=3) as runner:
        runner.run()
    scalars = _scalars(RunDirectory(runner.run_dir).search_log)
    for name in ("hypervolume", "best_error", "smallest_madds", "evaluated", "cached", "failed"):
        assert scalars[f"search/{name}"] == [0, 1, 2], name


def test_a_complete_search_adds_no_event_file(make_search):
    with make_search([SearchTensorBoard()]) as runner:
        runner.run()
    folder = RunDirectory(runner.run_dir).search_log
    before = sorted(p.name for p in folder.iterdir())
    with make_search([SearchTensorBoard()]) as runner:
        runner.run()
    assert sorted(p.name for p in folder.iterdir()) == before
