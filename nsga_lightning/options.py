"""Class paths and option names checked at the boundary: the closest valid names in one line (stdlib only).

Shared by every layer that builds an object from plain settings: the search config's blocks (``data``,
``space``), a space given in class_path form to :class:`~nsga_lightning.module.ArchitectureModule`, and the CLI's
explanation of a parse error.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def check_keys(block: str, given: Iterable[str], allowed: Iterable[str]) -> None:
    """Refuse names of ``given`` that are not in ``allowed``.

    Raises:
        ValueError: naming the first unknown option of ``block`` and the closest valid names.
    """
    allowed = list(allowed)
    unknown = [name for name in given if name not in allowed]
    if not unknown:
        return
    name = unknown[0]
    close = difflib.get_close_matches(str(name), allowed, n=1, cutoff=0.6)
    hint = f"did you mean {' or '.join(close)}?" if close else f"allowed: {', '.join(sorted(allowed))}"
    more = f" (and {len(unknown) - 1} more unknown)" if len(unknown) > 1 else ""
    raise ValueError(f"unknown option {block}.{name}{more}; {hint}")


def parameters(function: Callable[..., Any], skip: Iterable[str] = ()) -> dict[str, inspect.Parameter]:
    """The keyword parameters of a callable (a class: its ``__init__``), without ``self`` and ``skip``."""
    skip = set(skip) | {"self"}
    signature = inspect.signature(function)
    return {name: p for name, p in signature.parameters.items()
            if name not in skip and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def takes_any_keyword(function: Callable[..., Any]) -> bool:
    """Whether a callable accepts arbitrary keywords (``**kwargs``): then no name can be checked."""
    return any(p.kind is p.VAR_KEYWORD for p in inspect.signature(function).parameters.values())


def import_class(class_path: str, block: str) -> type:
    """The class named by a dotted ``class_path``.

    Raises:
        ValueError: if the module or the class cannot be found.
    """
    module_name, _, class_name = class_path.rpartition(".")
    if not module_name:
        raise ValueError(f"{block}.class_path {class_path!r} is not a dotted path such as "
                         "nsga_lightning.data.DigitsDataModule")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(f"{block}.class_path {class_path!r}: cannot import {module_name} ({error})") from None
    found = getattr(module, class_name, None)
    if not isinstance(found, type):
        names = [n for n, v in vars(module).items() if isinstance(v, type) and not n.startswith("_")]
        close = difflib.get_close_matches(class_name, names, n=3)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise ValueError(f"{block}.class_path {class_path!r}: {module_name} has no class {class_name}{hint}")
    return found


def instantiate(block: str, spec: Mapping[str, Any], base: type | None = None) -> Any:
    """An instance of a class_path block ``{"class_path": ..., "init_args": {...}}``.

    Raises:
        ValueError: for an unknown class, a class that is not a ``base``, an unknown init argument (with the
            closest names) or an argument the constructor refuses.
    """
    cls = import_class(str(spec["class_path"]), block)
    if base is not None and not issubclass(cls, base):
        raise ValueError(f"{block}.class_path {spec['class_path']!r} is not a {base.__name__}")
    init_args = dict(spec.get("init_args") or {})
    if not takes_any_keyword(cls):
        check_keys(f"{block}.init_args", init_args, parameters(cls))
    try:
        return cls(**init_args)
    except TypeError as error:
        raise ValueError(f"{block}: {cls.__name__}({', '.join(init_args)}) failed: {error}") from None


def class_path(value: object) -> str:
    """The dotted class path of an object's class (``my_pkg.spaces.CellSpace``), as a class_path block names it."""
    cls = type(value)
    return f"{cls.__module__}.{cls.__qualname__}"
