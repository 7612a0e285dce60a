"""Parallel speedup: the same small search with 1 and 2 local workers (1 intra-op thread each), and with 2 Ray
workers, side by side in one run.

Search: the quickstart's micro space and proxy on the digits (16x16), population 8, 4 children per generation,
2 generations (12 candidates; ``--gens 6``: 28), 2 epochs each. For every variant it reports the wall time of
the search (build to finish), the wall time spent waiting for candidates, the workers' start-up (a local worker
process: spawn to its evaluator built; Ray: starting Ray plus the first task of each worker building its
evaluator; workers start in parallel, the longest is reported), the workers' busy share (time training /
(workers x waiting time)) and the fixed cost per candidate outside its own training ((workers x waiting -
training) / n), each also with the start-up taken out of the waiting time (what a longer search, over which the
start-up is paid once, tends to), and checks the archives are identical. The Ray variant needs
``pip install -e ".[ray]"`` (skipped otherwise).

Usage: ``python benchmarks/parallel_speedup.py [--rounds 1] [--gens 2] [--no-ray]``. The last lines are
``busy_share_2_workers=<share>``, ``ray_fixed_cost_over_local_s=<s>``, ``speedup_2_workers=<ratio>`` and the
same three without start-up.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from nsga_lightning.search import Archive
from nsga_lightning.search.build import build_search

DATA = {"class_path": "nsga_lightning.data.DigitsDataModule",
        "init_args": {"batch_size": 64, "val_split": 0.2, "test_split": 0.2, "image_size": 16, "crop_padding": 2}}


def settings(run_dir: Path, workers: int, backend: str, gens: int = 2) -> dict[str, Any]:
    return {
        "search": {"pop_size": 8, "n_offspring": 4, "n_gens": gens, "seed": 0, "run_dir": str(run_dir),
                   "workers": workers, "backend": backend, "initialization": "random",
                   # one worker trains in this process (the "in process" variant), not in an isolated worker
                   "isolation": "none" if workers == 1 and backend == "local" else "auto"},
        "space": {"name": "micro", "n_blocks": 5},
        "model": {"init_channels": 8, "layers": 5, "learning_rate": 0.05},
        "data": DATA,
        "trainer": {"max_epochs": 2, "accelerator": "cpu"},
        "retrain": {"model": {"auxiliary": False}},
        "num_threads": 1,
        "progress_bar": False,
    }


def run(run_dir: Path, workers: int, backend: str, gens: int) -> dict[str, float]:
    start = time.perf_counter()
    with build_search(settings(run_dir, workers, backend, gens)) as runner:
        result = runner.run()
        waiting, training = runner.evaluation_wall, runner.busy_seconds
        evaluator = runner.evaluator
        startup = getattr(evaluator, "connect_seconds", 0.0) + max(getattr(evaluator, "startup_seconds", []) or [0.0])
    wall = time.perf_counter() - start
    n = result.n_evaluated
    with Archive(run_dir) as archive:
        rows = [(r.key, r.status, r.objectives) for r in archive.rows()]
    warm = waiting - startup  # waiting time once every worker is up
    return {"wall": wall, "waiting": waiting, "busy": training / (workers * waiting), "rows": rows,
            "fixed": (workers * waiting - training) / n, "n": n, "startup": startup,
            "warm_busy": training / (workers * warm), "warm_fixed": (workers * warm - training) / n,
            "warm_wall": wall - startup}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=1, help="alternating rounds (medians are reported)")
    parser.add_argument("--gens", type=int, default=2, help="generations (2: 12 candidates, 6: 28)")
    parser.add_argument("--no-ray", action="store_true", help="leave out the Ray variant")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    variants = [("1 local worker", 1, "local"), ("2 local workers", 2, "local")]
    if not args.no_ray:
        try:
            import ray  # noqa: F401
            variants.append(("2 Ray workers", 2, "ray"))
        except ImportError:
            print("Ray is not installed: the Ray variant is left out")
    results: dict[str, list[dict[str, Any]]] = {name: [] for name, *_ in variants}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for name, workers, backend in variants:
                results[name].append(run(Path(tmp) / f"{r}-{workers}-{backend}", workers, backend, args.gens))
    keys = ("wall", "waiting", "busy", "fixed", "startup", "warm_busy", "warm_fixed", "warm_wall")
    median = {name: {k: statistics.median(x[k] for x in runs) for k in keys} for name, runs in results.items()}
    identical = all(x["rows"] == results["1 local worker"][0]["rows"] for runs in results.values() for x in runs)
    n = results["1 local worker"][0]["n"]
    print(f"{n} candidates, 2 epochs each, 1 intra-op thread per candidate; {args.rounds} round(s), medians")
    print(f"{'variant':<16} {'wall s':>8} {'waiting s':>10} {'start-up s':>11} {'busy':>6} {'fixed s/cand':>13}"
          f" | without start-up: {'busy':>5} {'fixed s/cand':>13}")
    for name, m in median.items():
        print(f"{name:<16} {m['wall']:8.1f} {m['waiting']:10.1f} {m['startup']:11.1f} {100 * m['busy']:5.0f}% "
              f"{m['fixed']:13.3f} | {'':18}{100 * m['warm_busy']:4.0f}% {m['warm_fixed']:13.3f}")
    print(f"archives identical across variants: {identical}")
    one, two = median["1 local worker"], median["2 local workers"]
    print(f"busy_share_2_workers={two['busy']:.3f}")
    if "2 Ray workers" in median:
        print(f"ray_fixed_cost_over_local_s={median['2 Ray workers']['fixed'] - two['fixed']:.3f}")
    print(f"speedup_2_workers={one['wall'] / two['wall']:.2f}")
    print(f"busy_share_2_workers_without_startup={two['warm_busy']:.3f}")
    if "2 Ray workers" in median:
        print(f"ray_fixed_cost_over_local_without_startup_s={median['2 Ray workers']['warm_fixed'] - two['warm_fixed']:.3f}")
    print(f"speedup_2_workers_without_startup={one['warm_wall'] / two['warm_wall']:.2f}")


if __name__ == "__main__":
    main()
