"""How much a surrogate must know before a budget's picks reach the true front: the learning curve behind the
search-quality tables of ``search_quality_tables.py`` (same tables, objectives and reference points).

For each NAS-Bench-Graph dataset, a random forest on the surrogate's own features (one-hot by the space's bounds, of
the listing's first genome of each key, as ``proposers/surrogate.py`` features a listed space) learns the log
validation error from ``n`` architectures of the table drawn at random. These are *given* to it, not counted in the
budget. Its predicted error and the exact latency then pick the budget's architectures greedily by predicted
hypervolume gain (the default surrogate's rule, without exploration, among the best 400 by predicted non-dominated
rank). Reported: the hypervolume share of the true front reached by the picks alone, median and worst of 5 draws
of the ``n``, for n = 110 (all a 110-evaluation search ever trains), 300, 1,000, 3,000, and for every
architecture's prediction fitted to the other 80% of the table (5 folds, ~21,000 architectures on the large
tables): what a model of this form finds once it has learned all that the table can teach it.

Read against the search's own figures: a 110-evaluation search knows at most 110 architectures. Where even a
model fitted to thousands does not reach a share, no surrogate reaches it in 110 evaluations but by luck; where
it needs ~1,000 architectures, a search of 110 has to learn ten times faster than a forest fitted at random.

Usage: ``nice -n 10 python benchmarks/search_ceiling.py [--datasets tuned|untuned|all|a,b] [--budget 110]
[--markdown]``; minutes on 2 cores. Needs ``pip install -e ".[benchmarks]"``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from search_quality_tables import TUNED, UNTUNED, hv2, landscape  # the tables' own definitions

SIZES = (110, 300, 1000, 3000)
DRAWS = 5
PREFERRED = 400  # candidates by predicted non-dominated rank the greedy choice looks at


def features(dataset: str) -> np.ndarray:
    """The surrogate's features of every table row (one-hot of the listing's first genome of its key)."""
    from nsga_lightning.benchmarks import NASBenchGraphSpace, load_table
    from nsga_lightning.search.evolution.sampling import listing
    from nsga_lightning.search.surrogate.features import OneHotFeatures

    space, table = NASBenchGraphSpace(dataset), load_table(dataset)
    listed = listing(space)
    first = listed.first
    genomes = np.array([listed.genomes[first[str(int(key))]] for key in table.keys])
    return OneHotFeatures(space.lower, space.upper)(genomes)


def forest(X: np.ndarray, y: np.ndarray, seed: int):
    """The learner: a random forest (300 trees, leaves of at least 2), both cores."""
    from sklearn.ensemble import RandomForestRegressor

    return RandomForestRegressor(300, min_samples_leaf=2, n_jobs=2, random_state=seed).fit(X, y)


def picks_share(predicted: np.ndarray, F: np.ndarray, keys: np.ndarray, reference: np.ndarray, true_hv: float,
                budget: int, excluded: np.ndarray) -> float:
    """HV share of the ``budget`` architectures a prediction picks, none of ``excluded``: the default surrogate's own
    choice (``proposers/surrogate_pool.choose``: the best :data:`PREFERRED` by predicted non-dominated rank, then
    greedy predicted HV gain), against an empty front."""
    from nsga_lightning.search.proposers.surrogate_pool import Pool, choose

    pool = np.setdiff1d(np.arange(len(F)), excluded)
    candidates = np.column_stack([np.exp(predicted[pool]), F[pool, 1]])
    chosen = choose(Pool([str(int(k)) for k in keys[pool]], list(pool), candidates, list(range(len(pool)))), budget,
                    PREFERRED, "hv_gain", [], ("error", "latency"))
    return hv2(F[pool[chosen]], reference) / true_hv


def curve(dataset: str, budget: int) -> dict[str, list[float]]:
    """The shares per knowledge level (``n`` random rows, or ``cross-fitted``) for one dataset."""
    from sklearn.model_selection import KFold

    from nsga_lightning.benchmarks import load_table

    table = load_table(dataset)
    objectives = ("error", "latency")
    reference, true_hv = landscape(dataset, objectives)
    F, X, y = table.objectives(objectives), features(dataset), np.log(table.error)
    out: dict[str, list[float]] = {}
    for n in SIZES:
        if n >= 0.8 * len(y):
            continue
        out[str(n)] = []
        for draw in range(DRAWS):
            known = np.random.default_rng(draw).choice(len(y), n, replace=False)
            predicted = forest(X[known], y[known], draw).predict(X)
            out[str(n)].append(picks_share(predicted, F, table.keys, reference, true_hv, budget, known))
    predicted = np.zeros(len(y))
    for train, held in KFold(5, shuffle=True, random_state=0).split(X):
        predicted[held] = forest(X[train], y[train], 0).predict(X[held])
    out["cross-fitted"] = [picks_share(predicted, F, table.keys, reference, true_hv, budget,
                                        np.array([], dtype=int))]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default="tuned", help="tuned, untuned, all, or a comma-separated list")
    parser.add_argument("--budget", type=int, default=110, help="architectures the model picks")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    groups = {"tuned": list(TUNED), "untuned": list(UNTUNED), "all": [*TUNED, *UNTUNED]}
    datasets = groups.get(args.datasets) or args.datasets.split(",")
    unknown = [d for d in datasets if d not in (*TUNED, *UNTUNED)]
    if unknown:
        parser.error(f"--datasets: unknown {unknown}; from {', '.join((*TUNED, *UNTUNED))}, tuned, untuned or all")
    if args.budget < 1:
        parser.error(f"--budget: at least 1, got {args.budget}")
    columns = [*(f"fitted to {n:,}" for n in SIZES), "fitted to 80% of the table"]
    keys = [*(str(n) for n in SIZES), "cross-fitted"]
    start = time.perf_counter()
    rows = []
    for d in datasets:
        try:
            shares = curve(d, args.budget)
        except ValueError as error:  # the benchmark package missing: one line naming the extra
            raise SystemExit(f"search_ceiling.py: {error}") from None
        cells = [("–" if k not in shares else f"{statistics.median(shares[k]):.3f}" if len(shares[k]) == 1 else
                  f"{statistics.median(shares[k]):.3f} ({min(shares[k]):.3f})") for k in keys]
        rows.append([d, *cells])
        if not args.markdown:
            print(f"{d:<10} " + "  ".join(f"{c:>16}" for c in cells), flush=True)
    if args.markdown:
        print(f"| dataset | {' | '.join(columns)} |")
        print("|" + " --- |" * (len(columns) + 1))
        for row in rows:
            print(f"| {' | '.join(row)} |")
    print(f"\n{args.budget} picks; median (worst) of {DRAWS} draws of the known architectures; "
          f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
