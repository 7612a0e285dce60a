"""Architecture drawings, Pareto and hypervolume plots, and the HTML report (Matplotlib on Agg, no pyplot)."""

from nsga_lightning.viz.drawing import (
    can_draw,
    draw_genotype,
    drawing_or_note,
    figure_for_genotype,
    no_drawing,
)
from nsga_lightning.viz.figure_io import FORMATS, figure_format, save_figure
from nsga_lightning.viz.macro_drawing import macro_figure
from nsga_lightning.viz.micro_drawing import micro_figure, short_op_name
from nsga_lightning.viz.pareto_plot import (
    hypervolume_figure,
    non_dominated,
    pareto_figure,
    plot_hypervolume,
    plot_pareto,
)
from nsga_lightning.viz.report import build_report, retrain_command

__all__ = [
    "FORMATS",
    "build_report",
    "can_draw",
    "draw_genotype",
    "drawing_or_note",
    "figure_for_genotype",
    "figure_format",
    "hypervolume_figure",
    "macro_figure",
    "micro_figure",
    "no_drawing",
    "non_dominated",
    "pareto_figure",
    "plot_hypervolume",
    "plot_pareto",
    "retrain_command",
    "save_figure",
    "short_op_name",
]
