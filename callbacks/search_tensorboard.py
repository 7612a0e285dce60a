"""SearchTensorBoard: per-generation search curves, the Pareto scatter and the Pareto architectures."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence

from torch.utils.tensorboard import SummaryWriter
from typing_extensions import override

from nsga_lightning.search import Archive, ArchiveRow, SearchCallback, SearchResult, SearchRunner
from nsga_lightning.search.store.history import summarize
from nsga_lightning.search.store.hv_history import Convergence, convergence, reach_line, reference_text
from nsga_lightning.search.store.latency_record import latency_quality, read_latency_snapshot
from nsga_lightning.search.store.run_directory import RunDirectory
from nsga_lightning.search.surrogate.quality import surrogate_quality
from nsga_lightning.viz import can_draw, drawing_or_note, no_drawing, pareto_figure
from nsga_lightning.viz.history_plot import fronts_figure

log = logging.getLogger(__name__)


def convergence_text(history: Convergence, result: SearchResult) -> str:
    """The closing text: why the search stopped, the reference point and when it reached 90/95/99%."""
    lines = [f"stopped: {result.stop_text}" if result.stop_text else "",
             f"hypervolume reference point (fixed): {reference_text(history.reference)}",
             f"final hypervolume {history.points[-1].hypervolume:.4g}: {reach_line(history.reach)}"
             if history.reach else ""]
    return "  \n".join(line for line in lines if line)


class SearchTensorBoard(SearchCallback):
    """Log the search to TensorBoard in the run directory's search log (``RunDirectory.search_log``).

    Per generation: ``search/hypervolume`` (fixed reference point), ``search/best_error``,
    ``search/smallest_madds``, ``search/best_<name>`` of every other objective, ``search/evaluated``,
    ``search/cached``, ``search/failed`` and the Pareto scatter as the figure ``search/pareto`` (children stopped
    early hollow); per evaluation ``search/hypervolume_by_evaluation`` and ``search/hours_by_evaluation`` (the
    search's hours then); at the end of a session the fronts of every N-th generation overlaid
    (``search/fronts_every_n``) and, when it ended normally, the text ``search/convergence``: why it stopped, the
    fixed reference point and the evaluations and hours to 90/95/99% of the final hypervolume. With rungs (``search.fidelity``): ``rungs/reached_<epochs>`` (children of the generation that
    reached each rung), ``rungs/epochs_trained`` and ``rungs/epochs_saved`` (against training every child fully);
    with the pre-screen: ``search/screened``; with limits known before training (``search.constraints``):
    ``limits/skipped`` (children kept from training); with the latency objective: ``latency/kendall_tau``,
    ``latency/median_relative_error``, ``latency/max_relative_error`` and ``latency/madds_kendall_tau`` (the
    predictor against measurements of held-out networks), and where latency is measured ``latency/search_kendall_tau``
    and ``latency/search_median_relative_error`` (prediction against measurement of the candidates); with the
    surrogate: ``surrogate/kendall_tau`` and ``surrogate/rmse``
    (predicted vs measured error of the generation's children, never of the rows it was fitted to),
    ``surrogate/measured``, ``surrogate/fit_rows`` and ``surrogate/seconds`` (the driver's time for the proposal).
    At the end, a drawing of every Pareto architecture (``pareto/<key>``), or, for a space that draws nothing, one
    line saying so (the text ``pareto/drawings``). Each candidate's own training run (with its HParams) is logged
    by the evaluator.

    Args:
        objectives: the searched objectives.
        reference_point: hypervolume reference overrides (see ``nsga_lightning.search.store.history``).
        draw_limit: draw at most this many Pareto architectures at the end.
    """

    def __init__(self, objectives: Sequence[str] = ("error", "madds"),
                 reference_point: Mapping[str, float] | None = None, draw_limit: int = 20) -> None:
        self.objectives = tuple(objectives)
        self.reference_point = dict(reference_point or {})
        self.draw_limit = draw_limit
        self.writer: SummaryWriter | None = None
        self.logged: set[int] = set()
        self.new_generations = 0
        self.logged_evaluations = 0
        self.convergence: Convergence | None = None

    @override
    def on_search_start(self, runner: SearchRunner) -> None:
        self.writer = SummaryWriter(str(RunDirectory(runner.run_dir).search_log))
        # a resumed search already wrote the generations it finished before (and their evaluations)
        self.logged = {row.generation for row in runner.archive.generations()}
        self.new_generations = 0
        last = max(self.logged, default=-1)
        # a session that ended normally logged every evaluation; an interrupted one those of its generations
        ended = runner.control.previous_end is not None
        self.logged_evaluations = sum(1 for r in runner.archive.rows() if 0 <= r.generation and (
            ended or r.generation <= last))
        self.convergence = None

    @override
    def on_generation_end(self, runner: SearchRunner, generation: int, population: Sequence[ArchiveRow],
                          archive: Archive) -> None:
        if self.writer is None:
            return
        summaries = summarize(archive, self.objectives, self.reference_point)
        quality = {q.generation: q for q in surrogate_quality(archive.predictions(), archive.rows())}
        for summary in summaries:
            if summary.generation in self.logged:
                continue  # on resume, generations logged before are not written twice
            step = summary.generation
            values = {name: float(getattr(summary, name)) for name in
                      ("hypervolume", "best_error", "smallest_madds", "evaluated", "cached", "failed")}
            values |= {f"best_{name}": value for name, value in summary.best.items() if name not in ("error", "madds")}
            for name, value in values.items():
                if math.isfinite(value):
                    self.writer.add_scalar(f"search/{name}", value, step)
            for epochs, count in summary.rung_counts.items():
                self.writer.add_scalar(f"rungs/reached_{epochs}", count, step)
            if summary.rung_counts:
                self.writer.add_scalar("rungs/epochs_trained", summary.epochs_trained, step)
                self.writer.add_scalar("rungs/epochs_saved", summary.epochs_saved, step)
            if summary.screened:
                self.writer.add_scalar("search/screened", summary.screened, step)
            if summary.skipped:
                self.writer.add_scalar("limits/skipped", summary.skipped, step)
            if step in quality:
                for name in ("kendall_tau", "rmse", "measured", "fit_rows", "seconds"):
                    value = float(getattr(quality[step], name))
                    if math.isfinite(value):
                        self.writer.add_scalar(f"surrogate/{name}", value, step)
            self.logged.add(step)
            self.new_generations += 1
        self._log_latency(archive, generation)
        rows = [row.as_dict() for row in archive.rows()]
        fronts = [s.front for s in summaries]
        figure = pareto_figure(rows, fronts, self.objectives[:2], title=f"generation {generation}")
        self.writer.add_figure("search/pareto", figure, generation, close=False)
        self._log_evaluations(archive, fronts)
        self.writer.flush()

    def _log_latency(self, archive: Archive, generation: int) -> None:
        """The latency predictor's quality (``latency/*``): on the calibration's held-out networks, and between
        prediction and measurement of the candidates measured so far."""
        quality = latency_quality(read_latency_snapshot(archive.run), archive.rows())
        for name, value in quality.items():
            if math.isfinite(value):
                self.writer.add_scalar(f"latency/{name}", value, generation)

    def _log_evaluations(self, archive: Archive, fronts: Sequence[Sequence[str]]) -> Convergence:
        """Log the hypervolume (and the search's hours) of every evaluation not logged yet."""
        history = convergence(archive, self.objectives, self.reference_point, fronts)
        for point in history.points:
            if point.evaluations <= self.logged_evaluations:
                continue  # logged by an earlier generation or session
            self.writer.add_scalar("search/hypervolume_by_evaluation", point.hypervolume, point.evaluations)
            if point.seconds is not None:
                self.writer.add_scalar("search/hours_by_evaluation", point.seconds / 3600, point.evaluations)
        self.logged_evaluations = max(self.logged_evaluations, history.points[-1].evaluations)
        self.convergence = history
        return history

    @override
    def on_search_end(self, runner: SearchRunner, result: SearchResult) -> None:
        if self.writer is None:
            return
        archive = runner.archive
        fronts = [s.front for s in summarize(archive, self.objectives, self.reference_point)]
        if result.status == "completed":  # a budget may have ended it inside a generation: its results too
            self._log_evaluations(archive, fronts)
        if self.convergence is not None and fronts:  # the fronts of every N-th generation, once a session
            history = self.convergence
            figure = fronts_figure([row.as_dict() for row in archive.rows()], history.fronts, self.objectives[:2],
                                   history.step, title=f"fronts up to generation {len(fronts) - 1}")
            self.writer.add_figure("search/fronts_every_n", figure, len(fronts) - 1, close=False)
        if result.status == "completed" and self.convergence is not None:
            history = self.convergence  # stated once: the fixed reference point, the reach, why it stopped
            self.writer.add_text("search/convergence", convergence_text(history, result),
                                 history.points[-1].evaluations)
        if result.status == "completed" and self.new_generations:  # a finished run resumed again drew them
            step = result.generations - 1
            for row in result.pareto[: self.draw_limit]:
                genotype = runner.space.decode(row.genome)
                if not can_draw(genotype, runner.space):  # one line says so, once
                    log.info("TensorBoard: %s", no_drawing(runner.space))
                    self.writer.add_text("pareto/drawings", no_drawing(runner.space), step)
                    break
                drawing = drawing_or_note(genotype, row.key, runner.space)  # a failed drawing is a line too
                if isinstance(drawing, str):
                    self.writer.add_text(f"pareto/{row.key}", drawing, step)
                else:
                    self.writer.add_figure(f"pareto/{row.key}", drawing, step, close=False)
        self.writer.close()
        self.writer = None
