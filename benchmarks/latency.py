"""Latency: the lookup-table prediction against measurement, the measured protocol's repeatability, and what a latency
limit saves on the quickstart, side by side in one run.

1. **Prediction** (per space, CPU, one thread, batch 1): the calibrated per-layer table
   (``nsga_lightning.latency``, measured once into ``--cache``) predicts ``--networks`` seeded random networks of the
   search proxy's options (micro: C=16, 8 cells; macro: C=16, residual; 32x32 images, 10 classes), which are then
   measured twice with the search's protocol (paired with the reference network, thread clock). Printed: Kendall tau
   and median relative error of the prediction against the mean of the two measurements (and tau against the first
   alone), and MAdds' Kendall tau against it.
2. **Repeatability**: a second full pass of the same measurements; Kendall tau and median relative difference between
   the passes, beside the same for a naive protocol (wall clock, median of 15 calls, nothing paired: what
   ``torch.utils.benchmark``'s medians gave before).
3. **Limits on the quickstart** (``--quickstart``): the quickstart search with ``objectives: [error, latency]`` and a
   latency limit at the median predicted latency of random retrain networks: children trained and children kept from
   training by the limit (never trained), the training time that saves (kept children x the mean training time of
   a trained one: an estimate), and every Pareto architecture exported to ONNX (dynamo exporter; logits compared
   with PyTorch's on real images) and measured against the limit.
4. **Noise floor**: beside the two passes' difference, the median gap between neighbours in the measured order and
   the median per-round spread of the paired ratios: where the gap is smaller than the difference, two passes
   cannot agree on the order of neighbours, whatever the protocol's estimate.

``--network retrain`` measures the retrain networks of the shipped search configs
(``configs/search/micro-cifar10.yaml``, ``macro-cifar10.yaml``: micro C=34, 20 cells; macro dense decoder, 128
channels), which is what a search's latency is about by default (``search.latency.network: retrain``); they take
longer.

The machine may be shared: the load (``os.getloadavg``) is printed with the figures. Pin to one core with
``taskset -c 1`` and run under ``nice`` when others work. Last line: ``ratio=<prediction tau / MAdds tau>`` (median
over the spaces).

Usage: ``python benchmarks/latency.py [--networks 50] [--spaces micro,macro] [--quickstart] [--cache DIR]
[--target cpu|cuda|onnxruntime] [--batch-size 1] [--network proxy|retrain]`` (``benchmarks/gpu_checks.sh`` runs the
CUDA path; the naive column then times with synchronisation, the protocol with CUDA events).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from nsga_lightning.latency import LatencyPredictor, LatencyTable, NetworkSpec, Protocol, Target, tau

PROXY = {"micro": (5, {"init_channels": 16, "layers": 8}), "macro": (6, {"init_channels": 16, "decoder": "residual"})}
INPUT = {"num_classes": 10, "image_size": 32, "in_channels": 3, "stem": "cifar"}
CONFIGS = Path(__file__).resolve().parents[1] / "configs"
# the shipped searches whose retrain networks --network retrain measures (what a search's latency is by default)
SEARCH_CONFIGS = {space: CONFIGS / "search" / f"{space}-cifar10.yaml" for space in ("micro", "macro")}


def network_options(space: str, network: str) -> tuple[int, dict]:
    """(genome size, network options) of the proxy or of the shipped search config's retrain network."""
    if network == "proxy":
        return PROXY[space]
    import yaml

    from nsga_lightning.latency.predictor import NETWORK_OPTIONS

    config = yaml.safe_load(SEARCH_CONFIGS[space].read_text())
    size = config["space"].get("n_nodes" if space == "macro" else "n_blocks", PROXY[space][0])
    model = config["retrain"]["model"]  # as the trainer evaluator's `search.latency.network: retrain` reads it
    return size, {k: v for k, v in model.items() if k in NETWORK_OPTIONS and k not in INPUT}


def load() -> str:
    return "/".join(f"{v:.1f}" for v in os.getloadavg())


def naive(network: torch.nn.Module, example: torch.Tensor) -> float:
    """Median of 15 calls after 3 warm-up calls, one thread, nothing paired (milliseconds; CUDA synchronised)."""
    torch.set_num_threads(1)
    times = []
    cuda = example.is_cuda
    with torch.no_grad():
        for i in range(18):
            if cuda:
                torch.cuda.synchronize()
            start = time.perf_counter()
            network(example)
            if cuda:
                torch.cuda.synchronize()
            if i >= 3:
                times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def prediction(space: str, n: int, cache: Path, seed: int, target: Target, network: str = "proxy"
               ) -> dict[str, float]:
    size, options = network_options(space, network)
    spec = NetworkSpec(space, size, {**options, **INPUT})
    protocol = Protocol()
    started = time.perf_counter()
    predictor = LatencyPredictor.build(spec, target, protocol, LatencyTable.cached(target, protocol, cache))
    built = time.perf_counter() - started
    genotypes = spec.genotypes(n, seed=seed)
    networks = [spec.network(g).to(target.device) for g in genotypes]
    predicted = [predictor.predict(g) for g in genotypes]
    madds = [spec.madds(g) for g in genotypes]
    loads = [load()]
    passes, naive_passes = [], []
    example = target.example((3, 32, 32))
    spreads = []
    for _ in range(2):
        found = [predictor.measure(net) for net in networks]
        passes.append([m.ms for m in found])
        spreads += [m.spread for m in found]
        naive_passes.append([naive(net, example) for net in networks])
        loads.append(load())
    first, second = np.array(passes[0]), np.array(passes[1])
    mean = (first + second) / 2
    n1, n2 = np.array(naive_passes[0]), np.array(naive_passes[1])
    ordered = np.sort(mean)
    return {"n": n, "table_s": built, "tau": tau(predicted, mean), "tau_first": tau(predicted, first),
            "rel": float(np.median(np.abs(np.array(predicted) - mean) / mean)), "madds_tau": tau(madds, mean),
            "repeat_tau": tau(first, second), "repeat_rel": float(np.median(np.abs(first - second) / second)),
            "naive_tau": tau(n1, n2), "naive_rel": float(np.median(np.abs(n1 - n2) / n2)),
            "gap": float(np.median(np.diff(ordered) / ordered[:-1])), "spread": float(np.median(spreads)),
            "ms_min": float(first.min()), "ms_max": float(first.max()), "held_out_tau": predictor.calibration.kendall_tau,
            "load": " -> ".join(loads)}


def quickstart(cache: Path, folder: Path) -> None:
    """The quickstart with a latency limit: trained vs kept children, the saving, the exported front."""
    import yaml

    from nsga_lightning.cli import main
    from nsga_lightning.search import Archive
    from nsga_lightning.search.core.limits import within

    config = yaml.safe_load((Path(__file__).resolve().parents[1] / "configs" / "quickstart.yaml").read_text())
    retrain = {k: v for k, v in config["retrain"]["model"].items() if k != "drop_path_prob"}
    spec = NetworkSpec("micro", 5, {**retrain, "num_classes": 10, "image_size": 16, "in_channels": 3, "stem": "cifar",
                                    "se": False, "decoder": "residual", "channels": None})
    target, protocol = Target("cpu", 1, 1), Protocol()
    predictor = LatencyPredictor.build(spec, target, protocol, LatencyTable.cached(target, protocol, cache))
    limit = float(np.median([predictor.predict(g) for g in spec.genotypes(200, seed=1)]))
    config["search"].update(objectives=["error", "latency"], run_dir=str(folder / "run"),
                            constraints={"latency": round(limit, 3)}, latency={"cache_dir": str(cache)})
    config["progress_bar"] = False
    path = folder / "quickstart-latency.yaml"
    path.write_text(yaml.safe_dump(config))
    started = time.perf_counter()
    assert main(["search", "--config", str(path)]) == 0
    wall = time.perf_counter() - started
    with Archive(folder / "run") as archive:
        rows = archive.rows()
        kept = [s for s in archive.screening() if s.score_name == "limits"]
    trained = [r for r in rows if r.is_ok]
    mean_s = statistics.mean(r.seconds for r in trained)
    over = [r for r in rows if r.is_ok and not within(r, {"latency": limit})]
    print(f"\nquickstart with objectives [error, latency], limit latency <= {limit:.3f} ms (median predicted latency "
          f"of random retrain networks; load {load()}):")
    print(f"  trained {len(rows)} children, kept from training by the limit {len(kept)} "
          f"({100 * len(kept) / (len(kept) + len(rows)):.0f}% of the {len(kept) + len(rows)} children the search "
          f"looked at); trained over the limit: {len(over)}")
    print(f"  training saved: {len(kept)} x {mean_s:.1f} s (mean per trained child) = {len(kept) * mean_s:.0f} s, "
          f"against the search's {wall:.0f} s wall time")
    reference = LatencyPredictor.from_snapshot(json.loads((folder / "run" / "latency.json").read_text()))
    print("  exported Pareto architectures (dynamo exporter, logits against PyTorch on 64 real images; measured "
          "torch cpu latency of the retrain network, paired with the reference):")
    for config_path in sorted((folder / "run" / "pareto").glob("*.yaml")):
        out = folder / f"{config_path.stem}.onnx"
        code = main(["export", str(config_path), "-o", str(out)])
        key = config_path.stem
        row = next(r for r in rows if r.key == key)
        measured = reference.measure(row.genotype).ms
        verdict = "meets" if measured <= limit else "MISSES"
        print(f"    {key}: export {'ok' if code == 0 else 'FAILED'}, predicted {row.objectives['latency']:.3f} ms, "
              f"measured {measured:.3f} ms: {verdict} the limit {limit:.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", type=int, default=50, help="random networks per space")
    parser.add_argument("--spaces", default="micro,macro")
    parser.add_argument("--seed", type=int, default=100, help="seed of the networks (not the calibration's 0)")
    parser.add_argument("--cache", type=Path, default=None, help="the lookup tables' folder (default: a temporary one)")
    parser.add_argument("--quickstart", action="store_true", help="also run the quickstart with a latency limit")
    parser.add_argument("--target", default="cpu", choices=["cpu", "cuda", "onnxruntime"])
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--network", default="proxy", choices=["proxy", "retrain"],
                        help="the search proxies, or the retrain networks of the shipped search configs (what a "
                             "search's latency is by default)")
    args = parser.parse_args()
    target = Target(args.target, 1, args.batch_size)
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as temporary:
        cache = args.cache or Path(temporary) / "cache"
        device = torch.cuda.get_device_name() if target.kind == "cuda" else "1 thread"
        print(f"{target.kind} latency ({device}, {target.clock} clock), batch {target.batch_size}, 32x32 images; "
              f"affinity {sorted(os.sched_getaffinity(0))}; load {load()}")
        print(f"networks: {args.network}: " + "; ".join(
            f"{space} {network_options(space, args.network)}" for space in args.spaces.split(",")))
        results = {space: prediction(space, args.networks, cache, args.seed, target, args.network)
                   for space in args.spaces.split(",")}
        print("pred tau, pred rel and MAdds tau: against the mean of the two measured passes (pred tau against the "
              "first pass alone in brackets); held-out tau: the calibration's own 10 held-out networks")
        print(f"{'space':<6} {'networks':>8} {'ms':>13} {'pred tau':>14} {'pred rel':>8} {'MAdds tau':>9} "
              f"{'held-out tau':>12} {'2 passes tau':>12} {'rel diff':>8} {'naive tau':>9} {'naive diff':>10} "
              f"{'table s':>7} {'gap':>5} {'spread':>6}  load")
        for space, r in results.items():
            print(f"{space:<6} {r['n']:>8} {r['ms_min']:>6.2f}-{r['ms_max']:<6.2f} {r['tau']:>6.3f} ({r['tau_first']:.3f}) "
                  f"{100 * r['rel']:>7.1f}% {r['madds_tau']:>9.3f} {r['held_out_tau']:>12.3f} {r['repeat_tau']:>12.3f} "
                  f"{100 * r['repeat_rel']:>7.1f}% {r['naive_tau']:>9.3f} {100 * r['naive_rel']:>9.1f}% "
                  f"{r['table_s']:>7.0f} {100 * r['gap']:>4.2f}% {100 * r['spread']:>5.1f}%  {r['load']}")
        print("gap: the median relative difference between neighbours in the measured order; spread: the median "
              "per-round spread (IQR / median) of a measurement's paired ratios. Two passes can only agree on the "
              "order of neighbours whose gap is above the passes' difference (rel diff).")
        if args.quickstart:
            quickstart(cache, Path(temporary))
    ratio = statistics.median(r["tau"] / r["madds_tau"] for r in results.values())
    print(f"ratio={ratio:.2f} (Kendall tau of the prediction / of MAdds against measured latency, median over "
          f"{', '.join(results)})")


if __name__ == "__main__":
    main()
