"""What successive halving over epochs and the zero-cost pre-screen save, and what they cost in front quality.

The quickstart search (digits, 15 architectures: population 6, 3 children per generation, 4 generations) with
9 epochs per candidate, side by side in one run, for each seed:

- ``full``: every child trained for 9 epochs. It runs with rungs ``[1, 9]`` and ``keep`` 0.99, i.e. every child
  is promoted: by exact continuation (``tests/search_e2e/test_rung_continuation.py``) that is the same training
  as 9 epochs straight, and it records each child's 1-epoch error for the rank correlation below (its wall time
  includes one rung checkpoint written and read per child).
- ``halving``: rungs ``[1, 3, 9]``, ``keep`` 1/3 (MO-ASHA's promotion within each generation).
- ``halving+naswot`` (``--prescreen``): the same, with 4 x 3 children mated per generation and the best 3 by NASWOT
  and MAdds trained.

Reported: training epochs (sum over the archive), wall time, and the hypervolume of the full-fidelity front
(error %, MAdds; reference error 100 and 1.1 x the largest MAdds of generation 0, which every variant shares),
each as a ratio to ``full``; then Kendall's tau over the ``full`` archive between the full-fidelity error and
(a) the 1-epoch error, (b) -SynFlow and (c) -NASWOT (positive: the score orders the architectures as the full
error does; 1 = the same order).

Run: ``python benchmarks/fidelity_savings.py [--seeds 3] [--workers 2] [--prescreen]`` (about 25 min on 2 cores).
"""

from __future__ import annotations

import argparse
import itertools
import logging
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

from nsga_lightning.search.assemble.settings import FidelitySettings

EPOCHS = 9
VARIANTS: dict[str, dict[str, Any]] = {
    "full": {"fidelity": FidelitySettings(rungs=[1, EPOCHS], keep=0.99)},
    "halving": {"fidelity": FidelitySettings(rungs=[1, 3, EPOCHS], keep=1 / 3)},
    "halving+naswot": {"fidelity": FidelitySettings(rungs=[1, 3, EPOCHS], keep=1 / 3),
                     "prescreen": {"score": "naswot", "factor": 4}},
}


def kendall_tau(x: np.ndarray, y: np.ndarray) -> float:
    """Kendall's tau-b of two samples (ties counted as neither concordant nor discordant)."""
    concordant = discordant = ties_x = ties_y = 0
    for i, j in itertools.combinations(range(len(x)), 2):
        dx, dy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
        if dx == 0 and dy == 0:
            continue
        if dx == 0:
            ties_x += 1
        elif dy == 0:
            ties_y += 1
        elif dx == dy:
            concordant += 1
        else:
            discordant += 1
    pairs = concordant + discordant
    denominator = np.sqrt((pairs + ties_x) * (pairs + ties_y))
    return float((concordant - discordant) / denominator) if denominator else float("nan")


def config_of(name: str, seed: int, folder: str) -> dict[str, Any]:
    import yaml

    from nsga_lightning.cli.presets import preset_path

    config = yaml.safe_load(preset_path("quickstart").read_text())
    # the figures in the README were measured with the published code's random start
    config["search"].update(seed=seed, run_dir=f"{folder}/{name}-{seed}", initialization="random", **VARIANTS[name])
    config["trainer"]["max_epochs"] = EPOCHS
    config["progress_bar"] = False
    config["num_threads"] = 1
    return config


def run_one(args: tuple[str, int, str]) -> dict[str, Any]:
    """One search: its archive's rows (plain values), wall time, and for ``full`` the zero-cost scores."""
    logging.disable(logging.WARNING)
    from nsga_lightning.search.build import build_evaluator, build_search

    name, seed, folder = args
    config = config_of(name, seed, folder)
    start = time.perf_counter()
    with build_search(config, callbacks=[]) as runner:
        runner.run()
        rows = runner.archive.rows()
        candidates = [runner.candidate(r.genome, r.generation, r.key) for r in rows if r.is_ok]
    wall = time.perf_counter() - start
    out = {"name": name, "seed": seed, "wall": wall,
           "rows": [{"key": r.key, "generation": r.generation, "ok": r.is_ok, "stopped": r.stopped_early,
                     "epochs": r.epochs, "error": r.objectives.get("error"), "madds": r.objectives.get("madds"),
                     "rung_errors": r.rung_errors} for r in rows]}
    if name == "full":
        from nsga_lightning.search.training.zero_cost_scorer import ZeroCostScorer

        evaluator = build_evaluator(config)
        for score in ("synflow", "naswot"):
            values = ZeroCostScorer(evaluator, score, seed)(candidates)
            out[score] = {c.key: v for c, (v, _, _) in zip(candidates, values)}
    return out


def front_hypervolume(rows: list[dict[str, Any]], reference: np.ndarray) -> float:
    """Normalised hypervolume of the full-fidelity rows (the search's own measure, ``search.pareto``)."""
    from nsga_lightning.search.core.pareto import hypervolume

    F = np.array([[r["error"], r["madds"]] for r in rows if r["ok"] and not r["stopped"]], dtype=float)
    return hypervolume(F.reshape(-1, 2), reference)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="searches run at once (1 thread each)")
    parser.add_argument("--prescreen", action="store_true", help="also the halving+naswot variant")
    config = parser.parse_args()
    names = [n for n in VARIANTS if config.prescreen or n != "halving+naswot"]
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder, ProcessPoolExecutor(config.workers) as pool:
        jobs = [(n, s, folder) for s in range(config.seeds) for n in names]
        results = {(r["name"], r["seed"]): r for r in pool.map(run_one, jobs)}
    print(f"quickstart searches, {EPOCHS} epochs per full candidate, seeds 0-{config.seeds - 1}, {config.workers} at "
          f"once (1 thread each); {time.perf_counter() - start:.0f} s")
    print(f"{'variant':14s} {'seed':>4s} {'epochs':>7s} {'wall s':>7s} {'HV':>7s} {'full rows':>9s}   "
          f"{'epochs ratio':>12s} {'wall ratio':>10s} {'HV ratio':>8s}")
    ratios: dict[str, list[tuple[float, float, float]]] = {n: [] for n in names}
    taus: dict[str, list[float]] = {"1-epoch error": [], "-synflow": [], "-naswot": []}
    for seed in range(config.seeds):
        first = [r for n in names for r in results[(n, seed)]["rows"] if r["generation"] == 0 and r["ok"]]
        reference = np.array([100.0, 1.1 * max(r["madds"] for r in first)])
        base = results[("full", seed)]
        base_epochs = sum(r["epochs"] for r in base["rows"] if r["ok"])
        base_hv = front_hypervolume(base["rows"], reference)
        for name in names:
            result = results[(name, seed)]
            epochs = sum(r["epochs"] for r in result["rows"] if r["ok"])
            hv = front_hypervolume(result["rows"], reference)
            full_rows = sum(1 for r in result["rows"] if r["ok"] and not r["stopped"])
            ratio = (base_epochs / epochs, base["wall"] / result["wall"], hv / base_hv)
            ratios[name].append(ratio)
            print(f"{name:14s} {seed:4d} {epochs:7d} {result['wall']:7.0f} {hv:7.4f} {full_rows:9d}   "
                  f"{ratio[0]:11.2f}x {ratio[1]:9.2f}x {ratio[2]:8.3f}")
        ok = [r for r in base["rows"] if r["ok"]]
        full_error = np.array([r["error"] for r in ok])
        taus["1-epoch error"].append(kendall_tau(np.array([r["rung_errors"][1] for r in ok]), full_error))
        for score in ("synflow", "naswot"):
            values = np.array([-base[score][r["key"]] if base[score][r["key"]] is not None else np.inf for r in ok])
            taus[f"-{score}"].append(kendall_tau(values, full_error))
    print("Kendall tau with the full-fidelity error over the full run's archive (per seed):")
    for name, values in taus.items():
        print(f"  {name:14s} {' '.join(f'{v:+.3f}' for v in values)}   median {statistics.median(values):+.3f}")
    for name in names[1:]:
        epochs, wall, hv = (statistics.median(v[i] for v in ratios[name]) for i in range(3))
        print(f"{name}: median {epochs:.2f}x fewer epochs, {wall:.2f}x less wall time, hypervolume ratio {hv:.3f}")
    epochs, _, hv = (statistics.median(v[i] for v in ratios["halving"]) for i in range(3))
    print(f"halving_epochs_saving={epochs:.2f}x halving_hv_ratio={hv:.3f}")


if __name__ == "__main__":
    main()
