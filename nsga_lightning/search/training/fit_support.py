"""What one candidate's fit needs around it: intra-op threads, the channels-last input hook, batch counting,
freeing memory, JSON-friendly hyperparameters and quiet Trainers. (The non-finite-loss guard is the Lightning callback
``nsga_lightning.callbacks.StopOnNonFiniteLoss``; Ctrl-C handling is in ``search.interrupts``.)"""

from __future__ import annotations

import gc
import inspect
import logging
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from lightning.pytorch import LightningModule

from nsga_lightning.nn.analytic_complexity import count_complexity
from nsga_lightning.search.core.evaluator import Candidate
from nsga_lightning.spaces import genotype_to_data

# Loggers whose INFO output (device banner, tips, "`Trainer.fit` stopped") is repeated by every Trainer.
_CHATTY_LOGGERS = ("lightning.pytorch", "lightning.fabric", "lightning")
# Warnings every candidate would repeat and that say nothing about the candidate.
_HARMLESS_WARNINGS = (
    (FutureWarning, r".*LeafSpec.* is deprecated"),  # torch's pytree deprecation, hit inside Lightning
    (UserWarning, r"The number of training batches .* is smaller than the logging interval"),
    (UserWarning, r".*does not have many workers which may be a bottleneck"),
)


@contextmanager
def intra_op_threads(count: int | None) -> Iterator[None]:
    """Run with ``count`` torch intra-op threads (``None``: unchanged), restoring the setting afterwards."""
    if count is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def channels_last_input(network: torch.nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """Forward pre-hook: images ``(N, C, H, W)`` in the channels-last memory format."""
    if args and isinstance(args[0], torch.Tensor) and args[0].dim() == 4:
        return (args[0].contiguous(memory_format=torch.channels_last), *args[1:])
    return None


def candidate_hparams(candidate: Candidate, module: LightningModule) -> dict[str, Any]:
    """The candidate (key, generation, seed, genome) and the proxy network's options, for the HParams view."""
    options = {name: value for name, value in module.hparams.items()
               if name not in ("genotype", "log_complexity") and not isinstance(value, (dict, list, tuple))}
    return {"key": candidate.key, "generation": candidate.generation, "seed": candidate.seed,
            "genome": " ".join(map(str, candidate.genome)), **options}


def count_batches(make_loader: Any) -> int:
    try:
        return max(1, len(make_loader()))
    except TypeError:  # an iterable loader without a length
        return 50


def has_batches(make_loader: Any) -> bool:
    loader = make_loader()
    return not (isinstance(loader, (list, tuple)) and len(loader) == 0)


def limited_batches(batches: int, limit: Any) -> int:
    """Training batches per epoch under Lightning's ``limit_train_batches`` (an int count or a fraction)."""
    if isinstance(limit, bool) or limit is None:
        return batches
    if isinstance(limit, int):
        return min(batches, limit)
    if isinstance(limit, float):
        return max(1, int(batches * limit))
    return batches


def release_memory() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def plain_hparams(value: Any) -> Any:
    """JSON-friendly copy of hyperparameters (for the run fingerprint)."""
    if isinstance(value, Mapping):
        return {str(k): plain_hparams(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_hparams(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


@contextmanager
def quiet_lightning() -> Iterator[None]:
    """Silence Lightning's per-Trainer INFO lines and the harmless warnings (one candidate's fit)."""
    levels = {name: logging.getLogger(name).level for name in _CHATTY_LOGGERS}
    for name in _CHATTY_LOGGERS:
        if logging.getLogger(name).getEffectiveLevel() < logging.WARNING:
            logging.getLogger(name).setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            for category, message in _HARMLESS_WARNINGS:
                warnings.filterwarnings("ignore", message=message, category=category)
            yield
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def analytic_complexity(space: str, candidates: Sequence[Candidate], num_classes: int,
                        options: Mapping[str, Any]) -> list[dict[str, float]]:
    """MAdds and parameters of each candidate's network of a built-in space, counted from its genotype without
    building it (``nn.analytic_complexity``); ``options``: the module options (those the count takes are used)."""
    wanted = inspect.signature(count_complexity).parameters
    kwargs = {k: v for k, v in options.items() if k in wanted}
    out = []
    for candidate in candidates:
        genotype = genotype_to_data(candidate.genotype) if candidate.genotype is not None else list(candidate.genome)
        counted = count_complexity(space, genotype, num_classes=num_classes, **kwargs)
        out.append({"madds": float(counted.madds), "params": float(counted.params)})
    return out


def any_genotype(own_space: Any | None) -> Any:
    """A genotype to check the proxy's options on: a published one, or a sample of a space of your own."""
    if own_space is None:
        return "NSGANet"
    return own_space.genotype_to_data(own_space.decode(own_space.sample(np.random.default_rng(0), 1)[0]))
