"""ONNX export of a network's logits and the ONNX Runtime side: sessions, runners and output checks.

Needs the ``export`` extra (``pip install "nsga-lightning[export]"``: onnx, onnxruntime, onnxscript); without it
:func:`require_onnx` says so in one line. What is exported is the network in eval mode returning its logits only:
the auxiliary head (which runs in training mode only) and drop path (training mode only) are not in the graph.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from nsga_lightning.latency.protocol import Runner

EXTRA = 'pip install "nsga-lightning[export]"'
EXPORTERS = ("dynamo", "torchscript")
# outputs of the exported graph against PyTorch's (the PyTorch ONNX tutorial's rtol; logits of O(10) allow atol 1e-4)
RTOL, ATOL = 1e-3, 1e-4


def require_onnx() -> None:
    """Refuse to go on without onnx and onnxruntime.

    Raises:
        ValueError: one line naming the missing package and the extra that installs it.
    """
    missing = [name for name in ("onnx", "onnxruntime") if importlib.util.find_spec(name) is None]
    if missing:
        raise ValueError(f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed: ONNX export "
                         f"and the onnxruntime latency target need the export extra ({EXTRA})")


class Logits(nn.Module):
    """A network's logits alone (networks return ``(logits, aux_logits)``; eval mode gives ``aux_logits = None``)."""

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Images ``(N, C, H, W)`` -> logits ``(N, classes)``."""
        out = self.network(images)
        return out[0] if isinstance(out, tuple) else out


def export_onnx(module: nn.Module, example: torch.Tensor, path: str | Path | None = None,
                exporter: str = "dynamo", names: bool = True, dynamic_batch: bool = True) -> bytes:
    """Export ``module`` (put in eval mode) on inputs like ``example`` to ONNX, with a free batch dimension.

    Args:
        module: a module returning one tensor (wrap a network in :class:`Logits`).
        example: an input batch on the CPU.
        path: where to write the file too (``None``: only return the bytes).
        exporter: ``dynamo`` (``torch.export``-based; needs onnxscript) or ``torchscript`` (the older tracer:
            much faster, used for the many small layer groups of a lookup table).
        names: name the input ``images`` and the one output ``logits`` (a layer group with several outputs, e.g.
            a stem, is exported without names).
        dynamic_batch: a free batch dimension (``False``: the example's, as a latency measurement needs; the
            TorchScript-based exporter cannot make the macro network's whole-map pooling dynamic).

    Returns:
        The serialised ONNX model.

    Raises:
        ValueError: for an unknown exporter or without the export extra.
    """
    require_onnx()
    if exporter not in EXPORTERS:
        raise ValueError(f"unknown ONNX exporter {exporter!r}; allowed: {', '.join(EXPORTERS)}")
    module = module.eval()
    logging.getLogger("onnx_ir").setLevel(logging.WARNING)  # one INFO line per deduplicated initializer otherwise
    named = {"input_names": ["images"], "output_names": ["logits"]} if names else {"input_names": ["images"]}
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), torch.no_grad():
        warnings.simplefilter("ignore")
        if exporter == "torchscript":
            buffer = io.BytesIO()
            axes = {"dynamic_axes": {"images": {0: "batch"}}} if dynamic_batch else {}
            try:
                torch.onnx.export(module, (example,), buffer, dynamo=False, **axes, **named)
            except torch.onnx.errors.SymbolicValueError as error:
                raise ValueError("the torchscript exporter cannot export this network with a free batch dimension "
                                 f"({str(error).splitlines()[0][:80]}...); use the dynamo exporter") from None
            data = buffer.getvalue()
        else:
            shapes = {"dynamic_shapes": ({0: torch.export.Dim("batch", min=1)},)} if dynamic_batch else {}
            program = torch.onnx.export(module, (example,), dynamo=True, **shapes, **named)
            data = program.model_proto.SerializeToString()
    if path is not None:
        Path(path).write_bytes(data)
    return data


def session(model: bytes | str | Path, threads: int) -> Any:
    """An ONNX Runtime CPU session of ``model`` (bytes or a file) with ``threads`` intra-op threads, sequential
    execution and the default graph optimisations."""
    require_onnx()
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    source = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


def run_session(sess: Any, images: np.ndarray) -> np.ndarray:
    """The first output of ``sess`` on ``images``."""
    return sess.run(None, {sess.get_inputs()[0].name: images})[0]


def file_runner(sess: Any, example: torch.Tensor, timer: Callable[[], float] = time.perf_counter) -> Runner:
    """A runner of an ONNX Runtime session on ``example``, timed by ``timer``."""
    feed = {sess.get_inputs()[0].name: example.detach().cpu().numpy()}

    def run(k: int) -> float:
        start = timer()
        for _ in range(k):
            sess.run(None, feed)
        return timer() - start

    return run


def session_runner(module: nn.Module, example: torch.Tensor, threads: int,
                   timer: Callable[[], float] = time.perf_counter) -> Runner:
    """A runner of ``module`` exported (TorchScript-based exporter) and run by ONNX Runtime on ``example``."""
    data = export_onnx(module, example.cpu(), exporter="torchscript", names=False, dynamic_batch=False)
    return file_runner(session(data, threads), example, timer)


def compare_outputs(expected: np.ndarray, got: np.ndarray, rtol: float = RTOL, atol: float = ATOL) -> float:
    """The largest absolute difference between PyTorch's and ONNX Runtime's outputs.

    Raises:
        ValueError: if the shapes differ or a value is outside ``atol + rtol * |expected|``.
    """
    if expected.shape != got.shape:
        raise ValueError(f"the ONNX model's output has shape {got.shape}, PyTorch's {expected.shape}")
    difference = np.abs(expected - got)
    worst = float(difference.max()) if difference.size else 0.0
    if not np.all(difference <= atol + rtol * np.abs(expected)):
        raise ValueError(f"the ONNX model's logits differ from PyTorch's by up to {worst:.3g} (tolerance rtol {rtol}, "
                         f"atol {atol})")
    return worst
