"""Search quality on real landscapes: the published tabular benchmark NAS-Bench-Graph, every architecture of which
was trained, searched as a user would (``build_search(config, space=..., evaluator=...)``), side by side in one run.

For each dataset, seed and variant one search of 300 evaluations (pop 20, then generations of 10 children: 29
generations) runs through the real ``SearchRunner``; its first 110 evaluations (pop 20 + 9 generations: nothing in
these variants depends on ``n_gens``, so they are exactly a 110-evaluation run) give the 110 figure. Objectives:
validation error (%) and measured latency (ms); ``--objectives error,params`` for a parameter run.

Measured: the hypervolume of the front found (every architecture evaluated up to the budget) divided by the
hypervolume of the table's true front (computed from the whole table), with a fixed reference point per dataset:
the 75th percentile of each objective over the whole table (printed). Per variant and budget: the median and the
worst seed, and the seeds that beat random search (the same seed's random search, strictly larger hypervolume).

Variants:

* ``random``: random search over *distinct architectures* (uniform over the table's keys, without replacement):
  the honest baseline at the same budget;
* ``published``: the published NSGA-Net operators (random start, two-point crossover, polynomial mutation on
  every gene: ``genes: ordinal``, no surrogate);
* ``no-surrogate``: the defaults with ``search.surrogate.model: none`` (NSGA-II with the space's categories);
* ``default``: what a config that sets nothing gets (the default surrogate: ``gp``, initial design 20);
* ``surrogate <model>``: the defaults with ``search.surrogate.model`` named (rbf, gp, trees, mlp, auto, ensemble;
  ``gp`` is the default's model: the same searches as ``default``).

Datasets: cora, citeseer, pubmed, photo and proteins are the ones settings may be tuned on; arxiv, computers, cs
and physics are reported separately as untuned (``--datasets`` picks). ``--proxy`` adds the proxy landscape of
``benchmarks/search_quality.py`` as one row (its hypervolume is over normalised objectives, not a share of a true
front, so only its wins against random search compare).

Usage: ``nice -n 10 python benchmarks/search_quality_tables.py [--seeds 10] [--first-seed 0] [--workers 2]
[--datasets tuned|untuned|all|a,b] [--variants random,published,default,rbf,gp,trees,mlp,auto] [--proxy]
[--out FILE.jsonl]``: every search's result is appended to ``--out`` as it finishes (run again with the same
``--out``, it skips what is there); ``--first-seed 10`` runs held-out seeds for a choice made on seeds 0-9;
``--summarise FILE.jsonl [...]`` prints the tables of saved results (several files: later ones replace earlier
results of the same dataset, variant and seed); ``--noise`` prints how much of each table's top is measurement noise
and how much of the true front's hypervolume rests on it (seconds); ``search_ceiling.py`` what a model could reach
at all. Needs ``pip install -e ".[benchmarks]"``.
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # one BLAS thread per search: two
    os.environ.setdefault(_name, "1")  # searches at once on 2 cores (threads spinning on shared cores cost 3x)

import argparse
import json
import logging
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

POP, OFFSPRING, GENS = 20, 10, 29
BUDGETS = (110, 300)
TUNED = ("cora", "citeseer", "pubmed", "photo", "proteins")
UNTUNED = ("arxiv", "computers", "cs", "physics")
MODELS = ("rbf", "gp", "trees", "mlp", "auto", "ensemble")
VARIANTS: dict[str, dict | None] = {
    "random": None,
    "published": {"initialization": "random", "genes": "ordinal", "surrogate": {"model": "none"}},
    "no-surrogate": {"surrogate": {"model": "none"}},
    "default": {},
    **{model: {"surrogate": {"model": model}} for model in MODELS},
}
LABELS = {"random": "random (distinct archs)", "published": "published operators", "no-surrogate": "defaults, no surr.",
          "default": "defaults", **{m: f"surrogate {m}" for m in MODELS}}


def hv2(points: np.ndarray, reference: np.ndarray) -> float:
    """Exact 2-D hypervolume of ``points`` (minimised) up to ``reference``."""
    from nsga_lightning.search.surrogate.selection import hypervolume

    return hypervolume(np.asarray(points, dtype=float).reshape(-1, 2), reference)


def landscape(dataset: str, objectives: tuple[str, str]) -> tuple[np.ndarray, float]:
    """The fixed reference point (75th percentile of each objective over the table) and the true front's HV."""
    from nsga_lightning.benchmarks import load_table

    F = load_table(dataset).objectives(objectives)
    reference = np.percentile(F, 75, axis=0)
    return reference, hv2(F, reference)


def noise(datasets: list[str], objectives: tuple[str, str]) -> None:
    """How much of each table's top is measurement noise, and what the true front's hypervolume owes to it.

    Per dataset: Kendall tau between validation and test error over the whole table and among the architectures best
    by validation error (how far the table's ranking at the top is a fact about the architectures, not about one
    training run), how many architectures lie within 0.5 points of the best validation error, and the share of the
    true front's hypervolume left when the table's best 0.1% / 1% by validation error are removed (the most a search
    reaches if it never finds one of them)."""
    from nsga_lightning.benchmarks import load_table
    from nsga_lightning.search.surrogate.models import kendall_tau

    print("\n=== noise at the top of each table ===")
    print(f"{'dataset':<10} {'tau(valid, test): all':>22} {'best 500':>9} {'best 100':>9} {'within 0.5 of best':>19} "
          f"{'HV share without best 0.1%':>27} {'without best 1%':>16}")
    for d in datasets:
        table = load_table(d)
        order = np.argsort(table.error, kind="stable")
        taus = [kendall_tau(table.error[i], table.test_error[i]) for i in (order, order[:500], order[:100])]
        within = int(np.sum(table.error <= table.error.min() + 0.5))
        reference, true_hv = landscape(d, objectives)
        F = table.objectives(objectives)
        shares = [hv2(F[order[max(1, int(q * len(F))):]], reference) / true_hv for q in (0.001, 0.01)]
        print(f"{d:<10} {taus[0]:>22.3f} {taus[1]:>9.3f} {taus[2]:>9.3f} {within:>19d} {shares[0]:>27.3f} "
              f"{shares[1]:>16.3f}")


def generations(evaluations: int) -> int:
    """Generations (generation 0 included) of a search of ``evaluations``: pop 20, then generations of 10."""
    if evaluations < POP or (evaluations - POP) % OFFSPRING:
        raise SystemExit(f"--evaluations: {POP} plus a multiple of {OFFSPRING}, got {evaluations}")
    return 1 + (evaluations - POP) // OFFSPRING


def run_one(job: tuple) -> dict:
    """One search: its HV share of the true front at each budget up to ``evaluations``, its wall time and its
    failed evaluations."""
    from nsga_lightning.benchmarks import NASBenchGraphEvaluator, NASBenchGraphSpace, load_table
    from nsga_lightning.search.build import build_search

    logging.disable(logging.WARNING)
    dataset, variant, seed, objectives, evaluations, settings = job
    VARIANTS[variant] = settings  # a variant of --define reaches the worker process with its job
    reference, true_hv = landscape(dataset, objectives)
    table = load_table(dataset)
    start = time.perf_counter()
    failed = 0
    if VARIANTS[variant] is None:  # uniform over the table's architectures, no architecture twice; the draw of the
        # largest budget, so that a seed's first 110 are the same for every budget
        rows = np.random.default_rng(seed).choice(len(table.keys), size=BUDGETS[-1], replace=False)[:evaluations]
        F = table.objectives(objectives)[rows]
    else:
        config = {"search": {"pop_size": POP, "n_offspring": OFFSPRING, "n_gens": generations(evaluations),
                             "seed": seed, "objectives": list(objectives), **VARIANTS[variant]}, "progress_bar": False}
        with tempfile.TemporaryDirectory() as folder:
            config["search"]["run_dir"] = str(Path(folder) / "run")
            with build_search(config, callbacks=[], space=NASBenchGraphSpace(dataset),
                              evaluator=NASBenchGraphEvaluator()) as runner:
                runner.run()
                every = sorted(runner.archive.rows(), key=lambda r: r.generation)  # generation order
        failed = sum(1 for r in every if not r.is_ok)
        # a failed evaluation (the skip-only network) spends budget and adds no point
        F = np.array([[r.objectives[o] for o in objectives] if r.is_ok else [np.inf, np.inf] for r in every])
    shares = {budget: hv2(F[:budget][np.isfinite(F[:budget]).all(axis=1)], reference) / true_hv
              for budget in BUDGETS if budget <= evaluations}
    return {"dataset": dataset, "variant": variant, "seed": seed, "objectives": list(objectives), "hv": shares,
            "seconds": time.perf_counter() - start, "failed": failed}


def run_proxy(job: tuple) -> dict:
    """The proxy landscape of ``search_quality.py`` (normalised HV at each budget)."""
    sys.path.insert(0, str(Path(__file__).parent))
    import search_quality as proxy

    from nsga_lightning.search.build import build_search

    logging.disable(logging.WARNING)
    variant, seed, evaluations, settings = job
    VARIANTS[variant] = settings
    world = proxy.Landscape()
    low, high = proxy.bounds(world)
    start = time.perf_counter()
    if VARIANTS[variant] is None:
        from nsga_lightning.search.evolution.operators import NSGANetOperators

        pop = NSGANetOperators(world.space, 2).sample(evaluations, np.random.default_rng(seed))
        F = np.array([[world.error(x), world.madds(x)] for x in pop.get("X")])
    else:
        config = {"search": {"pop_size": POP, "n_offspring": OFFSPRING, "n_gens": generations(evaluations),
                             "seed": seed, "objectives": ["error", "madds"], **VARIANTS[variant]},
                  "progress_bar": False}
        with tempfile.TemporaryDirectory() as folder:
            config["search"]["run_dir"] = str(Path(folder) / "run")
            with build_search(config, callbacks=[], space=world.space, evaluator=ProxyEvaluator(world)) as runner:
                runner.run()
                rows = sorted(runner.archive.rows("ok"), key=lambda r: r.generation)
        F = np.array([[r.objectives["error"], r.objectives["madds"]] for r in rows])
    shares = {budget: proxy.hypervolume(F[:budget], low, high) for budget in BUDGETS if budget <= evaluations}
    return {"dataset": "proxy", "variant": variant, "seed": seed, "objectives": ["error", "madds"], "hv": shares,
            "seconds": time.perf_counter() - start, "failed": 0}


class ProxyEvaluator:
    """The proxy landscape with the complexity count the surrogate needs (as ``search_quality.py`` gives it)."""

    objective_names = ("error", "madds")

    def __init__(self, world: object) -> None:
        sys.path.insert(0, str(Path(__file__).parent))
        import search_quality as proxy

        self.inner = proxy.LandscapeEvaluator(world)
        self.count = proxy.landscape_complexity(world)

    def fingerprint(self) -> dict:
        return self.inner.fingerprint()

    def evaluate(self, candidates):
        return self.inner.evaluate(candidates)

    def complexity(self, candidates):
        return self.count(candidates)


def _cell(values: list[float], random: list[float] | None) -> str:
    if not values:
        return "–"
    wins = "" if random is None else f" {sum(v > r for v, r in zip(values, random))}/{len(values)}"
    return f"{statistics.median(values):.3f} ({min(values):.3f}){wins}"


MARKDOWN = False  # --markdown: the tables as Markdown (for the README)


def _row(first: str, cells: list[str]) -> str:
    if MARKDOWN:
        return "| " + " | ".join([first, *cells]) + " |"
    return f"{first:10s} " + " ".join(f"{c:>24s}" for c in cells)


def summarise(results: list[dict], datasets: list[str], variants: list[str], seeds: range) -> None:
    """Per dataset and budget: median, worst seed and wins against random of every variant (over the seeds that
    have both)."""
    hv = {(r["dataset"], r["variant"], r["seed"]): r["hv"] for r in results}
    for budget in BUDGETS:
        print(f"\n{budget} evaluations: HV of the found front / HV of the true front, median (worst seed), seeds "
              "beating random")
        print(_row("dataset", [LABELS[v] for v in variants]))
        if MARKDOWN:
            print("| " + " | ".join(["---"] * (len(variants) + 1)) + " |")
        for d in datasets:
            cells = []
            for v in variants:
                done = [s for s in seeds if budget in hv.get((d, v, s), {})
                        and budget in hv.get((d, "random", s), {})]
                values = [hv[(d, v, s)][budget] for s in done]
                cells.append(_cell(values, None if v == "random" else [hv[(d, "random", s)][budget] for s in done]))
            print(_row(d, cells))
    print("\nmedian wall seconds per search (failed evaluations in all seeds: the skip-only network)")
    for d in datasets:
        cells = []
        for v in variants:
            mine = [r for r in results if (r["dataset"], r["variant"]) == (d, v) and r["seed"] in seeds]
            cells.append(f"{statistics.median(r['seconds'] for r in mine):.1f} ({sum(r['failed'] for r in mine)} f)"
                         if mine else "–")
        print(_row(d, cells))


def load(names: list[str]) -> list[dict]:
    """Saved results (a later file's budgets replace an earlier file's of the same dataset, variant and seed)."""
    saved: dict[tuple, dict] = {}
    for name in names:
        for line in Path(name).read_text().splitlines():
            r = json.loads(line)
            if isinstance(r, list):  # the first format: dataset, variant, seed, [hv at 110, 300], seconds, failed
                r = {"dataset": r[0], "variant": r[1], "seed": r[2], "hv": dict(zip(BUDGETS, r[3])),
                     "seconds": r[4], "failed": r[5]}
            r["hv"] = {int(b): v for b, v in r["hv"].items()}
            key = (r["dataset"], r["variant"], r["seed"])
            if key in saved:  # budgets of another file's run of the same search (the same figures where both have it)
                r["hv"] = {**saved[key]["hv"], **r["hv"]}
            saved[key] = r
    return list(saved.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0,
                        help="seeds first-seed .. first-seed + seeds - 1 (e.g. held-out seeds for a setting chosen "
                             "on seeds 0-9)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--datasets", default="all", help="tuned, untuned, all, or a comma-separated list")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--objectives", default="error,latency")
    parser.add_argument("--evaluations", type=int, default=BUDGETS[-1], help="each search's budget (110 or 300)")
    parser.add_argument("--proxy", action="store_true", help="the proxy landscape as one row")
    parser.add_argument("--out", help="append each search's result to this JSON-lines file")
    parser.add_argument("--summarise", nargs="+", help="print the tables of these result files, run nothing")
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    parser.add_argument("--noise", action="store_true", help="print how much of each table's top is noise, run nothing")
    parser.add_argument("--define", action="append", default=[], metavar="NAME=JSON",
                        help='another variant: search settings over the defaults, e.g. \'gp30={"surrogate": '
                             '{"model": "gp", "mated_share": 0.3}}\' (then name it in --variants)')
    args = parser.parse_args()
    global MARKDOWN
    MARKDOWN = args.markdown
    for definition in args.define:
        name, _, settings = definition.partition("=")
        VARIANTS[name] = json.loads(settings)
        LABELS[name] = name
    groups = {"tuned": list(TUNED), "untuned": list(UNTUNED), "all": [*TUNED, *UNTUNED], "none": []}
    datasets = groups.get(args.datasets) if args.datasets in groups else args.datasets.split(",")
    variants = args.variants.split(",")
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    if "random" not in variants:
        variants.insert(0, "random")
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        parser.error(f"--variants: unknown {unknown}; from {', '.join(VARIANTS)}")
    objectives = tuple(args.objectives.split(","))
    if args.noise:
        noise(datasets, objectives)
        return
    if args.summarise:
        results = load(args.summarise)
        report(results, datasets, variants, seeds, args.proxy)
        return
    generations(args.evaluations)
    start = time.perf_counter()
    for d in datasets:
        reference, true_hv = landscape(d, objectives)
        print(f"{d}: reference point {objectives[0]} {reference[0]:.3f}, {objectives[1]} {reference[1]:.4g} (75th "
              f"percentiles of the table); true front HV {true_hv:.4g}")
    done = {(r["dataset"], r["variant"], r["seed"]) for r in load([args.out])} if args.out and Path(args.out).exists() \
        else set()  # a run stopped earlier: what it finished is not run again
    jobs = [(d, v, s, objectives, args.evaluations, VARIANTS[v]) for s in seeds for d in datasets
            for v in variants if (d, v, s) not in done]
    proxy_jobs = [(v, s, args.evaluations, VARIANTS[v]) for s in seeds for v in variants
                  if ("proxy", v, s) not in done] if args.proxy else []
    with ProcessPoolExecutor(args.workers) as pool:
        for result in pool.map(run_one, jobs):
            _saved(result, args.out)
        for result in pool.map(run_proxy, proxy_jobs):
            _saved(result, args.out)
    print(f"\nseeds {seeds.start}-{seeds.stop - 1}, objectives {', '.join(objectives)}, pop {POP} + generations of "
          f"{OFFSPRING}; {time.perf_counter() - start:.0f} s")
    if args.out:
        report(load([args.out]), datasets, variants, seeds, args.proxy)


def _saved(result: dict, out: str | None) -> dict:
    """``result``, appended to the file ``out`` (JSON lines) if given."""
    if out:
        with open(out, "a") as file:
            file.write(json.dumps(result) + "\n")
    return result


def report(results: list[dict], datasets: list[str], variants: list[str], seeds: range, proxy: bool) -> None:
    """The tables: tuning datasets, untuned ones, the proxy row."""
    tuned = [d for d in datasets if d in TUNED]
    untuned = [d for d in datasets if d not in TUNED]
    for title, group in (("tuning datasets", tuned), ("untuned datasets (never used for tuning)", untuned)):
        if group:
            print(f"\n=== {title} ===")
            summarise(results, group, variants, seeds)
    if proxy:
        print("\n=== proxy landscape (search_quality.py: real MAdds x seeded table; normalised HV, not a share of a "
              "true front) ===")
        summarise(results, ["proxy"], variants, seeds)


if __name__ == "__main__":
    main()
