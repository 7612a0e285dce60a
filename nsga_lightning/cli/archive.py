"""``nsga-lightning archive export RUN`` and ``archive import FILE RUN``: a search's architectures as a CSV or YAML
file and back (``nsga_lightning.search.store.exchange``). No torch import."""

from __future__ import annotations

import sys
from pathlib import Path

from nsga_lightning.cli.main import command_parser

ACTIONS = ("export", "import")


def run_archive(args: list[str]) -> int:
    """``nsga-lightning archive export|import``."""
    if not args or args[0] not in ACTIONS:
        if args and args[0] in ("-h", "--help"):
            print("usage: nsga-lightning archive export RUN_DIR [--format csv|yaml] [-o FILE]\n"
                  "       nsga-lightning archive import FILE RUN_DIR\n\n"
                  "export: every architecture of a search with its objectives, genome and the run's settings "
                  "(stdout without -o);\nimport: a new run directory holding an export's architectures (a warm "
                  "start, report or draw can read it)")
            raise SystemExit(0)  # as every command's --help
        raise ValueError(f"give an action: nsga-lightning archive {{{','.join(ACTIONS)}}} ... (--help for more)")
    return _export(args[1:]) if args[0] == "export" else _import(args[1:])


def _export(args: list[str]) -> int:
    from nsga_lightning.search.store.exchange import FORMATS, export_text

    parser = command_parser("nsga-lightning archive export",
                            "Write every architecture of a search (objectives, genome, genotype, status, time) with "
                            "the run's stored settings as CSV or YAML.")
    parser.add_argument("run_dir", type=str)
    parser.add_argument("--format", type=str, choices=list(FORMATS), default="csv")
    parser.add_argument("--output", "-o", type=str | None, default=None, help="default: stdout")
    config = parser.parse_args(args)
    with _open(config.run_dir) as archive:
        text = export_text(archive.config(), archive.rows(order="completion"), config.format)
        count = len(archive)
    if config.output is None:
        sys.stdout.write(text)
        return 0
    Path(config.output).parent.mkdir(parents=True, exist_ok=True)
    Path(config.output).write_text(text)
    print(f"wrote {config.output} ({count} architectures)", file=sys.stderr)
    return 0


def _import(args: list[str]) -> int:
    from nsga_lightning.search import Archive
    from nsga_lightning.search.store.archive_tables import import_rows
    from nsga_lightning.search.store.exchange import read_table
    from nsga_lightning.search.store.run_directory import RunDirectory

    parser = command_parser("nsga-lightning archive import",
                            "Make a new run directory that holds the architectures of an export (archive export).")
    parser.add_argument("file", type=str)
    parser.add_argument("run_dir", type=str)
    config = parser.parse_args(args)
    table = read_table(config.file, "nsga-lightning archive import")
    if table.config is None:
        raise ValueError(f"{config.file} is no export of nsga-lightning archive export (it has no settings line); a "
                         "table of your own can warm-start a search as it is (search.warm_start)")
    run = RunDirectory(config.run_dir)
    if run.has_archive():
        raise ValueError(f"{run.archive} exists: import into a new run_dir")
    with Archive(run, table.config) as archive:
        import_rows(archive, table.rows)
    print(f"imported {len(table.rows)} architectures into {run.archive}")
    return 0


def _open(run_dir: str):
    from nsga_lightning.search import Archive
    from nsga_lightning.search.store.run_directory import RunDirectory

    run = RunDirectory(run_dir)
    if not run.has_archive():
        raise FileNotFoundError(f"no search archive at {run.archive}: give the run_dir of a search")
    return Archive(run)
