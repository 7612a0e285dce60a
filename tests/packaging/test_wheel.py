"""What a pip user installs: the wheel (as PyPI would serve it) has the command, every subpackage and the presets.

The wheel is built from a copy of the sources (nothing is written into the checkout), installed without network
into a fresh virtual environment on top of this environment's packages, and its ``nsga-lightning`` command runs
from a folder outside the repository.

"This environment" is the one running the tests, whatever it is: a base interpreter (CI), a virtual environment
(the README's commands) or a conda environment. ``venv --system-site-packages`` would not do: made from inside a
virtual environment it reaches the *base* interpreter's site-packages, not the packages installed in the
environment running the tests (``No module named 'lightning'``). The new environment gets a ``.pth`` file instead
that adds this interpreter's own site directories (``site.getsitepackages()``: a venv's, with the base's where
that venv includes them; conda's; the base's) with ``site.addsitedir``, so their ``.pth`` files (namespace packages,
editable installs) apply as they do here. They come after the new environment's site-packages on ``sys.path``,
so the wheel installed there is the ``nsga_lightning`` imported, not the editable one of the checkout.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_IGNORED = shutil.ignore_patterns(".git", "runs", "data", "build", "dist", "*.egg-info", "__pycache__",
                                  ".pytest_cache", "lightning_logs")


def _not_copied(folder: str, names: list[str]) -> set[str]:
    """The names :data:`_IGNORED` lists, and every virtual environment in the checkout, whatever its name
    (the README's ``.venv``, CI's ``.ci-venv``; several GB each)."""
    return set(_IGNORED(folder, names)) | {name for name in names if (Path(folder, name, "pyvenv.cfg")).is_file()}


def _run(*command: str | Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONNOUSERSITE": "1", "MPLBACKEND": "Agg"}
    env.pop("PYTHONPATH", None)
    return subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, check=False,
                          timeout=600)


def _see_this_environment(python: Path) -> None:
    """Make the virtual environment of ``python`` see the packages of the interpreter running the tests (see the
    module docstring for why not ``--system-site-packages``)."""
    found = _run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=python.parent)
    assert found.returncode == 0, found.stderr
    lines = [f"import site; site.addsitedir({folder!r})\n" for folder in site.getsitepackages()]
    (Path(found.stdout.strip()) / "_tested_environment.pth").write_text("".join(lines))


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment with the built wheel installed; returns its bin folder."""
    base = tmp_path_factory.mktemp("wheel")
    sources = base / "sources"
    shutil.copytree(ROOT, sources, ignore=_not_copied)
    built = _run(sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "-q", "-w",
                 base / "dist", sources, cwd=base)
    assert built.returncode == 0, built.stderr
    (wheel,) = (base / "dist").glob("nsga_lightning-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for expected in ("nsga_lightning/cli/main.py", "nsga_lightning/callbacks/pareto_outputs.py",
                     "nsga_lightning/search/build.py", "nsga_lightning/configs/quickstart.yaml",
                     "nsga_lightning/configs/train/nsganet-micro-c34.yaml",
                     "nsga_lightning/configs/search/micro-cifar10.yaml"):
        assert expected in names, f"{expected} missing from the wheel"
    venv = base / "venv"
    made = _run(sys.executable, "-m", "venv", venv, cwd=base)
    assert made.returncode == 0, made.stderr
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    _see_this_environment(bin_dir / "python")
    pip = _run(bin_dir / "python", "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--force-reinstall",
               wheel, cwd=base)
    assert pip.returncode == 0, pip.stderr
    return bin_dir


def test_the_wheel_imports_from_the_environment_not_the_checkout(installed: Path, tmp_path: Path):
    found = _run(installed / "python", "-c",
                 "import nsga_lightning, nsga_lightning.callbacks, nsga_lightning.cli.presets as p; "
                 "print(nsga_lightning.__file__); print(nsga_lightning.callbacks.__file__); print(p.preset_path('quickstart'))",
                 cwd=tmp_path)
    assert found.returncode == 0, found.stderr
    venv = installed.parent.resolve()
    for line in found.stdout.split():
        assert Path(line).resolve().is_relative_to(venv), f"{line} is not inside the virtual environment"


def test_the_installed_command_lists_commands_and_presets(installed: Path, tmp_path: Path):
    command = installed / "nsga-lightning"
    helped = _run(command, "--help", cwd=tmp_path)
    assert helped.returncode == 0, helped.stderr
    assert "search" in helped.stdout and "configs" in helped.stdout
    listed = _run(command, "configs", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    for name in ("quickstart", "search/micro-cifar10", "train/nsganet-micro-c34"):
        assert name in listed.stdout
    printed = _run(command, "configs", "quickstart", cwd=tmp_path)
    assert printed.returncode == 0 and "DigitsDataModule" in printed.stdout


def test_the_installed_command_runs_a_tiny_quickstart_search(installed: Path, tmp_path: Path):
    searched = _run(installed / "nsga-lightning", "search", "--config", "quickstart", "--search.pop_size", "2",
                    "--search.n_gens", "1", "--trainer.max_epochs", "1", "--trainer.limit_train_batches", "2",
                    "--search.run_dir", "run", "--progress_bar", "false", cwd=tmp_path)
    assert searched.returncode == 0, searched.stderr
    assert "2 architectures trained in this session" in searched.stdout
    assert (tmp_path / "run" / "pareto.csv").is_file()
