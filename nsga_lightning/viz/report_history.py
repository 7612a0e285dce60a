"""The report's section on how the search converged: why it stopped and what it spent, the hypervolume after every
evaluation and hour (fixed reference point, stated), the evaluations and hours to reach 90/95/99% of the final
hypervolume, and the fronts of every N-th generation overlaid."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from matplotlib.figure import Figure

from nsga_lightning.viz.history_plot import convergence_figure, fronts_figure


def _hours(value: float | None) -> str:
    return "&ndash;" if value is None else f"{value:.3f}"


def convergence_section(convergence: Mapping[str, Any] | None, rows: Sequence[Mapping[str, Any]],
                        objectives: tuple[str, str], to_uri: Callable[[Figure], str],
                        stopped: str | None = None, spent: str | None = None) -> str:
    """The HTML section (empty without ``convergence``).

    Args:
        convergence: ``Convergence.as_report()`` of ``nsga_lightning.search.store.hv_history``.
        rows: every archive row (``ArchiveRow.as_dict()``), for the overlaid fronts.
        objectives: the plotted pair.
        to_uri: renders a figure as a ``data:`` URI.
        stopped: why the search stopped, in words.
        spent: what it spent, in words.
    """
    if not convergence:
        return ""
    values = list(convergence["hypervolume"])
    reach = list(convergence["reach"])
    curve = to_uri(convergence_figure(convergence["evaluations"], values, convergence["hours"],
                                      [(share, count) for share, count, _ in reach]))
    step, fronts = int(convergence["step"]), dict(convergence["fronts"])
    overlay = to_uri(fronts_figure(rows, fronts, objectives, step))
    final = f": final {values[-1]:.4g}" if values else ""
    reference = html.escape(convergence["reference"])
    lines = [f"<p><strong>Stopped:</strong> {html.escape(stopped)}.</p>" if stopped else "",
             f"<p><strong>Spent:</strong> {html.escape(spent)}.</p>" if spent else "",
             (f"<p>Hypervolume of the front against the fixed reference point ({reference}; each objective divided "
              f"by its reference value, so it lies in [0, 1]){final}. Evaluation 0 is what a warm start "
              "imported.</p>")]
    table = ""
    if reach:
        body = "".join(f"<tr><td>{100 * share:g}%</td><td>{count}</td><td>{_hours(hours)}</td></tr>"
                       for share, count, hours in reach)
        table = ('<table id="reach"><tr><th>share of the final hypervolume</th><th>evaluations</th>'
                 f"<th>hours</th></tr>{body}</table>")
    every = "every generation" if step == 1 else f"every {step} generations and the last"
    return ('<section id="convergence"><h2>Convergence</h2>' + "".join(lines) + table +
            f'<figure id="hypervolume-history"><img alt="hypervolume per evaluation and hour" src="{curve}">'
            "<figcaption>The hypervolume after every evaluation (left; dashed: when it first reached 90, 95 and 99% "
            "of the final value) and against the search's hours (right: its sessions together, without the gaps "
            "between them).</figcaption></figure>"
            f'<figure id="fronts-history"><img alt="fronts of the generations" src="{overlay}">'
            f"<figcaption>The Pareto front after {every} (dark: early, yellow: late) over every evaluated "
            "architecture (grey).</figcaption></figure></section>")
