"""Search quality at equal budget: random search, NSGA-II as the published code has it, and each of the paper's
parts (prior initialisation, homogeneous crossover, Bayesian-network exploitation) on its own and together,
side by side over many seeds, on a cheap landscape built from the real micro space.

Landscape (documented stand-in, fixed for every variant and seed):

* objective 1, ``madds``: the real multiply-adds of the decoded network (``count_madds`` of the search proxy,
  C=4, 3 cells, 32x32 input), cached by canonical key;
* objective 2, ``error``: a seeded additive-plus-interaction table over the decoded cells, so that it depends
  on the real structure and nothing else: for every unit (cell, block, op, input) an additive term, for every
  block an interaction term of its two ops (symmetric, so unit order does not matter), and a term for each
  block's op with the op of the block it reads from (structure matters, not only a bag of ops). It is chosen
  over a zero-cost score because it is exact, instantaneous and has the kind of epistasis (interacting genes)
  that crossover and a Bayesian network are meant to exploit; it is not a claim about real accuracies.

Runs the real ``SearchRunner`` (archive, operators, survival) with an in-process evaluator. Hypervolume over
normalised objectives (bounds from 2000 fixed random genomes; reference point 1.1 of their maxima) of every
architecture evaluated up to 100 and up to 300 evaluations. Budget: pop 20, 10 children per generation, 29
generations = 300 evaluations (100 after generation 8); exploitation in the last 10 generations.

``--surrogate``: the published NSGA-II against surrogate-assisted searches (``search.surrogate``, each model),
all from a random start, side by side on the same landscape and seeds: the evaluations each needs to reach
NSGA-II's median hypervolume at 300 evaluations (checked every 10; median over seeds, ">300" where a seed never
does), and the median hypervolume at 100, 150 and 300 evaluations. Complexity for the inner search: the analytic
count (``nn.count_complexity``), equal to the landscape's MAdds.

Usage: ``python benchmarks/search_quality.py [--seeds 20] [--workers 2] [--surrogate [--models rbf,gp,trees,auto]]``. Prints a table per budget: median
hypervolume, win rate against random search (share of seeds with a larger hypervolume), median ratio to random.

``--real``: the real thing once at quickstart size instead (the quickstart preset: digits, 15 architectures,
3 epochs each), the published operators against the paper's (prior initialisation, homogeneous crossover,
exploitation in the last generation), seeds 0-2, two searches at a time with 1 thread each; hypervolume of
each run's archive over objectives normalised by the bounds of all runs together. ``--real-variants
published,+prior,+homogeneous,+BOA,paper`` runs each part on its own as well.
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

POP, OFFSPRING, GENS, EXPLOIT = 20, 10, 29, 10
BUDGETS = (100, 300)
VARIANTS = {
    "random search": None,
    "NSGA-II (published code)": {},
    "+ prior init": {"initialization": "prior"},
    "+ homogeneous crossover": {"crossover": "homogeneous"},
    "+ BOA exploitation": {"exploitation_gens": EXPLOIT},
    "paper (all three)": {"initialization": "prior", "crossover": "homogeneous", "exploitation_gens": EXPLOIT},
}
_MADDS: dict[str, float] = {}


class Landscape:
    """The two objectives of a micro genome (see the module docstring)."""

    def __init__(self, seed: int = 12345) -> None:
        from nsga_lightning.spaces import make_space
        from nsga_lightning.spaces.micro import OPS

        self.space = make_space("micro")
        rng = np.random.default_rng(seed)
        n_ops, blocks = len(OPS), self.space.n_blocks
        self.ops = list(OPS)
        self.unit = rng.normal(0.0, 1.0, size=(2, blocks, n_ops, blocks + 2))
        pair = rng.normal(0.0, 1.5, size=(2, n_ops, n_ops))
        self.pair = (pair + pair.transpose(0, 2, 1)) / 2
        self.chain = rng.normal(0.0, 1.0, size=(2, n_ops, n_ops))

    def error(self, genome: np.ndarray) -> float:
        genotype = self.space.decode(genome)
        total = 50.0
        for cell, units in enumerate((genotype.normal, genotype.reduce)):
            ops = [self.ops.index(op) for op, _ in units]
            for b in range(len(units) // 2):
                (op_a, in_a), (op_b, in_b) = units[2 * b], units[2 * b + 1]
                a, o = self.ops.index(op_a), self.ops.index(op_b)
                total += self.unit[cell, b, a, in_a] + self.unit[cell, b, o, in_b] + self.pair[cell, a, o]
                for source in (in_a, in_b):
                    if source >= 2:  # reads block source - 2: its first op meets this block's first op
                        total += self.chain[cell, a, ops[2 * (source - 2)]]
        return total

    def madds(self, genome: np.ndarray) -> float:
        key = self.space.key(genome)
        if key not in _MADDS:
            from nsga_lightning.nn import build_network, count_madds

            network = build_network("micro", self.space.decode(genome), init_channels=4, layers=3)
            _MADDS[key] = float(count_madds(network))
        return _MADDS[key]


class LandscapeEvaluator:
    """An in-process evaluator of the landscape, in candidate order."""

    def __init__(self, landscape: Landscape) -> None:
        self.landscape = landscape

    def fingerprint(self) -> dict:
        return {"kind": "search-quality landscape", "version": 1}

    def evaluate(self, candidates):
        from nsga_lightning.search.core.evaluator import safe_evaluate

        for candidate in candidates:
            genome = np.asarray(candidate.genome)
            yield safe_evaluate(lambda c, g=genome: {"error": self.landscape.error(g),
                                                     "madds": self.landscape.madds(g)}, candidate)


def bounds(landscape: Landscape) -> tuple[np.ndarray, np.ndarray]:
    """Normalisation (min, max) of both objectives over 2000 fixed random genomes."""
    genomes = landscape.space.sample(np.random.default_rng(999), 2000)
    F = np.array([[landscape.error(g), landscape.madds(g)] for g in genomes])
    return F.min(axis=0), F.max(axis=0)


def hypervolume(F: np.ndarray, low: np.ndarray, high: np.ndarray) -> float:
    from pymoo.indicators.hv import HV

    normalised = (F - low) / (high - low)
    return float(HV(ref_point=np.full(2, 1.1))(normalised))


def run_variant(args: tuple[str, int, tuple]) -> tuple[str, int, list[float], float]:
    """Hypervolume at each budget of one variant and seed; and its wall time."""
    import torch

    from nsga_lightning.search import SearchRunner

    torch.set_num_threads(1)
    name, seed, (low, high) = args
    landscape = Landscape()
    start = time.perf_counter()
    if VARIANTS[name] is None:  # random search: uniform, no duplicate key
        from nsga_lightning.search.evolution.operators import NSGANetOperators

        pop = NSGANetOperators(landscape.space, 2).sample(BUDGETS[-1], np.random.default_rng(seed))
        F = np.array([[landscape.error(x), landscape.madds(x)] for x in pop.get("X")])
    else:
        with tempfile.TemporaryDirectory() as folder:
            with SearchRunner(landscape.space, LandscapeEvaluator(landscape), Path(folder), pop_size=POP,
                              n_offspring=OFFSPRING, n_gens=GENS, seed=seed, objectives=("error", "madds"),
                              **VARIANTS[name]) as runner:
                runner.run()
                rows = sorted(runner.archive.rows("ok"), key=lambda r: r.generation)  # generation order
            F = np.array([[r.objectives["error"], r.objectives["madds"]] for r in rows])
    return name, seed, [hypervolume(F[:budget], low, high) for budget in BUDGETS], time.perf_counter() - start


SURROGATE_VARIANTS = {
    "NSGA-II (published code)": {},
    **{f"surrogate {model}": {"surrogate": {"model": model}} for model in ("rbf", "gp", "trees", "auto")},
}
CHECKS = tuple(range(10, BUDGETS[-1] + 1, 10))


def landscape_complexity(landscape: Landscape):
    """The landscape's MAdds of candidates without building networks (what the surrogate's inner search uses)."""
    from nsga_lightning.nn import count_complexity

    def complexity(candidates):
        return [{"madds": float(count_complexity("micro", c.genotype, init_channels=4, layers=3).madds)}
                for c in candidates]

    return complexity


def run_surrogate_variant(args: tuple[str, int, tuple]) -> tuple[str, int, list[float], float]:
    """Hypervolume after every 10 evaluations (generation order) of one variant and seed; and its wall time."""
    import torch

    from nsga_lightning.search import SearchRunner
    from nsga_lightning.search.surrogate.settings import make_surrogate

    torch.set_num_threads(1)
    name, seed, (low, high) = args
    landscape = Landscape()
    options = dict(SURROGATE_VARIANTS[name])
    if "surrogate" in options:
        options["surrogate"] = make_surrogate(**options["surrogate"])
        options["complexity"] = landscape_complexity(landscape)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder, SearchRunner(
            landscape.space, LandscapeEvaluator(landscape), Path(folder), pop_size=POP, n_offspring=OFFSPRING,
            n_gens=GENS, seed=seed, objectives=("error", "madds"), **options) as runner:
        runner.run()
        rows = sorted(runner.archive.rows("ok"), key=lambda r: r.generation)  # generation order
    F = np.array([[r.objectives["error"], r.objectives["madds"]] for r in rows])
    return name, seed, [hypervolume(F[:n], low, high) for n in CHECKS], time.perf_counter() - start


def main_surrogate(seeds: int, workers: int, models: list[str]) -> None:
    start = time.perf_counter()
    unknown = [m for m in models if f"surrogate {m}" not in SURROGATE_VARIANTS]
    if unknown:
        raise SystemExit(f"--models: unknown {unknown}; from rbf, gp, trees, auto")
    names = ["NSGA-II (published code)", *(f"surrogate {m}" for m in models)]
    limits = bounds(Landscape())
    jobs = [(name, seed, limits) for seed in range(seeds) for name in names]
    results = []
    with ProcessPoolExecutor(workers) as pool:
        for result in pool.map(run_surrogate_variant, jobs):  # each as it completes, in job order
            name, seed, values, wall = result
            print(f"  {name:26s} seed {seed:2d}: HV@100 {values[CHECKS.index(100)]:.4f} HV@300 {values[-1]:.4f} "
                  f"({wall:.0f} s)", flush=True)
            results.append(result)
    hv = {(name, seed): values for name, seed, values, _ in results}
    wall = {name: statistics.median(w for n, _, _, w in results if n == name) for name in names}
    target = statistics.median(hv[("NSGA-II (published code)", s)][-1] for s in range(seeds))
    print(f"{seeds} seeds, pop {POP}, {OFFSPRING} children per generation, random start; target = NSGA-II's median "
          f"HV at 300 evaluations = {target:.4f}; {time.perf_counter() - start:.0f} s")
    print(f"{'variant':26s} {'evals to target':>16s} {'reached':>8s} {'HV@100':>8s} {'HV@150':>8s} {'HV@300':>8s} "
          f"{'wall s':>7s}")
    needed = {}
    for name in names:
        per_seed = [next((n for n, v in zip(CHECKS, hv[(name, s)]) if v >= target), None) for s in range(seeds)]
        reached = [n for n in per_seed if n is not None]
        # a seed that never reaches the target counts as beyond the budget in the median
        ranked = sorted(n if n is not None else math.inf for n in per_seed)
        needed[name] = statistics.median(ranked)
        shown = f"{needed[name]:.0f}" if math.isfinite(needed[name]) else ">300"
        at = {b: statistics.median(hv[(name, s)][CHECKS.index(b)] for s in range(seeds)) for b in (100, 150, 300)}
        print(f"{name:26s} {shown:>16s} {len(reached):>5d}/{seeds} {at[100]:8.4f} {at[150]:8.4f} {at[300]:8.4f} "
              f"{wall[name]:7.1f}")
    best = min((n for n in names if n.startswith("surrogate")), key=lambda n: needed[n])
    # NSGA-II's median hypervolume at 300 evaluations is the target, so NSGA-II needs 300 by definition (half its
    # seeds reach it by then; the median over seeds of "first reached" is then undefined, shown as >300 above)
    print(f"\nbest surrogate: {best}; nsga_evals_over_surrogate_evals_to_target (300 / {needed[best]:.0f})="
          f"{BUDGETS[-1] / needed[best]:.2f}")


# the published operators as the published code had them; the surrogate variants as first measured (rbf, fitted from
# generation 1 on the 6 architectures of generation 0: the quickstart trains 15, below the default initial design)
PUBLISHED = {"initialization": "random", "genes": "ordinal", "surrogate": {"model": "none"}}
QUICK_SURROGATE = {"model": "rbf", "min_trained": 0}
REAL_VARIANTS = {"published": PUBLISHED,
                 "paper": {"initialization": "prior", "crossover": "homogeneous", "exploitation_gens": 1,
                           "surrogate": {"model": "none"}},
                 "+prior": {**PUBLISHED, "initialization": "prior"},
                 "+homogeneous": {**PUBLISHED, "crossover": "homogeneous"},
                 "+BOA": {**PUBLISHED, "exploitation_gens": 1},
                 "+surrogate": {"initialization": "random", "genes": "ordinal", "surrogate": QUICK_SURROGATE},
                 "+prior+surrogate": {"initialization": "prior", "genes": "ordinal", "surrogate": QUICK_SURROGATE},
                 "default": {},
                 "default+surrogate6": {"surrogate": {"model": "gp", "min_trained": 6}}}


def run_real(args: tuple[str, int, str]) -> tuple[str, int, np.ndarray, float, list[float]]:
    """One quickstart search of a variant and seed: its archive's objectives, its wall time and, with the
    surrogate, per generation its driver seconds over the seconds that generation's children trained."""
    import yaml

    from nsga_lightning.cli.presets import preset_path
    from nsga_lightning.search.build import build_search

    name, seed, folder = args
    config = yaml.safe_load(preset_path("quickstart").read_text())
    config["search"].update(seed=seed, run_dir=f"{folder}/{name}-{seed}", **REAL_VARIANTS[name])
    config["progress_bar"] = False
    start = time.perf_counter()
    with build_search(config, callbacks=[]) as runner:
        runner.run()
        rows = runner.archive.rows("ok")
        F = np.array([[r.objectives["error"], r.objectives["madds"]] for r in rows])
        shares = []
        for generation in sorted({p.generation for p in runner.archive.predictions()}):
            surrogate = runner.archive.predictions(generation)[0].seconds
            training = sum(r.seconds for r in rows if r.generation == generation)
            shares.append(surrogate / training)
    return name, seed, F, time.perf_counter() - start, shares


def main_real(workers: int, names: list[str]) -> None:
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder, ProcessPoolExecutor(workers) as pool:
        results = list(pool.map(run_real, [(n, s, folder) for s in range(3) for n in names]))
    everything = np.vstack([F for _, _, F, _, _ in results])
    low, high = everything.min(axis=0), everything.max(axis=0)
    print(f"quickstart searches (15 architectures each, digits, 3 epochs), seeds 0-2; "
          f"{time.perf_counter() - start:.0f} s")
    print(f"{'variant':16s} {'HV per seed':>28s} {'median':>8s} {'best error % per seed':>17s} {'wall s':>8s}")
    medians = {}
    for name in names:
        mine = [(seed, F, wall) for n, seed, F, wall, _ in results if n == name]
        values = [hypervolume(F, low, high) for _, F, _ in mine]
        medians[name] = statistics.median(values)
        best = " ".join(f"{F[:, 0].min():.2f}" for _, F, _ in mine)
        print(f"{name:16s} {' '.join(f'{v:.4f}' for v in values):>28s} {medians[name]:8.4f} {best:>17s} "
              f"{statistics.median(w for *_, w in mine):8.0f}")
        for seed, F, _ in mine:
            front = F[[not any((o <= f).all() and (o < f).any() for o in F) for f in F]]
            points = ", ".join(f"{e:.2f}% at {m / 1e6:.1f}M" for e, m in sorted(front.tolist()))
            print(f"    seed {seed}: front {points}")
        shares = [s for n, _, _, _, per in results if n == name for s in per]
        if shares:
            print(f"    surrogate driver seconds / that generation's training seconds: median "
                  f"{statistics.median(shares):.1%}, max {max(shares):.1%} ({len(shares)} generations)")
    for name in names[1:]:
        print(f"{name}_over_published_median_hv_real={medians[name] / medians['published']:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--real", action="store_true", help="quickstart-size searches on the digits instead")
    parser.add_argument("--surrogate", action="store_true", help="NSGA-II vs the surrogate-assisted search")
    parser.add_argument("--models", default="rbf,gp,trees,auto", help="with --surrogate: the surrogate models")
    parser.add_argument("--real-variants", default="published,paper",
                        help=f"with --real: comma-separated, 'published' first; from {', '.join(REAL_VARIANTS)}")
    config = parser.parse_args()
    if config.real:
        import logging

        logging.disable(logging.WARNING)
        names = config.real_variants.split(",")
        unknown = [n for n in names if n not in REAL_VARIANTS]
        if unknown or names[0] != "published":
            parser.error(f"--real-variants: 'published' first, then any of {', '.join(REAL_VARIANTS)}; got {names}")
        main_real(config.workers, names)
        return
    import logging

    logging.disable(logging.WARNING)
    if config.surrogate:
        main_surrogate(config.seeds, config.workers, config.models.split(","))
        return
    start = time.perf_counter()
    limits = bounds(Landscape())
    jobs = [(name, seed, limits) for seed in range(config.seeds) for name in VARIANTS]
    with ProcessPoolExecutor(config.workers) as pool:
        results = list(pool.map(run_variant, jobs))
    hv = {(name, seed): values for name, seed, values, _ in results}
    print(f"{config.seeds} seeds, pop {POP}, {OFFSPRING} children per generation, budgets {BUDGETS}; "
          f"landscape: real MAdds x seeded interaction table (micro space); {time.perf_counter() - start:.0f} s")
    for b, budget in enumerate(BUDGETS):
        print(f"\n{budget} evaluations")
        print(f"{'variant':28s} {'median HV':>10s} {'win vs random':>14s} {'ratio to random':>16s}")
        for name in VARIANTS:
            values = [hv[(name, s)][b] for s in range(config.seeds)]
            random = [hv[("random search", s)][b] for s in range(config.seeds)]
            wins = sum(v > r for v, r in zip(values, random)) / config.seeds
            ratio = statistics.median(v / r for v, r in zip(values, random))
            print(f"{name:28s} {statistics.median(values):10.4f} {wins:13.0%} {ratio:16.3f}")
    nsga = [hv[("NSGA-II (published code)", s)][1] for s in range(config.seeds)]
    paper = [hv[("paper (all three)", s)][1] for s in range(config.seeds)]
    print(f"\npaper_over_published_median_ratio_300={statistics.median(p / n for p, n in zip(paper, nsga)):.3f}")


if __name__ == "__main__":
    main()
