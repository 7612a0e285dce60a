"""The built-in spaces by name, any space from a config block (a name or a class_path), and genotypes from config
values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from nsga_lightning.options import check_keys, instantiate
from nsga_lightning.spaces.macro import MacroSpace
from nsga_lightning.spaces.micro import MicroSpace
from nsga_lightning.spaces.protocol import SearchSpace, check_space

SPACES = ("micro", "macro")


def make_space(name: str, n_blocks: int = 5, n_nodes: int = 6) -> MicroSpace | MacroSpace:
    """Build a space by name (``"micro"`` uses ``n_blocks``, ``"macro"`` uses ``n_nodes``).

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    if name == "micro":
        return MicroSpace(n_blocks)
    if name == "macro":
        return MacroSpace(n_nodes)
    raise ValueError(f"unknown search space {name!r}; choose one of: {', '.join(SPACES)}")


def space_from_block(block: Mapping[str, Any], where: str = "space") -> SearchSpace:
    """The space a config block describes: a built-in one by ``name`` (``n_blocks``, ``n_nodes``), or any space in
    LightningCLI's class_path form ``{"class_path": "my_pkg.MySpace", "init_args": {...}}``.

    Raises:
        ValueError: one line for an unknown name, a class that cannot be imported or built (an unknown init
            argument with the closest names), or an object that is not a search space.
    """
    block = dict(block)
    if block.get("class_path") is None:
        check_keys(where, block, ("name", "n_blocks", "n_nodes", "class_path", "init_args"))
        if block.get("init_args"):
            raise ValueError(f"{where}.init_args go with a class_path; the built-in spaces take name, n_blocks and "
                             "n_nodes")
        return make_space(str(block.get("name", "micro")), n_blocks=int(block.get("n_blocks", 5)),
                          n_nodes=int(block.get("n_nodes", 6)))
    check_keys(where, block, ("class_path", "init_args"))
    return check_space(instantiate(where, block), where)


def resolve_genotype(space: str, value: object, n_blocks: int = 5, n_nodes: int = 6):
    """Turn a config value into a genotype of ``space``.

    Accepted: a zoo name (``"NSGANet"``); a flat genome (list of ints); for micro a dict with
    ``normal``/``normal_concat``/``reduce``/``reduce_concat``; for macro a dict ``{"genome": [...],
    "n_nodes": 6}`` or the original's nested per-phase lists; or an already decoded genotype.

    Raises:
        KeyError: for an unknown zoo name (listing the known ones).
        ValueError: for anything malformed, saying what is accepted.
    """
    from nsga_lightning.spaces.macro import MacroGenotype
    from nsga_lightning.spaces.micro import MicroGenotype
    from nsga_lightning.spaces.zoo import macro_genotype, micro_genotype

    if space not in SPACES:
        raise ValueError(f"unknown search space {space!r}; choose one of: {', '.join(SPACES)}")
    if isinstance(value, (MicroGenotype, MacroGenotype)):
        expected = MicroGenotype if space == "micro" else MacroGenotype
        if not isinstance(value, expected):
            raise ValueError(f"a {type(value).__name__} cannot be used in the {space} space")
        return value
    if isinstance(value, str):
        return micro_genotype(value) if space == "micro" else macro_genotype(value)
    if isinstance(value, dict):
        if space == "micro":
            return MicroGenotype.from_dict(value)
        if set(value) - {"genome", "n_nodes"} or "genome" not in value:
            raise ValueError(f"a macro genotype dict has keys 'genome' and optionally 'n_nodes'; got {sorted(value)}")
        genome = value["genome"]
        n_nodes = int(value.get("n_nodes", n_nodes))
        return MacroSpace(n_nodes).decode(_flat(genome))
    if isinstance(value, (list, tuple, np.ndarray)):
        if space == "macro":
            return MacroSpace(n_nodes).decode(_flat(value))
        return MicroSpace(n_blocks).decode(value)
    raise ValueError(
        f"genotype must be a zoo name, a genome (list of ints) or a genotype mapping; got {type(value).__name__}"
    )


def genotype_to_data(genotype: object) -> dict | None:
    """The plain (JSON/YAML) form of a decoded genotype: its ``to_dict()``; ``None`` stays ``None``.

    :func:`genotype_from_data` (or :func:`resolve_genotype`) turns it back into the genotype.

    Raises:
        TypeError: for anything that is not a decoded micro or macro genotype.
    """
    from nsga_lightning.spaces.macro import MacroGenotype
    from nsga_lightning.spaces.micro import MicroGenotype

    if genotype is None:
        return None
    if isinstance(genotype, (MicroGenotype, MacroGenotype)):
        return genotype.to_dict()
    raise TypeError(f"not a decoded genotype: {type(genotype).__name__} (expected MicroGenotype or MacroGenotype)")


def genotype_from_data(space: str, data: dict):
    """The decoded genotype of ``space`` from :func:`genotype_to_data`'s output (validated).

    Raises:
        ValueError: if ``data`` is not a valid genotype mapping of ``space``.
    """
    if not isinstance(data, dict):
        raise ValueError(f"a stored genotype is a mapping, got {type(data).__name__}")
    return resolve_genotype(space, data)


def _flat(genome: object) -> list[int]:
    """Accept the macro genome flat or in the original's nested per-phase form."""
    from nsga_lightning.spaces.macro import flatten_nested

    items = list(genome)  # type: ignore[call-overload]
    if items and isinstance(items[0], (list, tuple)):
        return list(flatten_nested(items))
    return [int(b) for b in items]
