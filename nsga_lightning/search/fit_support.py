"""What one candidate's fit needs around it: the non-finite-loss guard, intra-op threads, Ctrl-C handling,
the channels-last input hook, batch counting, freeing memory and JSON-friendly hyperparameters."""

from __future__ import annotations

import gc
import signal
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from typing_extensions import override

from nsga_lightning.search.evaluator import Candidate


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss."""


class StopOnNonFiniteLoss(Callback):
    """Fail the candidate at the first non-finite training loss instead of training on garbage.

    On the CPU every step is checked. On an accelerator the check would stall the device every step, so
    non-finite losses are flagged on the device and the flag is read every ``every`` steps and at each
    epoch end.

    Args:
        every: read the device flag every this many steps (accelerators).
        check_every_step: ``None`` decides by the loss's device (CPU: every step); ``False`` forces the
            deferred flag, ``True`` the per-step check.
    """

    def __init__(self, every: int = 50, check_every_step: bool | None = None) -> None:
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.every = every
        self.check_every_step = check_every_step
        self.flag: torch.Tensor | None = None

    @override
    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        loss = outputs["loss"] if isinstance(outputs, Mapping) else outputs
        if loss is None:
            return
        loss = loss.detach()
        every_step = self.check_every_step
        if every_step is None:
            every_step = loss.device.type == "cpu"
        if every_step:
            if not torch.isfinite(loss).all():
                raise NonFiniteLossError(f"non-finite training loss {loss.item()} at epoch "
                                         f"{trainer.current_epoch}, batch {batch_idx}")
            return
        bad = ~torch.isfinite(loss).all()
        self.flag = bad if self.flag is None else self.flag | bad
        if (batch_idx + 1) % self.every == 0:
            self._check(trainer)

    @override
    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._check(trainer)

    def _check(self, trainer: Trainer) -> None:
        if self.flag is not None and bool(self.flag):
            raise NonFiniteLossError(f"non-finite training loss in epoch {trainer.current_epoch} "
                                     f"(checked every {self.every} batches)")
        self.flag = None


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


def sigint_handler() -> Any:
    return signal.getsignal(signal.SIGINT) if threading.current_thread() is threading.main_thread() else None


def restore_sigint(handler: Any) -> None:
    if handler is not None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, handler)


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
