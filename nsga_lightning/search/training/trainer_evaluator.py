"""TrainerEvaluator: each new candidate is an ArchitectureModule trained by a fresh ``Trainer.fit``.

Per-candidate fixed costs are kept small (the search benchmark, ``benchmarks/search_overhead.py``, measures
them): Lightning's per-Trainer banner, tips and known-harmless warnings are silenced while a candidate trains,
the objects that exist when a generation's candidates start are moved out of the garbage collector's way
(``gc.freeze``) so that the collection that frees each candidate scans only that candidate's objects, and
step metrics are written every 50 steps but at least once per epoch (``log_every_n_steps``).
"""

from __future__ import annotations

import gc
import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch import Callback, LightningDataModule, Trainer, seed_everything

from nsga_lightning.data_inputs import inputs_from_data
from nsga_lightning.module import ArchitectureModule
from nsga_lightning.nn import resolve_stem
from nsga_lightning.search.core.evaluator import OBJECTIVES, Candidate, Evaluation
from nsga_lightning.search.core.options import defaults
from nsga_lightning.search.execution.dispatch_order import layer_count
from nsga_lightning.search.store.run_directory import RunDirectory
from nsga_lightning.search.training.candidate_fit import candidate_trainer, fit_candidate
from nsga_lightning.search.training.defaults import (
    CANDIDATE_TRAINER_DEFAULTS,
    LEGACY_INPUT,
    OWNED_TRAINER_OPTIONS,
    SEARCH_SETS,
)
from nsga_lightning.search.training.fit_support import (
    analytic_complexity,
    any_genotype,
    count_batches,
    has_batches,
    intra_op_threads,
    plain_hparams,
    quiet_lightning,
    release_memory,
)
from nsga_lightning.spaces import genotype_to_data, space_from_block


class TrainerEvaluator:
    """Evaluate candidates by training them with Lightning and measuring the held-out validation error.

    For every candidate: seed from the candidate, build an :class:`ArchitectureModule`, fit it with a fresh
    single-device Trainer on the shared datamodule (validating only once, after the last epoch, on the
    validation split of the *training* set), then count parameters and MAdds. Memory is released between
    candidates. Each candidate logs to its own TensorBoard run (``RunDirectory.candidate_log(key)``) with its
    hyperparameters and objectives (HParams view).

    A candidate whose training raises (an exception, out of memory, a non-finite loss) is returned as failed
    with the error text; the next one is trained. Ctrl-C inside a candidate's ``fit`` (which Lightning turns
    into ``SystemExit``) is raised as ``KeyboardInterrupt`` so that the search stops cleanly.

    Args:
        space: ``"micro"`` or ``"macro"``, or a space of your own in class_path form whose ``build_network``
            builds its networks (see :class:`ArchitectureModule`).
        datamodule: any LightningDataModule with a validation split; shared by all candidates.
        model: ArchitectureModule options of the proxy network (not ``space``/``genotype``/``num_classes``/
            ``in_channels``/``image_size``: those come from the datamodule, see :mod:`nsga_lightning.data_inputs`;
            a datamodule without ``in_channels`` has it read from its first training batch).
        trainer: keyword arguments of each candidate's Trainer (``max_epochs``, ``precision``, ...), on top of
            :data:`~nsga_lightning.search.training.defaults.CANDIDATE_TRAINER_DEFAULTS`.
        run_dir: the run directory, whose candidate logs receive the TensorBoard runs; ``None`` disables
            logging.
        callbacks: extra Lightning callbacks added to every candidate's Trainer (the same instances each
            time, e.g. a timer or ``DropPathSchedule`` for proxies with drop path).
        num_threads: torch intra-op threads while a candidate trains (the previous setting is restored
            afterwards); ``None`` keeps torch's setting (one per core). Where other processes keep the cores
            busy, more than one thread per core makes the threads stall each other (measured 2.5-3x slower steps
            with 2 threads on 2 busy cores); the search's default is 1, and ``workers`` use the other cores.
        quiet: silence Lightning's per-Trainer banner, tips and known-harmless warnings.
        channels_last: train in the channels-last memory format (network and input images); ``None`` (default)
            and ``False``: the contiguous format. Channels-last makes fp32 CPU steps of the proxies 1.0-1.7x faster
            (``benchmarks/memory_format.py``), but on torch 2.14's oneDNN kernels for AVX2-only CPUs its backward of a
            1x1 stride-2 convolution with few input channels (e.g. the ImageNet stem's factorized reduction) corrupts
            the heap and kills the process, and under CPU bf16 autocast its backward of the dilated depthwise
            convolutions (``dil_conv_*``) returns wrong or NaN weight gradients (up to 98% off;
            ``tests/search_e2e/test_devices.py``). So it is off unless asked for; a candidate that crashes natively
            fails as that candidate in an isolated search (``search.isolation``).

    Raises:
        ValueError: if ``trainer`` sets an option the evaluator owns (e.g. ``strategy``, ``devices``),
            ``model`` sets ``space``/``genotype``/``num_classes``, or ``num_threads`` is below 1.
    """

    objective_names = OBJECTIVES  # validation error (%), MAdds and parameters of every candidate

    def __init__(self, space: str | Mapping[str, Any], datamodule: LightningDataModule, model: Mapping[str, Any] | None = None,
                 trainer: Mapping[str, Any] | None = None, run_dir: str | Path | RunDirectory | None = None,
                 callbacks: Sequence[Callback] = (), num_threads: int | None = None, quiet: bool = True,
                 channels_last: bool | None = None) -> None:
        self.space = space if isinstance(space, str) else dict(space)
        # a space of your own says how its genotypes are stored, which ArchitectureModule reads back
        self._own_space = None if isinstance(space, str) else space_from_block(space)
        self.datamodule = datamodule
        self.model_options = dict(model or {})
        self.trainer_options = {**CANDIDATE_TRAINER_DEFAULTS, **(trainer or {})}
        clash = [k for k in SEARCH_SETS if k in self.model_options]
        if clash:
            raise ValueError(f"model options may not set {clash}: the search chooses them")
        owned = [k for k in OWNED_TRAINER_OPTIONS if k in self.trainer_options]
        if owned:
            raise ValueError(f"trainer options {owned} are managed by the search; allowed are the others, "
                             "e.g. max_epochs, precision, accelerator, gradient_clip_val")
        if num_threads is not None and (isinstance(num_threads, bool) or num_threads < 1):
            raise ValueError(f"num_threads must be None or an integer >= 1, got {num_threads!r}")
        self.run_directory = RunDirectory(run_dir) if run_dir is not None else None
        self.callbacks = list(callbacks)
        self.num_threads = num_threads
        self.quiet = quiet
        self.channels_last = channels_last
        self._num_classes: int | None = None
        self._inputs: dict[str, int] | None = None  # num_classes, in_channels, image_size of the data
        self._train_batches = 1
        self._cost_hints: dict[str, float] = {}  # key -> layer count (cost_hint)

    def fingerprint(self) -> dict[str, Any]:
        """Settings that change results, after defaults are merged (an option written with its default value
        equals an omitted one): space, model options, trainer options, datamodule hyperparameters, the memory
        format and, unless they are the 3-channel 32x32 images with the cifar stem that every run had before
        those options, the input channels, image size and stem (MAdds are counted at that input).

        ``num_threads`` is left out on purpose: like the number of cores it changes only the float rounding
        of reductions, and a run must stay resumable on another machine or with a different thread count
        (:meth:`runtime` records it instead).
        """
        data_hparams = plain_hparams(getattr(self.datamodule, "hparams", {}))
        # the stem as built (auto resolved) goes into "input"
        model = {**defaults(ArchitectureModule, skip=(*SEARCH_SETS, "stem")),
                 **{k: v for k, v in self.model_options.items() if k != "stem"}}
        fingerprint = {"space": self.space, "model": plain_hparams(model),
                       "trainer": plain_hparams(self.trainer_options),
                       "data": {"class": type(self.datamodule).__qualname__, **data_hparams},
                       "channels_last": bool(self.channels_last)}
        inputs = self.input_options()
        if inputs != LEGACY_INPUT:
            fingerprint["input"] = inputs
        return fingerprint

    def input_options(self) -> dict[str, Any]:
        """The input every proxy network is built for: ``in_channels`` and ``image_size`` of the data, and the
        ``stem`` (``auto`` resolved at that size). Read off the datamodule's attributes; one without
        ``in_channels`` is prepared and a training batch read (:mod:`nsga_lightning.data_inputs`)."""
        inputs = self._inputs if self._inputs is not None else inputs_from_data(self.datamodule)
        stem = resolve_stem(self.model_options.get("stem", "auto"), inputs["image_size"])
        return {"in_channels": inputs["in_channels"], "image_size": inputs["image_size"], "stem": stem}

    def runtime(self) -> dict[str, Any]:
        """What may change results in the last bits without being part of the configuration: the intra-op
        thread count of a candidate (the archive records it; a resume with another value warns)."""
        return {"num_threads": self.num_threads if self.num_threads is not None else torch.get_num_threads()}

    def prepare(self) -> int:
        """Prepare and set up the datamodule (once) and return its number of classes.

        The search calls it before the first generation, so that missing data or a missing validation split
        stops the search with a clear error instead of failing every candidate. ``num_classes``,
        ``in_channels`` and ``image_size`` are read from the datamodule here (:mod:`nsga_lightning.data_inputs`).

        Raises:
            ValueError: if the datamodule holds out no validation split or has no ``num_classes``, or the model
                or trainer options would fail every candidate (e.g. a stem that cannot take the image size).
        """
        if self._num_classes is None:
            self.datamodule.prepare_data()
            self.datamodule.setup("fit")
            has_validation = getattr(self.datamodule, "has_validation", None)
            if has_validation is None:
                has_validation = has_batches(self.datamodule.val_dataloader)
            if not has_validation:
                raise ValueError("the search measures error on a held-out split of the training set: set a "
                                 "non-zero val_split in the data block")
            self._inputs = inputs_from_data(self.datamodule)
            num_classes = self._inputs["num_classes"]
            self._train_batches = count_batches(self.datamodule.train_dataloader)
            self._check_options(num_classes)
            self._num_classes = num_classes
        return self._num_classes

    def _check_options(self, num_classes: int) -> None:
        """Build one proxy network and one Trainer with the search's options, so that an option every
        candidate would fail on (a misspelt Trainer argument, an accelerator this machine lacks, odd channels)
        stops the search with one clear error instead of failing every architecture."""
        try:
            ArchitectureModule(space=self.space, genotype=any_genotype(self._own_space), num_classes=num_classes,
                               log_complexity=False, **self._data_options(), **self.model_options)
        except (TypeError, ValueError) as error:
            raise ValueError(f"the search's proxy network cannot be built from the model block on this data "
                             f"({error}); fix model or data") from None
        try:
            with self._quiet():
                self._trainer(None)
        except (TypeError, ValueError, MisconfigurationException) as error:
            raise ValueError(f"invalid trainer options {self.trainer_options}: {error}") from None

    def evaluate(self, candidates: list[Candidate]) -> Iterator[Evaluation]:
        """Train and measure each candidate in turn, yielding its result as soon as it is known."""
        num_classes = self.prepare()
        # What exists now (libraries, data, the search) outlives these candidates: freezing it keeps it out of
        # the collection that frees each candidate, which then scans only that candidate's objects (a full
        # collection costs ~0.4 s with Lightning, matplotlib and friends loaded). Unfrozen when done.
        frozen = gc.get_freeze_count() == 0
        if frozen:
            gc.freeze()
        try:
            for candidate in candidates:
                start = time.perf_counter()
                try:
                    with self._quiet(), intra_op_threads(self.num_threads):
                        objectives = self._train_one(candidate, num_classes)
                except Exception:  # noqa: BLE001 - one candidate's error is that candidate's failure
                    evaluation = Evaluation.failed(candidate.key, traceback.format_exc(),
                                                   time.perf_counter() - start)
                else:
                    evaluation = Evaluation.ok(candidate.key, objectives, time.perf_counter() - start)
                finally:
                    release_memory()
                yield evaluation
        finally:
            if frozen:
                gc.unfreeze()

    def _train_one(self, candidate: Candidate, num_classes: int) -> dict[str, float]:
        seed_everything(candidate.seed, workers=True, verbose=False)
        module = self.build_module(candidate, num_classes)
        module._log_hyperparams = False  # logged once, with the candidate and its objectives, after the fit
        trainer = self._trainer(candidate)
        return fit_candidate(module, trainer, self.datamodule, self.run_directory, candidate, self.channels_last)

    def build_module(self, candidate: Candidate, num_classes: int) -> ArchitectureModule:
        """The candidate's proxy network as this evaluator trains it, initialised from the global torch RNG
        (seed it first)."""
        # the decoded genotype as a mapping carries n_blocks/n_nodes, which a flat genome does not
        if candidate.genotype is None:
            genotype: Any = list(candidate.genome)
        elif self._own_space is not None:
            genotype = self._own_space.genotype_to_data(candidate.genotype)
        else:
            genotype = genotype_to_data(candidate.genotype)
        return ArchitectureModule(space=self.space, genotype=genotype, num_classes=num_classes,
                                  log_complexity=False, **self._data_options(), **self.model_options)

    def complexity(self, candidates: Sequence[Candidate]) -> list[dict[str, float]]:
        """MAdds and parameters of each candidate's proxy network as :meth:`evaluate` reports them, counted from
        the genotype without building the network (``nn.analytic_complexity``; the surrogate's inner search
        asks for thousands); a space of your own has its networks built and counted.

        Raises:
            RuntimeError: before :meth:`prepare`.
        """
        if self._num_classes is None:
            raise RuntimeError("complexity() before prepare()")
        if self._own_space is not None:  # no analytic count for a space of your own: its network is built
            with torch.random.fork_rng(devices=[]):
                counted = [self.build_module(c, self._num_classes).compute_complexity() for c in candidates]
            return [{"madds": float(c["madds"]), "params": float(c["params"])} for c in counted]
        options = {**defaults(ArchitectureModule, skip=SEARCH_SETS), **self.model_options, **self._data_options()}
        return analytic_complexity(self.space, candidates, self._num_classes, options)

    def cost_hint(self, candidate: Candidate) -> float:
        """Expected relative training cost of a candidate: its network's layer count (see
        :mod:`~nsga_lightning.search.execution.dispatch_order`); the global torch RNG is left as it was.

        Raises:
            RuntimeError: before :meth:`prepare`.
        """
        if self._num_classes is None:
            raise RuntimeError("cost_hint() before prepare()")
        hint = self._cost_hints.get(candidate.key)
        if hint is None:  # a later rung, or a batch resubmitted after a crash, asks again
            with torch.random.fork_rng(devices=[]):
                hint = self._cost_hints[candidate.key] = float(layer_count(self.build_module(candidate,
                                                                                           self._num_classes)))
        return hint

    def _data_options(self) -> dict[str, Any]:
        """Module options taken from the data (read by :meth:`prepare`): the image size, so that a proxy that
        cannot work on it is refused, and the input channels."""
        if self._inputs is None:
            raise RuntimeError("the data's inputs are read by prepare()")
        return {"image_size": self._inputs["image_size"], "in_channels": self._inputs["in_channels"]}

    def _trainer(self, candidate: Candidate | None) -> Trainer:
        """The Trainer of one candidate; ``None``: the same options without a logger (to check them)."""
        return candidate_trainer(self.trainer_options, self._train_batches, self.callbacks, self.run_directory,
                                 candidate)

    def _quiet(self) -> AbstractContextManager[None]:
        """Silence Lightning's per-Trainer INFO lines and the harmless warnings while one candidate trains."""
        return quiet_lightning() if self.quiet else nullcontext()
