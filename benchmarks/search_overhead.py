"""Search overhead: the share of a search's wall time spent outside the candidates' training steps.

Runs a search config (default: the quickstart, ``configs/quickstart.yaml``) in this process (``search.isolation:
none``: the candidates train here, where the timer sees them; the isolated default adds one worker start-up per
search and about 6 ms per candidate, ``isolation_overhead.py``), assembled by
``build_search`` exactly as ``nsga-lightning search`` assembles it, into a fresh temporary run directory, with one
Lightning callback added to every candidate's Trainer (``build_search(..., trainer_callbacks=[timer])``). The callback times every training step (``on_train_batch_start`` -> ``on_train_batch_end``: forward,
loss, backward, clipping, optimizer step, step logging) and every validation batch. Nothing else changes:
the same evaluator, outputs, TensorBoard logging and per-generation pictures run as in ``nsga-lightning
search``.

Reported:

* ``wall``: wall time of building and running the search (config, data, every candidate, every
  per-generation output and the final outputs); the import of the libraries before it is shown separately as
  ``startup``.
* ``train_steps``: the time inside training steps, summed over all candidates.
* ``search_overhead_share = 1 - train_steps / wall``: everything that is not a training step (target <= 0.10).
* ``per_candidate_fixed_cost_s``: per candidate, its evaluation time minus its training steps, its
  validation batches and the time between its steps (fetching and augmenting the next batch), averaged:
  the cost of building, fitting-loop set-up, MAdds counting, logging and freeing memory, which does not grow
  with the data or the epochs (target <= 0.5 s).

Usage: ``python benchmarks/search_overhead.py [--config configs/quickstart.yaml] [-- extra search overrides]``
The last two lines printed are ``per_candidate_fixed_cost_s=<s>`` and ``search_overhead_share=<share>``.
"""

from __future__ import annotations

import time

_START = time.perf_counter()

import argparse
import logging
import os
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from lightning.pytorch import Callback

from nsga_lightning.cli.search import search_parser
from nsga_lightning.search import Archive
from nsga_lightning.search.build import build_search

STARTUP = time.perf_counter() - _START
ROOT = Path(__file__).resolve().parent.parent


class StepTimer(Callback):
    """Sum, per candidate (its TensorBoard version): the time inside training steps, inside validation
    batches, and between consecutive training steps of an epoch (fetching and augmenting the next batch)."""

    def __init__(self) -> None:
        self.train: dict[str, float] = defaultdict(float)
        self.val: dict[str, float] = defaultdict(float)
        self.data: dict[str, float] = defaultdict(float)
        self.steps: dict[str, int] = defaultdict(int)
        self._key = ""
        self._start = 0.0
        self._last_end: float | None = None

    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        self._key = str(trainer.logger.version) if trainer.logger is not None else str(len(self.train))

    def on_train_epoch_start(self, *args: Any) -> None:
        self._last_end = None

    def on_train_batch_start(self, *args: Any) -> None:
        self._start = time.perf_counter()
        if self._last_end is not None:
            self.data[self._key] += self._start - self._last_end

    def on_train_batch_end(self, *args: Any) -> None:
        self._last_end = time.perf_counter()
        self.train[self._key] += self._last_end - self._start
        self.steps[self._key] += 1

    def on_validation_batch_start(self, *args: Any) -> None:
        self._start = time.perf_counter()

    def on_validation_batch_end(self, *args: Any) -> None:
        self.val[self._key] += time.perf_counter() - self._start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=str(ROOT / "configs" / "quickstart.yaml"))
    parser.add_argument("--keep", default=None, help="run directory to keep (default: a temporary one)")
    parser.add_argument("overrides", nargs="*", help="extra search options, e.g. --search.n_gens 2")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    timer = StepTimer()
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = args.keep or os.path.join(tmp, "run")
        settings = search_parser().parse_args(["--config", args.config, "--search.run_dir", run_dir,
                                               "--progress_bar", "false",
                                               # the timer times the steps of this process's candidates
                                               "--search.isolation", "none", *args.overrides]).as_dict()
        start = time.perf_counter()
        with build_search(settings, trainer_callbacks=[timer]) as runner:
            runner.run()
        wall = time.perf_counter() - start
        with Archive(run_dir) as archive:
            rows = [(r.key, r.seconds, r.status) for r in archive.rows(order="completion")]
    n = len(rows)
    candidates = sum(seconds for _, seconds, _ in rows)
    train = sum(timer.train.values())
    val = sum(timer.val.values())
    data = sum(timer.data.values())
    outside = [seconds - timer.train.get(key, 0.0) for key, seconds, _ in rows]
    fixed = [seconds - timer.train.get(key, 0.0) - timer.val.get(key, 0.0) - timer.data.get(key, 0.0)
             for key, seconds, _ in rows]
    steps = sum(timer.steps.values())
    share = 1.0 - train / wall
    print(f"config {args.config}: {n} candidates ({sum(s != 'ok' for *_, s in rows)} failed), {steps} training steps")
    print(f"startup (imports) {STARTUP:.2f} s; search wall {wall:.2f} s")
    print(f"  training steps      {train:8.2f} s  {100 * train / wall:5.1f}%  ({1000 * train / max(steps, 1):.1f} ms/step)")
    print(f"  validation batches  {val:8.2f} s  {100 * val / wall:5.1f}%")
    print(f"  between steps       {data:8.2f} s  {100 * data / wall:5.1f}%  (next batch: fetch, augment)")
    print(f"  per-candidate fixed {sum(fixed):8.2f} s  {100 * sum(fixed) / wall:5.1f}%  "
          f"(min {min(fixed):.2f}, max {max(fixed):.2f} s per candidate)")
    print(f"  outside candidates  {wall - candidates:8.2f} s  {100 * (wall - candidates) / wall:5.1f}%  "
          "(config, data, per-generation outputs, final outputs)")
    print(f"share including startup: {1.0 - train / (wall + STARTUP):.3f}; per candidate outside its training "
          f"steps: {sum(outside) / max(n, 1):.3f} s")
    print(f"per_candidate_fixed_cost_s={sum(fixed) / max(n, 1):.3f}")
    print(f"search_overhead_share={share:.3f}")


if __name__ == "__main__":
    main()
