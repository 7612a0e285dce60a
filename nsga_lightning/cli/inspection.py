"""``draw`` and ``report``: drawings of architectures and the HTML report of a search run (no torch import:
both start in about a second)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import yaml

from nsga_lightning.cli.genomes import parse_genome_text, quote_negative_genomes, space_of_genome
from nsga_lightning.cli.main import command_parser


def _open_archive(run_dir: str):
    from nsga_lightning.search import Archive
    from nsga_lightning.search.store.run_directory import RunDirectory

    run = RunDirectory(run_dir)
    if not run.has_archive():
        raise FileNotFoundError(f"no search archive at {run.archive}: give the run_dir of a "
                                "search (search.run_dir in its config)")
    return Archive(run)


def _space_of(archive: Any):
    return archive.run.space(archive.config())


def resolve_drawable(architecture: str, space: str | None, run_dir: str | None, n_blocks: int, n_nodes: int):
    """A genotype from a zoo name, a genome, a training config (its model block) or an archive key (then decoded by
    the run's own space, which :func:`run_draw` also asks to draw it)."""
    from nsga_lightning.spaces import MACRO_ZOO, MICRO_ZOO, resolve_genotype

    path = Path(architecture)
    if architecture.endswith((".yaml", ".yml")):
        if not path.is_file():
            raise FileNotFoundError(f"config file not found: {architecture}")
        model = (yaml.safe_load(path.read_text()) or {}).get("model", {})
        model = model.get("init_args", model)
        if "genotype" not in model:
            raise ValueError(f"{architecture} has no model.genotype to draw")
        own = drawable_space(architecture, None)
        if own is not None:
            return own.genotype_from_data(model["genotype"])
        return resolve_genotype(model.get("space", "micro"), model["genotype"], n_nodes=model.get("n_nodes", 6))
    if run_dir is not None:
        with _open_archive(run_dir) as archive:
            row = archive.get(architecture)
            if row is None:
                raise KeyError(f"no architecture {architecture!r} in {run_dir}; its keys look like "
                               f"{', '.join(sorted(archive.keys())[:3])}")
            return _space_of(archive).decode(row.genome)
    genome = parse_genome_text(architecture)
    if genome is not None:  # out-of-range values are named by the space's own check
        name = space or space_of_genome(genome, n_blocks, n_nodes)
        return resolve_genotype(name, genome, n_blocks=n_blocks, n_nodes=n_nodes)
    if architecture.startswith(("micro-", "macro-")):
        raise ValueError(f"{architecture!r} looks like an archive key: give the search's run directory with "
                         "--run_dir, or draw its training config RUN_DIR/pareto/<key>.yaml")
    if space is None:
        space = "micro" if architecture in MICRO_ZOO else "macro" if architecture in MACRO_ZOO else "micro"
    return resolve_genotype(space, architecture)


def _input_note(architecture: str) -> str:
    """For a training config that states its network's input (``in_channels``, ``stem`` in its model block, or
    the ``# input:`` header line of a search's Pareto config), that input as a title suffix, e.g.
    ``" (4-channel images, imagenet stem)"``; else ``""``."""
    from nsga_lightning.search.assemble.retrain import describe_input, stated_input

    if not architecture.endswith((".yaml", ".yml")):
        return ""
    text = Path(architecture).read_text()
    model = (yaml.safe_load(text) or {}).get("model", {})
    described = describe_input(model.get("init_args", model)) or stated_input(text)
    return f" ({described})" if described else ""


def drawable_space(architecture: str, run_dir: str | None):
    """The space of your own that draws ``architecture``: the run's space (an archive key with ``run_dir``), or the
    class_path space of a training config's model block; ``None`` for the built-in spaces' zoo names and genomes."""
    from nsga_lightning.spaces import space_from_block

    if run_dir is not None:
        with _open_archive(run_dir) as archive:
            return _space_of(archive)
    if architecture.endswith((".yaml", ".yml")):
        model = (yaml.safe_load(Path(architecture).read_text()) or {}).get("model", {})
        space = model.get("init_args", model).get("space")
        return space_from_block(space, "model.space") if isinstance(space, dict) else None
    return None


def run_draw(args: list[str]) -> int:
    """``nsga-lightning draw``: draw an architecture to PNG, SVG or PDF."""
    from nsga_lightning.viz import draw_genotype

    parser = command_parser("nsga-lightning draw",
                            "Draw an architecture: a zoo name (NSGANet, DARTS, ...), a genome ('2,0,0,0,...'), "
                            "a training config (.yaml) or an archive key (with --run_dir).")
    parser.add_argument("architecture", type=str)
    parser.add_argument("--output", "-o", type=str, required=True, help="file: .png, .svg or .pdf")
    parser.add_argument("--space", type=str, choices=["micro", "macro"], default=None,
                        help="space of a genome or zoo name (default: the one its length or name fits)")
    parser.add_argument("--run_dir", type=str | None, default=None, help="search run of an archive key")
    parser.add_argument("--n_blocks", type=int, default=5)
    parser.add_argument("--n_nodes", type=int, default=6)
    parser.add_argument("--title", type=str | None, default=None)
    config = parser.parse_args(quote_negative_genomes(args))
    genotype = resolve_drawable(config.architecture, config.space, config.run_dir, config.n_blocks,
                                config.n_nodes)
    space = drawable_space(config.architecture, config.run_dir)
    title = config.title or config.architecture + _input_note(config.architecture)
    # a built-in space needs no space object
    path = draw_genotype(genotype, config.output, title=title, **({} if space is None else {"space": space}))
    print(f"wrote {path}")
    return 0


def run_report(args: list[str]) -> int:
    """``nsga-lightning report RUN_DIR``: one self-contained HTML page about a search."""
    from nsga_lightning.cli.select import check_limit_names, parse_limits
    from nsga_lightning.search import OBJECTIVES, pareto_front
    from nsga_lightning.search.core.limits import stored_limits
    from nsga_lightning.search.store.history import summarize
    from nsga_lightning.search.store.hv_history import convergence
    from nsga_lightning.search.store.latency_record import latency_lines, limits_lines, read_latency_snapshot
    from nsga_lightning.search.store.spending import spent_line
    from nsga_lightning.search.surrogate.quality import surrogate_quality
    from nsga_lightning.viz import build_report

    parser = command_parser("nsga-lightning report",
                            "Write a self-contained HTML report (Pareto front, hypervolume, the Pareto "
                            "architectures with drawings and retrain commands, how the search converged).")
    parser.add_argument("run_dir", type=str)
    parser.add_argument("--output", "-o", type=str | None, default=None, help="default: the run's report file")
    parser.add_argument("--max", type=str, default=None, action="append",
                        help="show the front within an upper bound NAME=NUMBER, e.g. latency=5 (repeatable)")
    config = parser.parse_args(args)
    given = parse_limits(config.max)
    from nsga_lightning.search.store.run_directory import RunDirectory

    run = RunDirectory(config.run_dir)
    archive = _open_archive(config.run_dir)
    stored = archive.config()
    objectives = list(stored.get("objectives", ["error", "madds"]))
    search_config = run.config
    settings = run.read_config()
    reference = run.reference_point()
    summaries = summarize(archive, objectives, reference)
    rows = archive.rows()
    check_limit_names(given, rows)
    limits = stored_limits(stored)  # the run's own limits, tightened by --max
    limits.update({name: min(bound, limits.get(name, bound)) for name, bound in given.items()})
    front = pareto_front(rows, objectives, limits)
    quality = [dataclasses.asdict(q) for q in surrogate_quality(archive.predictions(), rows)]
    notes = limits_lines(limits, archive.screening(), rows, front) + latency_lines(read_latency_snapshot(run), rows)
    history = convergence(archive, objectives, reference, [s.front for s in summaries]).as_report()
    ended = archive.meta_json("stopped") or {}
    archive.close()
    name = (stored.get("space") or {}).get("name", "micro")
    try:
        space, no_genotype = run.space(stored), "no genotype given"
    except ValueError as error:  # e.g. a space of your own whose module this machine cannot import
        space, no_genotype = None, f"no drawing: {error}"
    present = {k for r in rows for k in r.objectives}
    columns = [k for k in OBJECTIVES if k in present] + [k for k in objectives if k not in OBJECTIVES]
    output = config.output or str(run.report)
    path = build_report(
        output, title=f"NSGA-Net {name} search: {config.run_dir}",
        all_rows=[r.as_dict() for r in rows], front_rows=[r.as_dict() for r in front],
        hypervolume=[s.hypervolume for s in summaries], fronts=[s.front for s in summaries] or None,
        genotypes={} if space is None else {r.key: space.decode(r.genome) for r in front}, run_dir=config.run_dir,
        config_text=search_config.read_text() if search_config.is_file() else None,
        objectives=objectives[:2], columns=columns, space=space, no_genotype=no_genotype,
        retrain=settings.get("data", {}) is not None,  # a search with your own evaluator (data: null) has no configs
        surrogate=quality, notes=notes, convergence=history,
        stop_text=ended.get("text") or "not finished (running, or interrupted: run it again to resume)",
        spent_text=spent_line(ended["spent"]) if ended.get("spent") else None,
    )
    print(f"wrote {path}")
    return 0
