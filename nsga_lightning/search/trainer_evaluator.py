"""TrainerEvaluator: each new candidate is an ArchitectureModule trained by a fresh ``Trainer.fit``."""

from __future__ import annotations

import gc
import logging
import math
import time
import traceback
from pathlib import Path
from typing import Any, Iterator, Mapping

import torch
from lightning.pytorch import Callback, LightningDataModule, LightningModule, Trainer, seed_everything
from lightning.pytorch.loggers import TensorBoardLogger
from typing_extensions import override

from nsga_lightning.module import ArchitectureModule
from nsga_lightning.search.evaluator import Candidate, Evaluation

log = logging.getLogger(__name__)

# Trainer options the evaluator owns: one candidate is one quiet, single-process, checkpoint-free fit.
_OWNED = ("logger", "callbacks", "enable_checkpointing", "enable_progress_bar", "enable_model_summary",
          "num_sanity_val_steps", "strategy", "devices", "num_nodes", "default_root_dir")


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss."""


class _StopOnNonFiniteLoss(Callback):
    """Fail the candidate at the first non-finite training loss instead of training on garbage."""

    @override
    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        loss = outputs["loss"] if isinstance(outputs, Mapping) else outputs
        if loss is not None and not torch.isfinite(loss.detach()).all():
            raise NonFiniteLossError(
                f"non-finite training loss {loss.item()} at epoch {trainer.current_epoch}, batch {batch_idx}"
            )


class TrainerEvaluator:
    """Evaluate candidates by training them with Lightning and measuring the held-out validation error.

    For every candidate: seed from the candidate, build an :class:`ArchitectureModule`, fit it with a fresh
    single-device Trainer on the shared datamodule (validating only once, after the last epoch, on the
    validation split of the *training* set), then count parameters and MAdds. Memory is released between
    candidates. Each candidate logs to its own TensorBoard run ``<run_dir>/tensorboard/candidates/<key>``
    with its hyperparameters and objectives (HParams view).

    Args:
        space: ``"micro"`` or ``"macro"``.
        datamodule: any LightningDataModule with a validation split; shared by all candidates.
        model: ArchitectureModule options of the proxy network (not ``space``/``genotype``/``num_classes``).
        trainer: keyword arguments of each candidate's Trainer (``max_epochs``, ``precision``, ...).
        run_dir: where the TensorBoard runs go; ``None`` disables logging.

    Raises:
        ValueError: if ``trainer`` sets an option the evaluator owns (e.g. ``strategy``, ``devices``) or
            ``model`` sets ``space``/``genotype``.
    """

    def __init__(self, space: str, datamodule: LightningDataModule, model: Mapping[str, Any] | None = None,
                 trainer: Mapping[str, Any] | None = None, run_dir: str | Path | None = None) -> None:
        self.space = space
        self.datamodule = datamodule
        self.model_options = dict(model or {})
        self.trainer_options = dict(trainer or {})
        clash = [k for k in ("space", "genotype", "num_classes") if k in self.model_options]
        if clash:
            raise ValueError(f"model options may not set {clash}: the search chooses them")
        owned = [k for k in _OWNED if k in self.trainer_options]
        if owned:
            raise ValueError(f"trainer options {owned} are managed by the search; allowed are the others, "
                             "e.g. max_epochs, precision, accelerator, gradient_clip_val")
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self._num_classes: int | None = None

    def fingerprint(self) -> dict[str, Any]:
        """Settings that change results: space, model options, trainer options, datamodule hyperparameters."""
        data = {"class": type(self.datamodule).__qualname__, **_plain(getattr(self.datamodule, "hparams", {}))}
        return {"space": self.space, "model": _plain(self.model_options), "trainer": _plain(self.trainer_options),
                "data": data}

    def _prepare_data(self) -> int:
        if self._num_classes is None:
            self.datamodule.prepare_data()
            self.datamodule.setup("fit")
            if not getattr(self.datamodule, "has_validation", True):
                raise ValueError("the search measures error on a held-out split of the training set: set a "
                                 "non-zero val_split in the data block")
            self._num_classes = int(self.datamodule.num_classes)
        return self._num_classes

    def evaluate(self, candidates: list[Candidate]) -> Iterator[Evaluation]:
        """Train and measure each candidate in turn, yielding its result as soon as it is known."""
        num_classes = self._prepare_data()
        for candidate in candidates:
            start = time.perf_counter()
            try:
                objectives = self._train_one(candidate, num_classes)
            except Exception:  # noqa: BLE001 - one candidate's error is that candidate's failure
                yield Evaluation.failed(candidate.key, traceback.format_exc(), time.perf_counter() - start)
            else:
                yield Evaluation.ok(candidate.key, objectives, time.perf_counter() - start)
            finally:
                _release_memory()

    def _train_one(self, candidate: Candidate, num_classes: int) -> dict[str, float]:
        seed_everything(candidate.seed, workers=True, verbose=False)
        module = ArchitectureModule(space=self.space, genotype=list(candidate.genome), num_classes=num_classes,
                                    log_complexity=False, **self.model_options)
        trainer = self._trainer(candidate)
        try:
            trainer.fit(module, datamodule=self.datamodule)
        except SystemExit:
            # Lightning turns Ctrl-C inside fit into SystemExit(1); the search stops cleanly on it instead.
            raise KeyboardInterrupt from None
        if "val/error" not in trainer.callback_metrics:
            raise RuntimeError("training finished without a validation error; the data has no validation split "
                               "or max_epochs is unset")
        error = float(trainer.callback_metrics["val/error"])
        if not math.isfinite(error):
            raise NonFiniteLossError(f"validation error is {error}")
        complexity = module.compute_complexity()
        objectives = {"error": error, "madds": float(complexity["madds"]), "params": float(complexity["params"])}
        if trainer.logger is not None:
            trainer.logger.log_hyperparams(
                {"key": candidate.key, "generation": candidate.generation, "seed": candidate.seed,
                 "genome": " ".join(map(str, candidate.genome))},
                {f"hp/{name}": value for name, value in objectives.items()},
            )
            trainer.logger.finalize("success")
        return objectives

    def _trainer(self, candidate: Candidate) -> Trainer:
        options = {"max_epochs": 20, "accelerator": "auto", "gradient_clip_val": 5.0, **self.trainer_options}
        epochs = options["max_epochs"]
        if not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"the search trains each candidate for trainer.max_epochs >= 1 epochs, got {epochs}")
        options.setdefault("check_val_every_n_epoch", epochs)  # validate once, after the last epoch
        callbacks: list[Callback] = [_StopOnNonFiniteLoss()]
        if self.model_options.get("drop_path_prob", 0.0) > 0:
            from nsga_lightning.callbacks import DropPathSchedule  # noqa: PLC0415 - optional, avoids a cycle

            callbacks.append(DropPathSchedule())
        logger = False
        if self.run_dir is not None:
            logger = TensorBoardLogger(self.run_dir, name="tensorboard/candidates", version=candidate.key,
                                       default_hp_metric=False)
        log.debug("training %s for %s epochs", candidate.key, epochs)
        return Trainer(**options, logger=logger, callbacks=callbacks, enable_checkpointing=False,
                       enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
                       devices=1, default_root_dir=str(self.run_dir) if self.run_dir else None)


def _release_memory() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _plain(value: Any) -> Any:
    """JSON-friendly copy of hyperparameters (for the run fingerprint)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)
