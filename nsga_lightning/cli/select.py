"""``nsga-lightning select RUN --max latency=5 --max params=3e6``: the best-error architecture of a search within
limits, with the training config that retrains it (no torch: it starts in about a second)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from nsga_lightning.cli.main import command_parser


def parse_limits(values: Sequence[str] | None) -> dict[str, float]:
    """``["latency=5", "params=3e6"]`` as ``{"latency": 5.0, "params": 3000000.0}``.

    Raises:
        ValueError: one line for a value that is not ``NAME=NUMBER`` with a positive number.
    """
    limits: dict[str, float] = {}
    for value in values or ():
        name, sep, number = str(value).partition("=")
        try:
            bound = float(number)
        except ValueError:
            bound = math.nan
        if not sep or not name or not (math.isfinite(bound) and bound > 0):
            raise ValueError(f"--max takes NAME=NUMBER with a positive number (e.g. --max latency=5 --max "
                             f"params=3e6), got {value!r}")
        limits[name.strip()] = bound
    return limits


def check_limit_names(limits: Mapping[str, float], rows: Sequence[Any]) -> None:
    """Refuse a limit on a name no row of the run holds.

    Raises:
        ValueError: naming the name and those the rows hold.
    """
    present = sorted({name for row in rows if row.is_ok for name in row.objectives})
    unknown = [name for name in limits if name not in present]
    if unknown:
        raise ValueError(f"--max {unknown[0]}: no architecture of this run has {unknown[0]!r}; it has "
                         f"{', '.join(present) or 'no results'}")


def run_select(args: list[str]) -> int:
    """``nsga-lightning select RUN --max NAME=NUMBER ...``: print the best-error architecture within the limits
    (and the run's own ``search.constraints``) and its training config; exit 1 when none is within them."""
    from nsga_lightning.search.assemble.retrain import RetrainSettings, training_config
    from nsga_lightning.search.core.limits import stored_limits, within
    from nsga_lightning.search.core.pareto import format_objective
    from nsga_lightning.search.store.archive import Archive
    from nsga_lightning.search.store.run_directory import RunDirectory

    parser = command_parser("nsga-lightning select", "Print the architecture of a search with the lowest "
                            "validation error within limits (--max NAME=NUMBER, repeatable), with its training "
                            "config.")
    parser.add_argument("run_dir", type=str)
    parser.add_argument("--max", type=str, default=None, action="append",
                        help="an upper bound NAME=NUMBER on a result, e.g. latency=5 or params=3e6 (repeatable)")
    config = parser.parse_args(args)
    limits = parse_limits(config.max)
    run = RunDirectory(config.run_dir)
    if not run.has_archive():
        raise FileNotFoundError(f"no search archive at {run.archive}: give the run_dir of a search")
    with Archive(run) as archive:
        rows, stored = archive.rows(), archive.config()
    check_limit_names(limits, rows)
    if not any("error" in r.objectives for r in rows if r.is_ok):
        raise ValueError("select picks the lowest error, and no architecture of this run has an error objective")
    stored_bounds = stored_limits(stored)  # the run's own limits hold too: the tighter bound of each name wins
    limits = {name: min(v for v in (stored_bounds.get(name), limits.get(name)) if v is not None)
              for name in {**stored_bounds, **limits}}
    fitting = [r for r in rows if r.is_ok and not r.stopped_early and "error" in r.objectives and within(r, limits)]
    text = ", ".join(f"{k} <= {v:.4g}" for k, v in limits.items()) or "no limits"
    if not fitting:
        print(f"no architecture of {config.run_dir} is within {text} ({sum(r.is_ok for r in rows)} trained)")
        return 1
    # the lowest error; equal errors by the run's other objectives in order (the one on the front), then key
    others = [name for name in stored.get("objectives", []) if name != "error"]
    best = min(fitting, key=lambda r: (float(r.objectives["error"]),
                                       *(float(r.objectives.get(name, math.inf)) for name in others), r.key))
    values = "  ".join(f"{k} {format_objective(k, v)}" for k, v in sorted(best.objectives.items()))
    print(f"{best.key}  {values}  (best error of {len(fitting)} architectures within {text})")
    path = run.pareto_config(best.key)
    settings = run.read_config()
    if not path.is_file() and settings.get("data") is not None:  # not on the searched front: write its config
        space = stored.get("space", {})
        block = ({k: settings["space"][k] for k in ("class_path", "init_args")} if "class_path" in settings["space"]
                 else space.get("name", "micro"))
        retrain = RetrainSettings(**(settings.get("retrain") or {}))
        path = run.path / "selected" / f"{best.key}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        data = training_config(best.key, best.genotype, block, retrain, settings["data"])
        path.write_text(f"# {best.key}: selected within {text}\n" + yaml.safe_dump(data, sort_keys=False))
    if path.is_file():
        print(f"config: {path}  (retrain: nsga-lightning fit --config {path}; export: nsga-lightning export "
              f"--config {path})")
    return 0

