"""The parts of ``nsga_lightning.search`` form layers: a module imports only from its own folder and the folders
below it (module-level, function-level and type-only imports alike), and the top-level modules (the facade, the
builder and the public re-export paths) are imported by no part. No module is over 300 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SEARCH = Path(__file__).resolve().parents[2] / "nsga_lightning" / "search"
# lowest first: each folder may import the ones before it
LAYERS = ("core", "store", "evolution", "surrogate", "execution", "training", "recording", "proposers",
          "scheduling", "loops", "assemble")
MAX_LINES = 300  # files short enough to read in one sitting (DESIGN.md); split a module that grows past it


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("nsga_lightning.search"):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("nsga_lightning.search"))
    return found


def _part(module: str) -> str | None:
    """The folder (part) of a dotted module inside search, or its top-level module name."""
    parts = module.split(".")
    return parts[2] if len(parts) > 2 else None


@pytest.mark.parametrize("folder", LAYERS)
def test_a_part_imports_only_itself_and_the_parts_below_it(folder: str) -> None:
    allowed = set(LAYERS[: LAYERS.index(folder) + 1])
    offenders = []
    for path in sorted((SEARCH / folder).glob("*.py")):
        for module in _imports(path):
            part = _part(module)
            if part is not None and (SEARCH / part).is_dir() and part not in allowed:
                offenders.append(f"{folder}/{path.name} imports {module}")
            elif part is not None and not (SEARCH / part).is_dir() and (SEARCH / f"{part}.py").is_file():
                offenders.append(f"{folder}/{path.name} imports the top-level module {module}")
    assert offenders == []


def test_every_folder_of_search_is_a_known_layer() -> None:
    folders = {p.name for p in SEARCH.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders == set(LAYERS)


def test_no_module_of_search_is_over_the_line_limit() -> None:
    long = {str(p.relative_to(SEARCH)): n for p in SEARCH.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}
