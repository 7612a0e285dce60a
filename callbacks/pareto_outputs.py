"""ParetoOutputs: keep the Pareto CSV, the Pareto plot and one training config per Pareto architecture."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from typing_extensions import override

from nsga_lightning.search import (
    Archive,
    ArchiveRow,
    SearchCallback,
    SearchResult,
    SearchRunner,
    write_pareto_csv,
)
from nsga_lightning.search.assemble.retrain import RetrainSettings, input_line, training_config
from nsga_lightning.search.core.limits import stored_limits
from nsga_lightning.search.core.pareto import format_objective, pareto_front
from nsga_lightning.search.store.history import summarize
from nsga_lightning.search.store.run_directory import RunDirectory
from nsga_lightning.viz import plot_pareto

log = logging.getLogger(__name__)


def _state(archive: Archive) -> tuple[int, int]:
    last = archive.last_generation()
    return len(archive), -1 if last is None else last.generation


class _ReadableDumper(yaml.SafeDumper):
    """Lists of plain values on one line (``[sep_conv_3x3, 1]``, ``[128, 128, 128]``), mappings as blocks."""


def _represent_list(dumper: yaml.SafeDumper, value: list) -> yaml.Node:
    flat = all(isinstance(v, (str, int, float, bool)) or v is None for v in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flat)


_ReadableDumper.add_representer(list, _represent_list)
_ReadableDumper.add_representer(tuple, _represent_list)


def dump_config(config: Mapping[str, Any]) -> str:
    """YAML of a training config, readable: key order kept, a genotype's units as ``[op, input]`` lines."""
    return yaml.dump(dict(config), Dumper=_ReadableDumper, sort_keys=False, default_flow_style=False, width=100)


class ParetoOutputs(SearchCallback):
    """Write the search's outputs into its run directory after every generation (a killed search keeps the
    outputs of its last finished generation); the paths come from :class:`RunDirectory`:

    - ``pareto_csv``: the Pareto front over every evaluated architecture (within the run's limits,
      ``search.constraints``: feasible architectures only);
    - ``pareto_png``: all architectures, the final front and the fading fronts of earlier generations;
    - ``pareto_config(key)``: for every Pareto architecture a training config with the final-training recipe,
      ready for its ``retrain_command`` (configs of architectures that left the front are removed); a search with
      your own evaluator (no ``data``) has no recipe and writes none.

    A search found already complete rewrites nothing; only outputs that are missing are written again.

    Args:
        objectives: the searched objectives.
        retrain: the final-training recipe.
        data: the search's data block in class_path form (used when the recipe names no data); ``None``: no
            training configs.
        reference_point: hypervolume reference overrides (for the plotted history).
        model_input: the retrained network's input on the retrain data (``in_channels``, the ``stem`` as built),
            stated in every config's header; the model block leaves it to the data, so that another ``--data``
            adapts it (``None``: no such line).
        space: the config's space block in class_path form, for a space of your own trained by the trainer
            evaluator (the configs' ``model.space``); ``None``: a built-in space, named in the configs.
    """

    def __init__(self, objectives: Sequence[str], retrain: RetrainSettings, data: Mapping[str, Any] | None,
                 reference_point: Mapping[str, float] | None = None,
                 model_input: Mapping[str, Any] | None = None, space: Mapping[str, Any] | None = None) -> None:
        self.objectives = tuple(objectives)
        self.retrain = retrain
        self.data = None if data is None else dict(data)
        self.reference_point = dict(reference_point or {})
        self.model_input = dict(model_input or {})
        self.space = None if space is None else dict(space)
        self._written: tuple[int, int] | None = None  # (architectures, generations) at the last write

    @override
    def on_generation_end(self, runner: SearchRunner, generation: int, population: Sequence[ArchiveRow],
                          archive: Archive) -> None:
        self.write(runner.run_dir, runner.space.name, archive)

    @override
    def on_search_end(self, runner: SearchRunner, result: SearchResult) -> None:
        # after the last generation's write nothing has changed, unless the search was interrupted mid-way
        if self._written != _state(runner.archive):
            self.write(runner.run_dir, runner.space.name, runner.archive)

    @override
    def on_search_complete(self, runner: SearchRunner, result: SearchResult) -> None:
        self.write(runner.run_dir, runner.space.name, runner.archive, only_missing=True)

    def write(self, run_dir: str | Path | RunDirectory, space: str, archive: Archive,
              only_missing: bool = False) -> list[Path]:
        """Write the outputs now (with ``only_missing``, just those that do not exist); returns the
        training-config paths."""
        run = RunDirectory(run_dir)
        rows = archive.rows()
        limits = stored_limits(archive.config())
        front = pareto_front(rows, self.objectives, limits)  # feasible architectures only
        if limits and not front and any(r.is_ok for r in rows):
            log.warning("no architecture is within search.constraints %s: the Pareto outputs are empty", limits)
        if not (only_missing and run.pareto_csv.is_file()):
            write_pareto_csv(front, run.pareto_csv)
        if not (only_missing and run.pareto_png.is_file()):
            fronts = [s.front for s in summarize(archive, self.objectives, self.reference_point)]
            plot_pareto([r.as_dict() for r in rows], run.pareto_png, fronts or None, self.objectives[:2],
                        title=f"{space} search: {len(rows)} architectures")
        written = self._write_configs(run, space, front) if self.data is not None else []
        self._written = _state(archive)
        return written

    def _write_configs(self, run: RunDirectory, space: str, front: Sequence[ArchiveRow]) -> list[Path]:
        """Write the training config of every front row whose text changed; remove the configs of rows that left."""
        run.pareto_configs.mkdir(parents=True, exist_ok=True)
        written = []
        for row in front:
            config = training_config(row.key, row.genotype, self.space or space, self.retrain, self.data)
            path = run.pareto_config(row.key)
            objectives = ", ".join(f"{k} {format_objective(k, v)}" for k, v in row.objectives.items())
            origin = f"generation {row.generation}" if row.generation >= 0 else "imported by a warm start"
            header = f"# {row.key}: {objectives} ({origin})\n# {run.retrain_command(row.key)}\n"
            header += input_line(self.model_input)
            text = header + dump_config(config)
            if not path.is_file() or path.read_text() != text:
                path.write_text(text)
            written.append(path)
        keep = {p.name for p in written}
        for stale in run.pareto_configs.glob("*.yaml"):
            if stale.name not in keep:
                stale.unlink()
        return written
