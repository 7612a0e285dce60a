"""RunDirectory: the one owner of a search's run directory and of every path in it.

Layout (nothing else in the package spells these names)::

    RUN/
      archive.sqlite                 every evaluated architecture and generation (``Archive``)
      search.lock                    held by the one search writing RUN (``RunDirectoryLock``)
      config.yaml                    the search's settings as given (all blocks; read back by report and workers)
      tensorboard/search/            per-generation curves and pictures (``SearchTensorBoard``)
      tensorboard/candidates/<key>/  each candidate's training run (the evaluator's TensorBoardLogger)
      pareto.csv, pareto.png         the front (``ParetoOutputs``)
      pareto/<key>.yaml              a ready ``nsga-lightning fit`` config per Pareto architecture
      report.html                    ``nsga-lightning report RUN``
      rungs/<key>.ckpt               rung checkpoints of multi-fidelity training (deleted once a child is final)

It also reads the stored configuration back, rebuilds the search space from it and spells the retrain command,
so that the CLI, the callbacks, the report, benchmarks and worker processes agree on all of it.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from nsga_lightning.errors import RunDirectoryError
from nsga_lightning.options import import_class
from nsga_lightning.search.core.records import canonical_json, config_differences
from nsga_lightning.spaces import SearchSpace, make_space, space_block, space_from_block

ARCHIVE = "archive.sqlite"
LOCK = "search.lock"
CONFIG = "config.yaml"
TENSORBOARD = "tensorboard"
SEARCH_LOG = "search"
CANDIDATE_LOGS = "candidates"
PARETO_CSV = "pareto.csv"
PARETO_PNG = "pareto.png"
PARETO_CONFIGS = "pareto"
REPORT = "report.html"
RUNGS = "rungs"


class RunDirectory:
    """The paths of one run directory, its stored configuration and what derives from it.

    Args:
        path: the run directory (``search.run_dir``); nothing is created until :meth:`create`.
    """

    def __init__(self, path: str | Path | RunDirectory) -> None:
        self.path = Path(path.path if isinstance(path, RunDirectory) else path)

    def __repr__(self) -> str:
        return f"RunDirectory({str(self.path)!r})"

    def __str__(self) -> str:
        return str(self.path)

    def __fspath__(self) -> str:
        return str(self.path)

    # -- paths ----------------------------------------------------------------------------------------------

    @property
    def archive(self) -> Path:
        """The SQLite archive."""
        return self.path / ARCHIVE

    @property
    def lock(self) -> Path:
        """The writer's lock file."""
        return self.path / LOCK

    @property
    def config(self) -> Path:
        """The stored search settings (YAML, every block)."""
        return self.path / CONFIG

    @property
    def tensorboard(self) -> Path:
        """Root of the run's TensorBoard logs (``tensorboard --logdir RUN/tensorboard``)."""
        return self.path / TENSORBOARD

    @property
    def search_log(self) -> Path:
        """TensorBoard folder of the per-generation search curves."""
        return self.tensorboard / SEARCH_LOG

    @property
    def candidate_logger_location(self) -> tuple[str, str]:
        """``(save_dir, name)`` of the candidates' TensorBoardLogger; the version is the candidate's key."""
        return str(self.path), f"{TENSORBOARD}/{CANDIDATE_LOGS}"

    def candidate_log(self, key: str) -> Path:
        """TensorBoard folder of one candidate's training run."""
        return self.tensorboard / CANDIDATE_LOGS / key

    @property
    def pareto_csv(self) -> Path:
        """The Pareto front as CSV."""
        return self.path / PARETO_CSV

    @property
    def pareto_png(self) -> Path:
        """The Pareto plot."""
        return self.path / PARETO_PNG

    @property
    def pareto_configs(self) -> Path:
        """Folder of the Pareto architectures' training configs."""
        return self.path / PARETO_CONFIGS

    def pareto_config(self, key: str) -> Path:
        """Training config of one Pareto architecture."""
        return self.pareto_configs / f"{key}.yaml"

    @property
    def report(self) -> Path:
        """Default path of the HTML report."""
        return self.path / REPORT

    @property
    def latency_snapshot(self) -> Path:
        """The latency lookup table and calibration the run predicts with (``training/latency_evaluator.py``)."""
        return self.path / "latency.json"

    @property
    def rungs(self) -> Path:
        """Folder of the rung checkpoints."""
        return self.path / RUNGS

    def rung_checkpoint(self, key: str) -> Path:
        """Rung checkpoint of one candidate."""
        return self.rungs / f"{key}.ckpt"

    def retrain_command(self, key: str | None = None) -> str:
        """The command that retrains a Pareto architecture (``<key>`` as a placeholder when ``key`` is None)."""
        config = self.pareto_config(key) if key is not None else self.pareto_configs / "<key>.yaml"
        return f"nsga-lightning fit --config {config}"

    # -- state ----------------------------------------------------------------------------------------------

    def has_archive(self) -> bool:
        """Whether an archive file exists (of any size)."""
        return self.archive.is_file()

    def outputs(self) -> list[Path]:
        """The outputs of an earlier search that exist here (pareto files, configs, TensorBoard, report)."""
        found = [p for p in (self.pareto_csv, self.pareto_png, self.report, self.search_log) if p.exists()]
        if self.pareto_configs.is_dir() and any(self.pareto_configs.glob("*.yaml")):
            found.append(self.pareto_configs)
        return found

    def create(self) -> None:
        """Create the run directory (and its parents).

        Raises:
            RunDirectoryError: if it cannot be created or written, with the reason and what to do.
        """
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise NotADirectoryError(f"run_dir {self.path} exists and is not a directory: give another run_dir") from None
        except OSError as error:  # permissions, a read-only file system
            raise self.not_writable(error) from None
        if not os.access(self.path, os.W_OK):
            raise self.not_writable(OSError(errno.EACCES, "permission denied"))

    def not_writable(self, error: OSError) -> RunDirectoryError:
        """The one-line error for a run directory this process cannot write."""
        reason = error.strerror or str(error)
        return RunDirectoryError(f"cannot write the run directory {self.path} ({reason.lower()}): make it writable "
                                 "or give another run_dir; report and draw can still read it")

    # -- the stored configuration ---------------------------------------------------------------------------

    def read_config(self) -> dict[str, Any]:
        """The stored search settings (``config.yaml``), or ``{}`` when there are none.

        Raises:
            ValueError: if the file is not a YAML mapping.
        """
        if not self.config.is_file():
            return {}
        try:
            data = yaml.safe_load(self.config.read_text())
        except yaml.YAMLError as error:
            raise ValueError(f"{self.config} is not valid YAML: {' '.join(str(error).split())}") from None
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise ValueError(f"{self.config} holds a {type(data).__name__}, not the mapping of a search config")
        return data

    def write_config(self, settings: Mapping[str, Any]) -> bool:
        """Store the search settings unless the file already holds exactly them; returns whether it wrote."""
        text = dump_yaml(settings)
        if self.config.is_file() and self.config.read_text() == text:
            return False
        temporary = self.config.with_suffix(".yaml.tmp")
        temporary.write_text(text)
        os.replace(temporary, self.config)
        return True

    def reference_point(self) -> dict[str, float]:
        """The hypervolume reference overrides of the stored settings (``search.reference_point``)."""
        search = self.read_config().get("search") or {}
        return dict(search.get("reference_point") or {})

    def space(self, stored: Mapping[str, Any]) -> SearchSpace:
        """The search space of this run, rebuilt from the archive's stored configuration.

        A built-in space comes back from its name and size; any other from its class (the fingerprint's
        ``space.class_path``) with the ``init_args`` of the stored settings (``config.yaml``; none for a space
        given as an object), and only if it then describes itself exactly as the stored block does.

        Args:
            stored: the archive's stored configuration (``Archive.config()``; the run directory never opens the
                archive, which sits above it).

        Raises:
            ValueError: one line if the space cannot be rebuilt (its class cannot be imported or built, or it
                describes itself differently, e.g. other init arguments).
        """
        settings = self.read_config() if "class_path" in (stored.get("space") or {}) else None
        return space_from_config(stored, settings)


def space_from_config(stored: Mapping[str, Any], settings: Mapping[str, Any] | None = None) -> SearchSpace:
    """The search space described by a stored configuration's ``space`` block (see :meth:`RunDirectory.space`;
    ``settings``: the stored settings, whose ``space`` block gives a class's ``init_args``)."""
    block = dict(stored.get("space") or {})
    if "class_path" not in block:
        return make_space(block.get("name", "micro"), n_blocks=int(block.get("n_blocks", 5)),
                          n_nodes=int(block.get("n_nodes", 6)))
    given = dict((settings or {}).get("space") or {})
    init_args = dict(given.get("init_args") or {}) if _same_class(given.get("class_path"), block["class_path"]) else {}
    where = f"the space of this run ({block['class_path']})"
    try:
        space = space_from_block({"class_path": block["class_path"], "init_args": init_args}, "space")
    except ValueError as error:
        raise ValueError(f"{where} cannot be rebuilt: {error}") from None
    rebuilt = json.loads(canonical_json(space_block(space)))  # as stored: tuples are lists, numpy numbers plain
    if rebuilt != block:
        raise ValueError(f"{where} cannot be rebuilt: built with init_args {init_args} it differs from the stored one "
                         f"({config_differences(block, rebuilt)})")
    return space


def _same_class(given: Any, stored: str) -> bool:
    """Whether the settings' class_path names the fingerprint's class (a package may re-export it under a shorter
    path, e.g. ``nsga_lightning.benchmarks.NASBenchGraphSpace``)."""
    if not isinstance(given, str):
        return False
    try:
        return given == stored or import_class(given, "space") is import_class(stored, "space")
    except ValueError:
        return False


def dump_yaml(settings: Mapping[str, Any]) -> str:
    """Settings as block YAML in their own key order."""
    return yaml.safe_dump(_plain(settings), sort_keys=False, default_flow_style=False, width=100)


def _plain(value: Any) -> Any:
    """Dicts, lists and scalars only (tuples become lists), for ``yaml.safe_dump``."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
