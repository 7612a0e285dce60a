"""Latency of architecture networks on a target device: the measurement protocol, the per-layer lookup table, its
calibration against whole networks, and ONNX export with output checks (``onnx.py``; needs the ``export`` extra)."""

from nsga_lightning.latency.calibration import Calibration, calibrate, fit_affine, tau
from nsga_lightning.latency.layers import layer_module, network_plan, space_keys
from nsga_lightning.latency.predictor import LatencyPredictor, NetworkSpec
from nsga_lightning.latency.protocol import Measurement, Protocol, measure
from nsga_lightning.latency.table import LatencyTable, cache_dir
from nsga_lightning.latency.targets import CLOCKS, TARGETS, Target

__all__ = [
    "CLOCKS",
    "TARGETS",
    "Calibration",
    "LatencyPredictor",
    "LatencyTable",
    "Measurement",
    "NetworkSpec",
    "Protocol",
    "Target",
    "cache_dir",
    "calibrate",
    "fit_affine",
    "layer_module",
    "measure",
    "network_plan",
    "space_keys",
    "tau",
]
