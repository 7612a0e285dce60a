"""``nsga-lightning search``: one YAML (search, space, model, data, trainer, retrain blocks) -> a search run.

The command only parses, builds (``nsga_lightning.search.build.build_search``), runs and prints.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from collections import Counter
from typing import Any

from jsonargparse import ActionConfigFile, ArgumentParser
from lightning.pytorch import LightningDataModule

from nsga_lightning.module import ArchitectureModule
from nsga_lightning.search.assemble.retrain import RetrainSettings
from nsga_lightning.search.assemble.settings import CANDIDATE_TRAINER_DEFAULTS, SearchSettings, SpaceSettings


def search_parser() -> ArgumentParser:
    """The parser of ``nsga-lightning search``: blocks search, space, model, data, trainer, retrain."""
    parser = ArgumentParser(prog="nsga-lightning search", exit_on_error=False,
                            description="Multi-objective architecture search (NSGA-Net) with Trainer.fit per "
                                        "candidate. Running it again on the same run_dir resumes.")
    parser.add_argument("--config", action=ActionConfigFile, help="a search config (YAML) or a preset name")
    parser.add_class_arguments(SearchSettings, "search")
    # a plain mapping, not SpaceSettings' fields: jsonargparse would read a class_path in it as a subclass of
    # SpaceSettings; the settings check the block (SearchConfig.from_dict) with one-line errors
    parser.add_argument("--space", type=dict[str, Any], default=_built_in_space(),
                        help="a built-in space {name: micro|macro, n_blocks, n_nodes} or your own in class_path form "
                             "{class_path: my_pkg.MySpace, init_args: {...}} (see SpaceSettings)")
    # n_nodes comes from the space block (the genotype of every candidate carries it); the image size, the input
    # channels and the number of classes from the data
    parser.add_class_arguments(ArchitectureModule, "model", skip={"space", "genotype", "num_classes", "in_channels",
                                                                   "log_complexity", "n_nodes", "image_size"})
    # not required here: a search with its own evaluator has none, and the settings say in one line when one is missing
    parser.add_subclass_arguments(LightningDataModule, "data", required=False)
    parser.add_argument("--trainer", type=dict[str, Any], default=dict(CANDIDATE_TRAINER_DEFAULTS),
                        help="keyword arguments of each candidate's Trainer (max_epochs, precision, ...); checked "
                             "against lightning.Trainer")
    parser.add_class_arguments(RetrainSettings, "retrain")
    parser.add_argument("--evaluator", type=dict[str, Any] | None, default=None,
                        help="your own evaluator in class_path form instead of the trainer evaluator, e.g. "
                             "{class_path: nsga_lightning.benchmarks.NASBenchGraphEvaluator} (then no model, "
                             "trainer, data or retrain block)")
    parser.add_argument("--progress_bar", type=bool, default=True, help="show the progress bar")
    parser.add_argument("--num_threads", type=int | None, default=1,
                        help="torch intra-op threads per candidate (null: all cores); recorded in the archive")
    parser.add_argument("--channels_last", type=bool, default=False,
                        help="train candidates in the channels-last memory format (faster on many CPUs; torch 2.14's "
                             "AVX2 kernels crash on some shapes)")
    return parser


SWITCHES = ("--search.budget.hard",)  # may stand alone on the command line: on


def _bare_switches(args: list[str]) -> list[str]:
    """``args`` with ``true`` after a switch of :data:`SWITCHES` given without a value (``--search.budget.hard``)."""
    out: list[str] = []
    for index, arg in enumerate(args):
        out.append(arg)
        following = args[index + 1] if index + 1 < len(args) else None
        if arg in SWITCHES and (following is None or following.startswith("--")):
            out.append("true")
    return out


def _built_in_space() -> dict[str, Any]:
    """The space block's default: the built-in space of :class:`SpaceSettings` with its sizes."""
    block = dataclasses.asdict(SpaceSettings())
    return {name: block[name] for name in ("name", "n_blocks", "n_nodes")}


def run_search(args: list[str]) -> int:
    """``nsga-lightning search``: run or resume a search; print the Pareto front."""
    from nsga_lightning.search import format_objective
    from nsga_lightning.search.build import build_search
    from nsga_lightning.search.store.run_directory import RunDirectory
    from nsga_lightning.search.surrogate.quality import surrogate_line, surrogate_quality

    parser = search_parser()
    try:
        namespace = parser.parse_args(_bare_switches(args))
    except argparse.ArgumentError as error:
        raise _explained(error) from None
    config = _own_evaluator_blocks(namespace.as_dict(), parser)
    runner = None
    try:
        with build_search(config) as runner:
            result = runner.run()
            failures = Counter(_first_line(row.error_text) for row in runner.archive.rows("failed"))
            quality = surrogate_quality(runner.archive.predictions(), runner.archive.rows())
            notes = _limits_and_latency(runner, result)
            closing = closing_lines(runner, result)
    except KeyboardInterrupt:
        if runner is None:
            print("nsga-lightning: interrupted before the search started; nothing was trained", file=sys.stderr)
        elif not runner.interrupt_reported:  # Ctrl-C again while closing: say it once
            print(f"nsga-lightning: search interrupted; what finished is in {RunDirectory(runner.run_dir).archive}; "
                  "run the same command again to resume", file=sys.stderr)
        return 130
    objectives = runner.objectives
    run = RunDirectory(runner.run_dir)
    if result.status == "already complete":
        why = "" if result.stopped_by == "n_gens" else f"{result.stop_text}; "  # a budget or convergence says so
        print(f"search already complete ({why}{result.n_archived} architectures, {len(result.pareto)} on the front); "
              "outputs are up to date")
    else:
        print(f"{result.n_evaluated} architectures trained in this session, {result.n_archived} in the archive; "
              f"Pareto front ({len(result.pareto)}):")
    for row in result.pareto:
        values = "  ".join(f"{name} {format_objective(name, row.objectives[name]):>8}" for name in objectives)
        print(f"  {row.key}  {values}")
    if result.workers > 1 and result.busy_share is not None:
        print(f"{result.workers} candidates trained at once; the workers were busy {100 * result.busy_share:.0f}% "
              "of the wall time")
    if quality:
        print(surrogate_line(quality))
    for line in [*notes, *closing]:
        print(line)
    if result.n_failed:
        reason, count = failures.most_common(1)[0]
        print(f"{result.n_failed} of {result.n_archived} architectures failed; most common reason ({count}): {reason}")
    if result.n_archived and result.n_failed == result.n_archived:
        print(f"every architecture failed: nothing to retrain; see the errors in {run.archive} "
              "(nsga-lightning report) and fix the setting they name")
        return 1
    if run.pareto_configs.is_dir():
        print(f"outputs: {run.pareto_csv}, {run.pareto_png.name}, {run.pareto_configs.name}/<key>.yaml "
              f"(retrain: {run.retrain_command()})")
    else:  # your own evaluator: no training configs to write
        print(f"outputs: {run.pareto_csv}, {run.pareto_png.name}")
    return 0


def _own_evaluator_blocks(config: dict[str, Any], parser: ArgumentParser) -> dict[str, Any]:
    """With an evaluator block, the trainer evaluator's blocks that the parser only filled with its defaults are
    dropped (one set on purpose stays, and the settings refuse it in one line)."""
    if config.get("evaluator") is None:
        return config
    defaults = parser.get_defaults().as_dict()
    return {name: value for name, value in config.items()
            if name not in ("model", "trainer", "data", "retrain") or value != defaults.get(name)}


def closing_lines(runner: Any, result: Any) -> list[str]:
    """Why the search stopped, what it spent, and how its hypervolume converged (fixed reference point)."""
    from nsga_lightning.search.store.history import summarize
    from nsga_lightning.search.store.hv_history import convergence, reach_line, reference_text
    from nsga_lightning.search.store.spending import spent_line

    reference = runner.control.reference
    fronts = [s.front for s in summarize(runner.archive, runner.objectives, reference)]
    history = convergence(runner.archive, runner.objectives, reference, fronts)
    lines = [f"stopped: {result.stop_text}; spent {spent_line(result.spent)} (all sessions)"]
    if history.reach:
        lines.append(f"hypervolume {history.points[-1].hypervolume:.4g} (reference point "
                     f"{reference_text(history.reference)}): {reach_line(history.reach)}")
    if result.stopped_by and result.stopped_by.startswith("budget"):
        lines.append("running the same command again with a larger search.budget continues the search")
    return lines


def _explained(error: argparse.ArgumentError) -> Exception:
    """A parse error of a class_path block (jsonargparse lists every member of the union it tried) as one line
    naming the bad option of the class and the closest valid names; other errors unchanged."""
    from nsga_lightning.search.core.options import check_keys, import_class, parameters

    texts, cause = [], error
    while cause is not None:
        texts.append(str(cause))
        cause = cause.__cause__
    found = re.search(r"Problem with given class_path '([\w.]+)':\s*Option '(\w+)' is not accepted", "\n".join(texts))
    key = re.match(r'Parser key "([\w.]+)"', texts[0])
    if found is None:
        return error
    block = key.group(1) if key else "data"
    try:
        check_keys(f"{block}.init_args", [found.group(2)], parameters(import_class(found.group(1), block)))
    except ValueError as explained:
        return explained
    return error


def _limits_and_latency(runner: Any, result: Any) -> list[str]:
    """The closing lines about the run's limits (children kept from training, results over them, an empty front)
    and its latency (the predictor's quality)."""
    from nsga_lightning.search.core.limits import stored_limits
    from nsga_lightning.search.store.latency_record import latency_lines, limits_lines, read_latency_snapshot

    archive, rows = runner.archive, runner.archive.rows()
    limits = stored_limits(archive.config())
    return (limits_lines(limits, archive.screening(), rows, result.pareto)
            + latency_lines(read_latency_snapshot(archive.run), rows))


def _first_line(text: str | None) -> str:
    """The exception line of an error text (the last non-empty line of a traceback)."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else "(no error text)"
