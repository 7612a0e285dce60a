"""Shared helpers of the nn tests: reference vectors, published-model manifests and tiny training steps."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import torch

from nsga_lightning.nn import ArchitectureNetwork, build_network

VECTORS = Path(__file__).resolve().parents[1] / "fixtures" / "vectors"
VECTOR_CASES = (
    "micro_pyramid_nsganet_c8_inc2_L5_se_aux",
    "micro_cifar_nsganet_c8_L5",
    "micro_cifar_darts_c8_L5_aux_c100",
    "macro_dense_nsganet_32",
    "macro_residual_nsganet_8_16_32",
)
MANIFESTS = VECTORS / "published_state_dict_manifests.json"
_MICRO_NAME = re.compile(
    r"micro_(?P<genotype>[a-z]+)_c(?P<c>\d+)_inc(?P<inc>\d+)(?P<se>_se)?(?P<aux>_aux)?"
    r"_L(?P<layers>\d+)_c(?P<classes>\d+)"
)
_MACRO_NAME = re.compile(r"macro_(?P<genotype>[a-z]+)_(?P<decoder>[a-z]+)_(?P<channels>\d+)")
_ZOO_NAMES = {"nsganet": "NSGANet", "darts": "DARTS"}


def load_vector(name: str) -> dict[str, Any]:
    """One reference case, with its state_dict's floating tensors cast to float32."""
    case = torch.load(VECTORS / f"{name}.pt", weights_only=True)
    case["state_dict"] = {k: v.float() if v.is_floating_point() else v for k, v in case["state_dict"].items()}
    return case


def network_for_vector(config: dict[str, Any]) -> ArchitectureNetwork:
    """Build our network from a reference case's ``config`` (the original's constructor arguments)."""
    if config["space"] == "micro":
        pyramid = config["network"] == "pyramid"
        return build_network(
            "micro",
            config["genotype_data"],
            num_classes=config["num_classes"],
            init_channels=config["init_channels"],
            layers=config["layers"],
            filter_increment=config["filter_increment"] if pyramid else None,
            se=config["se"],
            auxiliary=config["auxiliary"],
        )
    return build_network(
        "macro",
        config["genome_data"],
        num_classes=config["num_classes"],
        decoder=config["decoder"],
        channels=[out for _, out in config["channels"]],
    )


@cache
def manifests() -> dict[str, dict[str, list[int]]]:
    """Released model name -> {original state_dict key: shape}."""
    return json.loads(MANIFESTS.read_text())


def network_for_manifest(name: str) -> ArchitectureNetwork:
    """The full-size network a released model's name describes.

    E.g. ``micro_nsganet_c26_inc4_se_aux_L20_c10`` or ``macro_nsganet_dense_128``.
    """
    micro = _MICRO_NAME.fullmatch(name)
    if micro:
        return build_network(
            "micro",
            _ZOO_NAMES[micro["genotype"]],
            num_classes=int(micro["classes"]),
            init_channels=int(micro["c"]),
            layers=int(micro["layers"]),
            filter_increment=int(micro["inc"]),
            se=bool(micro["se"]),
            auxiliary=bool(micro["aux"]),
        )
    macro = _MACRO_NAME.fullmatch(name)
    if macro is None:
        raise ValueError(f"unparsable released model name {name!r}")
    width = int(macro["channels"])
    return build_network(
        "macro", _ZOO_NAMES[macro["genotype"]], decoder=macro["decoder"], channels=[width] * 3
    )


@cache
def published_network(name: str) -> ArchitectureNetwork:
    """Cached :func:`network_for_manifest` (tests must not modify the returned network)."""
    return network_for_manifest(name)


def assert_every_parameter_gets_a_gradient(net: ArchitectureNetwork, batch: int = 2, size: int = 32) -> None:
    """One train-mode forward/backward on random images; every trainable parameter must receive a gradient
    (what DDP requires), and frozen ones (layers of nodes a cell's output does not depend on) none."""
    torch.manual_seed(0)
    net.train()
    logits, aux = net(torch.randn(batch, 3, size, size))
    assert logits.shape[0] == batch and torch.isfinite(logits).all()
    loss = logits.square().mean() + (aux.square().mean() if aux is not None else 0.0)
    loss.backward()
    without = [name for name, p in net.named_parameters() if p.requires_grad and p.grad is None]
    assert all(p.grad is None for p in net.parameters() if not p.requires_grad)
    assert not without, f"parameters without gradient: {without[:5]} ({len(without)})"
