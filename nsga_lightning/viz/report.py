"""A one-file HTML report of a search: Pareto plot, hypervolume, and the Pareto architectures with drawings.

The page is self-contained: images are embedded as base64 PNG ``data:`` URIs, the CSS is inline, and nothing
is fetched from anywhere (no scripts, stylesheets, fonts or links to other hosts).
"""

from __future__ import annotations

import base64
import html
import io
import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from matplotlib.figure import Figure

from nsga_lightning.viz.drawing import drawing_or_note
from nsga_lightning.viz.pareto_plot import (
    AXIS_LABELS,
    Row,
    check_objectives,
    hypervolume_figure,
    pareto_figure,
)
from nsga_lightning.viz.report_history import convergence_section

log = logging.getLogger(__name__)

REPORT_DPI = 100
TABLE_HEADER_COLOR = "#2b4560"  # dark slate blue: the header row of the Pareto table
STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 1.5rem auto;
       max-width: 1200px; padding: 0 1rem; color: #222; line-height: 1.45; background: #fff; }
h1 { margin-bottom: 0.2rem; font-size: 1.6rem; }
h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; margin: 1.6rem 0 0.6rem; font-size: 1.25rem; }
.summary { color: #555; margin-top: 0.2rem; }
.figures { display: flex; flex-wrap: wrap; gap: 0 2rem; align-items: flex-start; }
.figures > section { flex: 1 1 420px; min-width: 0; }
.figures > section.main { flex: 3 1 560px; }
figure { margin: 0.5rem 0; } figure img { max-width: 100%; height: auto; display: block; }
figcaption { color: #555; font-size: 0.88rem; margin-top: 0.3rem; }
table { border-collapse: collapse; width: 100%; font-size: 0.92rem; }
th, td { padding: 0.4rem 0.6rem; text-align: left; vertical-align: top; }
th { background: HEADER; color: #fff; font-weight: 600; } th.num { text-align: right; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.arch td { background: #eef3f8; border-top: 2px solid HEADER; font-weight: 500; }
tr.drawing td { border-bottom: 1px solid #d5dde6; padding: 0.4rem 0.6rem 1rem; }
tr.drawing img { max-width: 100%; height: auto; display: block; margin-top: 0.4rem; }
.retrain { font-size: 0.88rem; color: #444; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.88em; }
code.cmd { background: #f4f4f4; border: 1px solid #e2e2e2; padding: 0.1rem 0.35rem; border-radius: 3px;
           overflow-wrap: anywhere; }
pre { background: #f7f7f7; padding: 0.8rem; overflow-x: auto; border: 1px solid #e5e5e5; }
footer { margin-top: 2rem; }
""".replace("HEADER", TABLE_HEADER_COLOR)


def retrain_command(run_dir: str | Path, key: str) -> str:
    """The command that retrains a Pareto architecture from its generated config.

    Example: ``retrain_command("runs/m", "micro-0a1b")`` gives
    ``"nsga-lightning fit --config runs/m/pareto/micro-0a1b.yaml"``.
    """
    return f"nsga-lightning fit --config {PurePosixPath(Path(run_dir).as_posix()) / 'pareto' / f'{key}.yaml'}"


def figure_to_data_uri(figure: Figure, dpi: int = REPORT_DPI) -> str:
    """Render ``figure`` as a PNG ``data:image/png;base64,...`` URI; the figure is cleared afterwards."""
    buffer = io.BytesIO()
    try:
        figure.savefig(buffer, format="png", dpi=dpi, facecolor="white", metadata={"Software": None})
    finally:
        figure.clear()
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _number(value: Any, digits: int) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "&ndash;"
    return f"{number:.{digits}f}" if math.isfinite(number) else "&ndash;"


def _millions(value: Any, digits: int) -> str:
    """A count (MAdds, params) shown in millions."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "&ndash;"
    return _number(number * 1e-6, digits)


def _duration(value: Any) -> str:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return "&ndash;"
    if not math.isfinite(seconds):
        return "&ndash;"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def _cell(name: str, value: Any) -> str:
    """One objective in the table: error in %, MAdds and params in millions, any other as it is (4 digits)."""
    if name == "madds":
        return _millions(value, 1)
    if name == "params":
        return _millions(value, 3)
    return _number(value, 2) if name == "error" else _significant(value)


def _significant(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "&ndash;"
    return f"{number:.4g}" if math.isfinite(number) else "&ndash;"


def _table(
    front_rows: Sequence[Row],
    genotypes: Mapping[str, Any],
    commands: Mapping[str, str] | None,
    run_dir: str | Path,
    objectives: tuple[str, str],
    columns: Sequence[str],
    space: Any,
    no_genotype: str,
) -> str:
    headers = [("#", True), ("genome key", False), *[(AXIS_LABELS.get(c, c), True) for c in columns],
               ("train time", True)]
    head = "".join(('<th class="num">' if num else "<th>") + f"{html.escape(h)}</th>" for h, num in headers)
    body = []
    ordered = sorted(front_rows, key=lambda r: tuple(_sort_value(r.get(o)) for o in objectives))
    for rank, row in enumerate(ordered, start=1):
        key = str(row.get("key", ""))
        safe = html.escape(key)
        command = None if commands is None else commands.get(key, retrain_command(run_dir, key))
        cells = "".join(f'<td class="num">{_cell(c, row.get(c))}</td>' for c in columns)
        body.append(
            f'<tr class="arch" id="arch-{safe}" data-key="{safe}"><td class="num">{rank}</td>'
            f"<td><code>{safe}</code></td>{cells}"
            f'<td class="num">{_duration(row.get("seconds"))}</td></tr>'
        )
        drawing = drawing_or_note(genotypes[key], key, space) if key in genotypes else no_genotype
        picture = (f'<img alt="drawing of {safe}" src="{figure_to_data_uri(drawing)}">' if isinstance(drawing, Figure)
                   else f'<p class="no-drawing"><em>{html.escape(drawing)}</em></p>')
        retrain = (f'<div class="retrain">retrain: <code class="cmd">{html.escape(command)}</code></div>'
                   if command else "")
        body.append(f'<tr class="drawing" data-key="{safe}"><td colspan="{len(headers)}">{retrain}{picture}</td></tr>')
    return f'<table id="pareto-table"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _notes(notes: Sequence[str]) -> str:
    """The limits and latency lines as a list (nothing without lines)."""
    if not notes:
        return ""
    items = "".join(f"<li>{html.escape(line)}</li>" for line in notes)
    return f'<section id="limits"><h2>Limits and latency</h2><ul>{items}</ul></section>'


def _surrogate_table(quality: Sequence[Mapping[str, Any]]) -> str:
    """The surrogate's quality per generation (measured on the children it chose, after they trained)."""
    if not quality:
        return ""
    head = ("generation", "model", "proposed", "measured", "Kendall τ", "RMSE (error points)", "fitted to",
            "seconds")
    body = "".join(
        "<tr>" + "".join(f"<td>{cell}</td>" for cell in (
            *(html.escape(str(q[name])) for name in ("generation", "model", "proposed", "measured")),
            _number(q["kendall_tau"], 3), _number(q["rmse"], 3), html.escape(str(q["fit_rows"])),
            _number(q["seconds"], 2))) + "</tr>" for q in quality)
    return ('<section id="surrogate"><h2>Surrogate</h2><p>Predicted against measured validation error of the '
            "children the surrogate chose, after they trained (never the rows it was fitted to).</p><table><tr>"
            + "".join(f"<th>{html.escape(h)}</th>" for h in head) + f"</tr>{body}</table></section>")


def _sort_value(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.inf
    return number if math.isfinite(number) else math.inf


def build_report(
    path: str | Path,
    *,
    title: str,
    all_rows: Sequence[Row],
    front_rows: Sequence[Row],
    hypervolume: Sequence[float] = (),
    fronts: Sequence[Sequence[str]] | None = None,
    genotypes: Mapping[str, Any] | None = None,
    retrain_commands: Mapping[str, str] | None = None,
    run_dir: str | Path = "RUN",
    config_text: str | None = None,
    objectives: Sequence[str] = ("error", "madds"),
    surrogate: Sequence[Mapping[str, Any]] = (),
    columns: Sequence[str] = ("error", "madds", "params"),
    space: Any = None,
    no_genotype: str = "no genotype given",
    retrain: bool = True,
    notes: Sequence[str] = (),
    convergence: Mapping[str, Any] | None = None,
    stop_text: str | None = None,
    spent_text: str | None = None,
) -> Path:
    """Write a self-contained HTML report of a search.

    Args:
        path: output file, ending in ``.html``; parent folders are created.
        title: page heading.
        all_rows: every archive row as ``ArchiveRow.as_dict()`` gives it (``key``, ``generation``, ``status``,
            ``error`` in %, ``madds`` and ``params`` as counts, ``seconds`` of training); the scatter.
        front_rows: the rows of the final Pareto front; tabulated (sorted by the objectives) and highlighted.
        hypervolume: hypervolume after each generation, oldest first.
        fronts: keys on the front after each generation (the fading history in the plot); ``None``: the
            final front is ``front_rows``.
        genotypes: key -> genotype for the drawings (keys without one get ``no_genotype`` instead; a genotype
            nothing can draw gets :func:`~nsga_lightning.viz.drawing.no_drawing`'s line).
        retrain_commands: key -> command; keys without one get ``nsga-lightning fit --config
            <run_dir>/pareto/<key>.yaml``.
        run_dir: the run directory used in default retrain commands.
        config_text: the search configuration (YAML), shown verbatim.
        objectives: the x and y columns of the Pareto plot.
        surrogate: one mapping per generation the surrogate proposed for (``generation``, ``model``,
            ``proposed``, ``measured``, ``kendall_tau``, ``rmse``, ``fit_rows``, ``seconds``); a table when given.
        columns: the objective columns of the Pareto table (error in %, MAdds and params in millions, others as
            they are).
        space: the architectures' space, which draws genotypes of a space of your own.
        no_genotype: the note of an architecture without a genotype (e.g. why the space could not be rebuilt).
        retrain: show retrain commands (a search with your own evaluator writes no training configs).
        notes: lines about the run's limits and latency (``search.constraints``, the latency predictor's quality),
            listed under the summary when given.
        convergence: how the search converged (``Convergence.as_report()`` of
            ``nsga_lightning.search.store.hv_history``): a section with the hypervolume per evaluation and hour,
            the evaluations and hours to 90/95/99% of the final value, and the fronts of every N-th generation.
        stop_text: why the search stopped, in words (shown in that section).
        spent_text: what it spent (evaluations, epochs, hours), in words.

    Returns:
        The written path.

    Raises:
        ValueError: if ``path`` does not end in ``.html`` or the rows are malformed.
    """
    out = Path(path)
    if out.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"the report is an HTML file; give a path ending in .html, got {str(path)!r}")
    pair = check_objectives(objectives)
    history = [list(f) for f in fronts] if fronts else [[str(r["key"]) for r in front_rows if "key" in r]]
    front_uri = figure_to_data_uri(pareto_figure(all_rows, history, pair))
    hv_uri = figure_to_data_uri(hypervolume_figure(list(hypervolume)))
    final_hv = f"; final hypervolume {float(hypervolume[-1]):.4g}" if len(hypervolume) else ""
    stopped = sum(1 for r in all_rows if r.get("stopped_early"))
    stopped_text = (f"; {stopped} stopped early at a lower rung (hollow in the plot, never on the front)"
                    if stopped else "")
    summary = (f"{len(all_rows)} architectures in the archive{stopped_text}, {len(front_rows)} on the final "
               f"front{final_hv}.")
    commands = (retrain_commands or {}) if retrain else None
    table = _table(front_rows, genotypes or {}, commands, run_dir, pair, columns, space, no_genotype)
    config = (
        f'<section id="config"><h2>Configuration</h2><pre>{html.escape(config_text)}</pre></section>'
        if config_text else ""
    )
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        f'<h1>{html.escape(title)}</h1><p class="summary">{html.escape(summary)}</p>{_notes(notes)}'
        '<div class="figures"><section class="main"><h2>Pareto front</h2><figure id="pareto-front">'
        f'<img alt="Pareto front" src="{front_uri}"><figcaption>Grey: every evaluated architecture; blue: the '
        "fronts of earlier generations (older = fainter); red: the final front.</figcaption></figure></section>"
        f'<section><h2>Hypervolume</h2><figure id="hypervolume"><img alt="hypervolume per generation" '
        f'src="{hv_uri}"><figcaption>Normalised hypervolume of the front after each generation (higher is '
        "better).</figcaption></figure></section></div>"
        f"<section><h2>Pareto architectures</h2>{table}</section>"
        f"{convergence_section(convergence, all_rows, pair, figure_to_data_uri, stop_text, spent_text)}"
        f"{_surrogate_table(surrogate)}{config}"
        "<footer><p class=\"summary\">Generated by nsga-lightning.</p></footer></body></html>\n"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    log.debug("wrote report %s (%d Pareto architectures)", out, len(front_rows))  # the CLI prints the path
    return out
