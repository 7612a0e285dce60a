"""Checking option blocks against what they configure: unknown names are refused with the closest valid ones.

Used for the free-form blocks of a search config (``trainer`` against ``lightning.Trainer``, ``model`` and
``retrain.model`` against ``ArchitectureModule``, ``data`` init_args against the datamodule class) before anything
is created, so that a typo stops the search at once instead of surfacing after it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from nsga_lightning.options import check_keys, import_class, instantiate, parameters, takes_any_keyword

__all__ = ["check_keys", "check_signature", "defaults", "import_class", "instantiate", "parameters",
           "takes_any_keyword"]


def defaults(function: Callable[..., Any], skip: Iterable[str] = ()) -> dict[str, Any]:
    """The default values of a callable's keyword parameters (those that have one)."""
    return {name: p.default for name, p in parameters(function, skip).items() if p.default is not p.empty}


def check_signature(block: str, options: Mapping[str, Any], function: Callable[..., Any],
                    skip: Iterable[str] = (), reserved: Iterable[str] = ()) -> None:
    """Refuse options that ``function`` does not take, and those in ``reserved`` (set by someone else).

    Raises:
        ValueError: one line naming the option and the closest valid names, or who sets a reserved one.
    """
    reserved = list(reserved)
    taken = [name for name in options if name in reserved]
    if taken:
        raise ValueError(f"{block}.{taken[0]} is set by the search, not by the config; remove it")
    if takes_any_keyword(function):
        return
    check_keys(block, options, [name for name in parameters(function, skip) if name not in reserved])
