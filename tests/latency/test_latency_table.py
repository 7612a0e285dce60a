"""The per-layer lookup table: every layer group a network runs is in the plan, every plan is covered by the space's
keys, the table is measured once and cached, predictions are the calibrated sums of its entries, and a snapshot
predicts exactly as the predictor it came from. Timings are never asserted (a real but tiny protocol runs)."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
import torch
from torch import nn

from nsga_lightning.latency import (
    LatencyPredictor,
    LatencyTable,
    NetworkSpec,
    Protocol,
    Target,
    calibrate,
    fit_affine,
    layer_module,
    network_plan,
    space_keys,
    tau,
)
from nsga_lightning.latency.protocol import measure
from nsga_lightning.nn import build_network
from nsga_lightning.nn.cells import Cell
from nsga_lightning.nn.phases import DensePhase, ResidualPhase
from nsga_lightning.spaces import make_space

TINY = Protocol(warmup_calls=1, warmup_s=0.0, min_repeats=3, max_repeats=3, min_sample_s=0.0)
CASES = [
    ("micro", 5, {"init_channels": 8, "layers": 5, "image_size": 16}),
    ("micro", 3, {"init_channels": 4, "layers": 6, "filter_increment": 2, "se": True, "auxiliary": True}),
    ("micro", 2, {"init_channels": 4, "layers": 3, "image_size": 96, "in_channels": 1}),
    ("macro", 6, {"init_channels": 8}),
    ("macro", 4, {"channels": [8, 16, 16], "decoder": "dense", "image_size": 96, "in_channels": 4}),
    ("macro", 3, {"init_channels": 4, "image_size": 16, "in_channels": 1}),
]


def _genotypes(space: str, size: int, n: int, seed: int = 0) -> list:
    built = make_space(space, n_blocks=size, n_nodes=size)
    return [built.decode(g) for g in built.sample(np.random.default_rng(seed), n)]


def _options(space: str, size: int, options: dict) -> dict:
    return {**options, **({"n_nodes": size} if space == "macro" else {})}


@pytest.mark.parametrize(("space", "size", "options"), CASES)
def test_every_plan_of_the_space_is_in_its_keys(space: str, size: int, options: dict) -> None:
    keys = space_keys(space, size, options)
    used = set()
    for genotype in _genotypes(space, size, 60):
        plan = network_plan(space, genotype, **_options(space, size, options))
        assert set(plan) <= keys, set(plan) - keys
        used |= set(plan)
    assert len(used) > len(keys) / 3  # the keys are what these networks use, not a blanket list


def _called(network: nn.Module) -> Counter:
    """(kind, input channels, input side) of every layer group the network runs in one eval forward."""
    seen: Counter = Counter()
    kinds: list[tuple[nn.Module, str]] = []
    for module in network.modules():
        if isinstance(module, Cell):
            kinds += [(op, "op") for op in module.ops] + [(module.preprocess0, "preprocess"),
                                                           (module.preprocess1, "preprocess")]
            kinds += [(module.se, "se")] if module.se is not None else []
        if isinstance(module, ResidualPhase):
            kinds += [(n, "residual_node") for n in module.nodes.values()]
            kinds += [(f, "residual_fuse") for f in module.fuse.values()] + [(module.out, "residual_output")]
        if isinstance(module, DensePhase):
            kinds += [(n, "dense_node") for n in module.nodes.values()] + [(module.out, "dense_output")]
        if isinstance(module, (ResidualPhase, DensePhase)) and module.entry is not None:
            kinds.append((module.entry, "entry"))
    kinds += [(network.classifier, "classifier"), (network.global_pooling, "pool")]
    kinds += [(network.stem, "stem")] if network.stem is not None else []
    kinds += [(network.pool, "maxpool")] if hasattr(network, "pool") else []

    def hook(kind: str):
        def record(module: nn.Module, inputs: tuple, output: object) -> None:
            x = inputs[0]
            seen[(kind, int(x.shape[1]), int(x.shape[-1]) if x.dim() == 4 else 1)] += 1

        return record

    handles = [module.register_forward_hook(hook(kind)) for module, kind in kinds]
    with torch.no_grad():
        network.eval()(torch.zeros(network.input_shape()))
    for handle in handles:
        handle.remove()
    return seen


def _planned(plan: list) -> Counter:
    """The same triples from a plan (sums and concatenations are no modules)."""
    found: Counter = Counter()
    for key in plan:
        kind, args = key[0], key[1:]
        if kind in ("add", "cat"):
            continue
        if kind == "op":
            found[("op", args[1], args[3])] += 1
        elif kind in ("micro_stem", "macro_stem"):
            found[("stem", args[-3], args[-1])] += 1
        elif kind in ("global_pool", "macro_pool"):
            found[("pool", args[0], args[1])] += 1
        elif kind == "classifier":
            found[("classifier", args[0], 1)] += 1
        elif kind == "residual_fuse":
            found[(kind, args[0] * args[1], args[2])] += 1
        else:
            found[(kind, args[0], args[-1])] += 1
    return found


@pytest.mark.parametrize(("space", "size", "options"), CASES)
def test_the_plan_lists_what_the_built_network_runs(space: str, size: int, options: dict) -> None:
    for genotype in _genotypes(space, size, 4, seed=1):
        arguments = _options(space, size, options)
        network = build_network(space, genotype, **arguments)
        assert _planned(network_plan(space, genotype, **arguments)) == _called(network)


def test_the_plan_refuses_what_the_network_refuses() -> None:
    with pytest.raises(ValueError, match="image_size"):
        network_plan("micro", "NSGANet", image_size=30)
    with pytest.raises(ValueError, match="unknown search space"):
        network_plan("nope", "NSGANet")


def test_every_key_builds_a_module_that_runs_on_its_input() -> None:
    for key in sorted(space_keys("macro", 3, {"init_channels": 4, "decoder": "dense", "image_size": 16}), key=str):
        module, shape = layer_module(key, batch=2)
        with torch.no_grad():
            module(torch.zeros((2, *shape)))
    with pytest.raises(ValueError, match="unknown layer key"):
        layer_module(("nope", 1))


def test_group_weights_recover_how_each_group_scales_inside_a_network() -> None:
    rng = np.random.default_rng(0)
    sums = [{"sep_conv_3x3": rng.uniform(1, 5), "max_pool_3x3": rng.uniform(0, 1), "cat": rng.uniform(0, 0.2)}
            for _ in range(30)]
    true = {"sep_conv_3x3": 0.8, "max_pool_3x3": 1.6, "cat": 1.0}
    measured = [0.5 + sum(true[g] * v for g, v in s.items()) for s in sums]
    found = calibrate(sums[:20], measured[:20], sums[20:], measured[20:], ridge=0.0)
    assert found.weights == pytest.approx(true, abs=1e-6) and found.offset == pytest.approx(0.5)
    assert found.kendall_tau == pytest.approx(1.0) and found.max_relative_error == pytest.approx(0.0, abs=1e-9)
    shrunk = calibrate(sums[:20], measured[:20], sums[20:], measured[20:], ridge=1e6)
    assert all(w == pytest.approx(shrunk.scale, rel=1e-3) for w in shrunk.weights.values())  # the common scale
    assert found.apply({"unseen": 2.0}) == pytest.approx(found.offset + 2.0 * found.scale)


def test_affine_calibration_and_rank_correlation() -> None:
    assert fit_affine([1, 2, 3, 4], [3, 5, 7, 9]) == pytest.approx((2.0, 1.0))
    assert fit_affine([1, 2, 3], [5, 4, 3]) == (1.0, pytest.approx(2.0))  # no positive slope: offset only
    assert fit_affine([2, 2], [3, 5]) == (1.0, 2.0)
    found = calibrate([1, 2, 3], [3, 5, 7], [4, 5, 6], [9.0, 10.0, 14.0], held_madds=[3, 2, 1])
    assert found.predicted == pytest.approx((9.0, 11.0, 13.0))
    assert found.kendall_tau == pytest.approx(1.0) and found.madds_kendall_tau == pytest.approx(-1.0)
    assert found.median_relative_error == pytest.approx(1 / 14) and found.max_relative_error == pytest.approx(0.1)
    assert found.apply(10) == pytest.approx(21.0)
    assert tau([1, 2, 3], [1, 3, 2]) == pytest.approx(1 / 3)
    assert np.isnan(tau([1], [1])) and np.isnan(tau([1, 1], [1, 2]))


class CountingMeasure:
    """The real protocol, counting what it is asked to measure."""

    def __init__(self) -> None:
        self.items = 0

    def __call__(self, runners, protocol, **kwargs):
        self.items += len(runners)
        return measure(runners, protocol, **kwargs)


def test_the_table_is_measured_once_per_target_and_predictions_are_its_calibrated_sums(tmp_path) -> None:
    spec = NetworkSpec("micro", 2, {"init_channels": 4, "layers": 3, "image_size": 8, "num_classes": 3})
    target = Target("cpu", 1, 1)
    counting = CountingMeasure()
    table = LatencyTable.cached(target, TINY, tmp_path)
    predictor = LatencyPredictor.build(spec, target, TINY, table, fit=3, held_out=2, measurer=counting)
    first = counting.items
    assert first > len(spec.layer_keys())  # every key (with the reference of each chunk) and the networks
    stored = json.loads(table.path.read_text())
    assert set(stored["entries"]) >= {json.dumps(k, separators=(",", ":")) for k in spec.layer_keys()}
    again = LatencyPredictor.build(spec, target, TINY, LatencyTable.cached(target, TINY, tmp_path), fit=3,
                                   held_out=2, measurer=counting)
    assert counting.items == first  # the cached table and calibration: nothing measured again
    calibration = predictor.calibration
    for genotype in spec.genotypes(4, seed=7):
        plan = spec.plan(genotype)
        total = sum(predictor.table.ms(k) for k in plan)
        assert predictor.table_sum(genotype) == pytest.approx(total)
        weighted = sum(calibration.weights.get(k[1] if k[0] == "op" else k[0], calibration.scale) * predictor.table.ms(k)
                       for k in plan)
        assert predictor.predict(genotype) == pytest.approx(weighted + calibration.offset)
        assert again.predict(genotype) == predictor.predict(genotype)


def test_a_snapshot_predicts_as_its_predictor_and_holds_the_spec_keys_only(tmp_path) -> None:
    spec = NetworkSpec("macro", 3, {"init_channels": 4, "image_size": 8, "num_classes": 3})
    target = Target("cpu", 1, 1)
    table = LatencyTable.cached(target, TINY, tmp_path)
    table.entries['["op","unrelated",1,1,1]'] = {"ms": 1.0, "spread": 0.0, "repeats": 1}
    predictor = LatencyPredictor.build(spec, target, TINY, table, fit=2, held_out=2)
    snapshot = json.loads(json.dumps(predictor.snapshot()))
    assert len(snapshot["entries"]) == len(spec.layer_keys())
    copy = LatencyPredictor.from_snapshot(snapshot)
    assert copy.digest() == predictor.digest()
    for genotype in spec.genotypes(5, seed=3):
        assert copy.predict(genotype) == predictor.predict(genotype)
    measured = copy.measure(spec.genotypes(1, seed=9)[0], measurer=lambda r, p, **k: measure(r, TINY, **k))
    assert measured.ms > 0 and measured.ratio is not None


def test_the_table_file_keeps_both_writers_entries(tmp_path) -> None:
    target = Target("cpu", 1, 1)
    one, two = LatencyTable.cached(target, TINY, tmp_path), LatencyTable.cached(target, TINY, tmp_path)
    one.entries["a"] = {"ms": 1.0, "spread": 0, "repeats": 1}
    two.entries["a"] = {"ms": 9.0, "spread": 0, "repeats": 1}
    two.entries["b"] = {"ms": 2.0, "spread": 0, "repeats": 1}
    one.save()
    two.save()
    merged = LatencyTable.cached(target, TINY, tmp_path).entries
    assert merged["b"]["ms"] == 2.0 and merged["a"]["ms"] in (1.0, 9.0) and len(list(tmp_path.iterdir())) == 1


@pytest.mark.parametrize(("kwargs", "text"), [
    ({"kind": "tpu"}, "unknown latency target 'tpu'; allowed: cpu, cuda, onnxruntime"),
    ({"threads": 0}, "threads must be an integer >= 1"),
    ({"threads": 2, "clock": "thread"}, "clock thread times one thread"),
    ({"clock": "cycles"}, "unknown latency clock"),
])
def test_bad_targets_are_one_line(kwargs: dict, text: str) -> None:
    with pytest.raises(ValueError, match=text):
        Target(**kwargs)
    assert Target().clock == "thread" and Target(threads=2).clock == "wall" and Target("cuda").clock == "wall"


@pytest.mark.parametrize("kind", ["cpu", "onnxruntime"])
def test_every_cpu_target_runs_a_layer_group_and_names_what_its_measurements_hold_for(kind: str) -> None:
    target = Target(kind, 1, 2)
    module, shape = layer_module(("op", "sep_conv_3x3", 4, 1, 8), batch=2)
    seconds = target.runner(module, target.example(shape))(3)
    assert seconds > 0
    identity = target.identity()
    assert identity["kind"] == kind and identity["batch_size"] == 2 and identity["clock"] == "thread"
    assert ("onnxruntime" in identity) == (kind == "onnxruntime")


def test_the_cuda_target_without_a_device_is_one_line() -> None:
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    with pytest.raises(ValueError, match="latency target cuda needs a CUDA device"):
        Target("cuda").check_available()
