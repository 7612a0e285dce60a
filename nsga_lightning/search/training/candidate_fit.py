"""One candidate's training: its Trainer (the search's options on top of the user's, a TensorBoard run named by its
key, a rung stop) and its fit on the shared datamodule, measured into the objectives.

:class:`~nsga_lightning.search.training.trainer_evaluator.TrainerEvaluator` builds the candidate's network and
calls these; a fit that goes wrong raises, which the evaluator turns into that candidate's failure.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from lightning.pytorch import Callback, LightningDataModule, Trainer
from lightning.pytorch.loggers import TensorBoardLogger

from nsga_lightning.callbacks.rung_stop import RungStop
from nsga_lightning.callbacks.stop_on_non_finite_loss import NonFiniteLossError, StopOnNonFiniteLoss
from nsga_lightning.module import ArchitectureModule
from nsga_lightning.search.core.evaluator import Candidate
from nsga_lightning.search.core.interrupts import restore_sigint, sigint_handler
from nsga_lightning.search.store import rung_checkpoints
from nsga_lightning.search.store.run_directory import RunDirectory
from nsga_lightning.search.training.fit_support import candidate_hparams, channels_last_input, limited_batches

# the trainer evaluator's logger, as before this module was split from it
log = logging.getLogger("nsga_lightning.search.training.trainer_evaluator")


def candidate_trainer(trainer_options: Mapping[str, Any], train_batches: int, callbacks: Sequence[Callback],
                      run_directory: RunDirectory | None, candidate: Candidate | None) -> Trainer:
    """The Trainer of one candidate; ``None``: the same options without a logger (to check them).

    Args:
        trainer_options: the candidate Trainer options, defaults merged.
        train_batches: batches in one epoch of the training split (sets the logging interval).
        callbacks: the extra Lightning callbacks of every candidate.
        run_directory: where the candidate's TensorBoard run goes; ``None``: no logger.
        candidate: the candidate (its key names the TensorBoard run; its ``epochs`` add a rung stop).

    Raises:
        ValueError: if ``max_epochs`` is not an integer >= 1.
    """
    options = dict(trainer_options)
    epochs = options["max_epochs"]
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        raise ValueError(f"the search trains each candidate for trainer.max_epochs >= 1 epochs, got {epochs}")
    options.setdefault("check_val_every_n_epoch", epochs)  # validate once, after the last epoch
    # step metrics every 50 steps or at least once per epoch (no "fewer batches than the logging interval")
    options.setdefault("log_every_n_steps", max(1, min(50, limited_batches(train_batches,
                                                                    options.get("limit_train_batches")))))
    all_callbacks: list[Callback] = [StopOnNonFiniteLoss(), *callbacks]
    if candidate is not None and candidate.epochs is not None:
        all_callbacks.append(RungStop(candidate.epochs))
    logger: TensorBoardLogger | bool = False
    if run_directory is not None and candidate is not None:
        save_dir, name = run_directory.candidate_logger_location
        logger = TensorBoardLogger(save_dir, name=name, version=candidate.key, default_hp_metric=False)
    if candidate is not None:
        log.debug("training %s for %s of %s epochs", candidate.key, candidate.epochs or epochs, epochs)
    return Trainer(**options, logger=logger, callbacks=all_callbacks, enable_checkpointing=False,
                   enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
                   devices=1, default_root_dir=str(run_directory) if run_directory else None)


def use_channels_last(channels_last: bool | None, trainer: Trainer) -> bool:
    """The memory format of a candidate: channels-last only where ``channels_last`` is true (see ``channels_last`` of
    the trainer evaluator: ``None``, the default, is the contiguous format on every device)."""
    return bool(channels_last)


def fit_candidate(module: ArchitectureModule, trainer: Trainer, datamodule: LightningDataModule,
                  run_directory: RunDirectory | None, candidate: Candidate,
                  channels_last: bool | None) -> dict[str, float]:
    """Fit ``module`` with ``trainer`` (continuing from the candidate's last rung checkpoint, if any) and return its
    objectives: validation error (%), MAdds and parameters; at a rung below the full epochs the rung's checkpoint is
    kept for the next rung.

    Raises:
        KeyboardInterrupt: on Ctrl-C inside the fit.
        RuntimeError: if the fit ended without a validation error or at another epoch than asked for.
        NonFiniteLossError: if the validation error is not finite.
    """
    resume = (rung_checkpoints.continue_from(run_directory, candidate.key, candidate.epochs)
              if candidate.epochs is not None else None)
    if use_channels_last(channels_last, trainer):
        module.to(memory_format=torch.channels_last)
        module.network.register_forward_pre_hook(channels_last_input)
    sigint = sigint_handler()
    try:
        trainer.fit(module, datamodule=datamodule, ckpt_path=resume, weights_only=True if resume else None)
    except SystemExit:
        # Lightning turns Ctrl-C inside fit into SystemExit(1) and ignores SIGINT from then on; the search
        # stops cleanly on KeyboardInterrupt instead, with Ctrl-C working again.
        restore_sigint(sigint)
        raise KeyboardInterrupt from None
    finally:
        # the shared datamodule would keep this trainer (and the network) alive until the next fit
        if getattr(datamodule, "trainer", None) is trainer:
            datamodule.trainer = None
    if "val/error" not in trainer.callback_metrics:
        raise RuntimeError("training finished without a validation error; the data has no validation split "
                           "or max_epochs is unset")
    if candidate.epochs is not None:
        if trainer.current_epoch != candidate.epochs:
            raise RuntimeError(f"training stopped after {trainer.current_epoch} epochs, {candidate.epochs} asked for")
        if candidate.epochs < trainer.max_epochs:
            rung_checkpoints.save_rung(trainer, run_directory, candidate.key)
        else:
            rung_checkpoints.discard(run_directory, candidate.key)
    error = float(trainer.callback_metrics["val/error"])
    if not math.isfinite(error):
        raise NonFiniteLossError(f"validation error is {error}")
    complexity = module.compute_complexity()
    objectives = {"error": error, "madds": float(complexity["madds"]), "params": float(complexity["params"])}
    if trainer.logger is not None:
        trainer.logger.log_hyperparams(candidate_hparams(candidate, module),
                                       {f"hp/{name}": value for name, value in objectives.items()})
        trainer.logger.finalize("success")
    return objectives
