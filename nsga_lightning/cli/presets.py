"""The YAML presets shipped inside the package (``nsga_lightning.configs``, the repository's ``configs/``):
``nsga-lightning configs`` lists them, ``nsga-lightning configs NAME`` prints one, and ``--config NAME`` uses one
wherever no file of that name exists (``--config quickstart``, ``--config train/nsganet-micro-c34``).

Imports nothing heavy: resolving ``--config`` happens before any command module loads.
"""

from __future__ import annotations

import argparse
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

SUFFIXES = (".yaml", ".yml")


def _root() -> Traversable:
    return files("nsga_lightning.configs")


def _walk(folder: Traversable, prefix: str = "") -> list[tuple[str, Traversable]]:
    found: list[tuple[str, Traversable]] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.is_dir() and not entry.name.startswith(("_", ".")):
            found.extend(_walk(entry, f"{prefix}{entry.name}/"))
        elif entry.name.endswith(SUFFIXES):
            found.append((prefix + entry.name.rsplit(".", 1)[0], entry))
    return found


def presets() -> dict[str, Traversable]:
    """Preset name (``quickstart``, ``search/micro-cifar10``, ...) -> its file, in name order."""
    return dict(_walk(_root()))


def preset_path(name: str) -> Path | None:
    """The file of a preset given by name, with or without ``configs/`` and the ``.yaml`` suffix; ``None`` if
    there is no such preset."""
    key = name.strip().removeprefix("configs/").removeprefix("./")
    for suffix in SUFFIXES:
        key = key.removesuffix(suffix)
    found = presets().get(key)
    return Path(str(found)) if found is not None else None


def resolve_config_args(args: list[str]) -> list[str]:
    """``args`` with every ``--config X`` that names no existing file but a preset replaced by the preset's path.

    Raises:
        FileNotFoundError: for a ``--config`` that is neither a file nor a preset (listing the presets).
    """
    out = list(args)
    for i, arg in enumerate(out):
        if arg == "--config" and i + 1 < len(out):
            out[i + 1] = _resolve(out[i + 1])
        elif arg.startswith("--config="):
            out[i] = "--config=" + _resolve(arg.split("=", 1)[1])
    return out


def _resolve(value: str) -> str:
    if Path(value).exists() or value.lstrip().startswith(("{", "[")):  # a file, or inline YAML
        return value
    found = preset_path(value)
    if found is None:
        raise FileNotFoundError(f"--config {value}: no such file and no such preset; presets: "
                                f"{', '.join(presets())} (nsga-lightning configs NAME prints one)")
    return str(found)


def run_configs(args: list[str]) -> int:
    """``nsga-lightning configs [NAME]``: list the presets, or print one (to copy and edit)."""
    parser = argparse.ArgumentParser(prog="nsga-lightning configs", exit_on_error=False,
                                     description="List the shipped YAML presets, or print one.")
    parser.add_argument("name", nargs="?", help="a preset, e.g. quickstart or train/nsganet-micro-c34")
    config = parser.parse_args(args)
    if config.name is None:
        found = presets()
        width = max(len(name) for name in found)
        for name, entry in found.items():
            print(f"{name:<{width}}  {_summary(entry.read_text())}")
        print("\nuse one: nsga-lightning search --config quickstart; copy one: nsga-lightning configs NAME > my.yaml")
        return 0
    path = preset_path(config.name)
    if path is None:
        raise KeyError(f"no preset {config.name!r}; presets: {', '.join(presets())}")
    print(path.read_text(), end="")
    return 0


def _summary(text: str) -> str:
    """The first comment line of a preset, without the ``#``."""
    for line in text.splitlines():
        if line.startswith("#"):
            line = line.lstrip("# ").rstrip()
            return line if len(line) <= 90 else line[:87].rstrip() + "..."
    return ""
