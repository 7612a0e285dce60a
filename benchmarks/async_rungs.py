"""Rung barriers vs asynchronous promotion (MO-ASHA) with 2 workers, side by side in one run.

The quickstart search of ``fidelity_savings.py`` (digits, 15 architectures, 9 epochs per full candidate, rungs
``[1, 3, 9]``, keep 1/3), each seed run twice with ``search.workers: 2`` (local worker processes, 1 thread each):
``synchronous`` (every rung a barrier; the archive equals a 1-worker run's) and ``asynchronous``
(``search.fidelity.asynchronous: true``). Reported per seed: wall time, the workers' busy share (time training /
(2 x time waiting for results)), training epochs, and the hypervolume of the full-fidelity front (reference as in
``fidelity_savings.py``), the asynchronous one as ratios to the synchronous one.

Run: ``python benchmarks/async_rungs.py [--seeds 1]`` (about 4 min per seed on 2 cores). Last line:
``async_wall_ratio=<sync/async> async_hv_ratio=<async/sync>`` (medians).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from typing import Any

import numpy as np
from fidelity_savings import config_of, front_hypervolume

from nsga_lightning.search.assemble.settings import FidelitySettings


def run(name: str, seed: int, folder: str) -> dict[str, Any]:
    from nsga_lightning.search.build import build_search

    config = config_of("halving", seed, folder)
    config["search"].update(run_dir=f"{folder}/{name}-{seed}", workers=2, fidelity=FidelitySettings(
        rungs=[1, 3, 9], keep=1 / 3, asynchronous=name == "asynchronous"))
    start = time.perf_counter()
    with build_search(config, callbacks=[]) as runner:
        runner.run()
        rows = runner.archive.rows()
        busy = runner.busy_seconds / (2 * runner.evaluation_wall)
    return {"wall": time.perf_counter() - start, "busy": busy,
            "rows": [{"generation": r.generation, "ok": r.is_ok, "stopped": r.stopped_early, "epochs": r.epochs,
                      "error": r.objectives.get("error"), "madds": r.objectives.get("madds")} for r in rows]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=1)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    names = ("synchronous", "asynchronous")
    wall_ratios, hv_ratios = [], []
    print(f"{'variant':13s} {'seed':>4s} {'wall s':>7s} {'busy':>5s} {'epochs':>6s} {'HV':>7s}")
    with tempfile.TemporaryDirectory() as folder:
        for seed in range(args.seeds):
            results = {name: run(name, seed, folder) for name in names}
            first = [r for n in names for r in results[n]["rows"] if r["generation"] == 0 and r["ok"]]
            reference = np.array([100.0, 1.1 * max(r["madds"] for r in first)])
            hv = {}
            for name in names:
                result = results[name]
                hv[name] = front_hypervolume(result["rows"], reference)
                epochs = sum(r["epochs"] for r in result["rows"] if r["ok"])
                print(f"{name:13s} {seed:4d} {result['wall']:7.1f} {100 * result['busy']:4.0f}% {epochs:6d} "
                      f"{hv[name]:7.4f}")
            wall_ratios.append(results["synchronous"]["wall"] / results["asynchronous"]["wall"])
            hv_ratios.append(hv["asynchronous"] / hv["synchronous"])
            print(f"seed {seed}: asynchronous {wall_ratios[-1]:.2f}x less wall time, hypervolume ratio "
                  f"{hv_ratios[-1]:.3f}")
    print(f"async_wall_ratio={statistics.median(wall_ratios):.2f} async_hv_ratio={statistics.median(hv_ratios):.3f}")


if __name__ == "__main__":
    main()
