"""Model complexity: parameter counts and MAdds (the only module that imports fvcore).

MAdds follow fvcore's convention: one fused multiply-add is one "flop", so the total is convolution and linear
multiply-accumulates plus small terms for BatchNorm (eval mode: 2 per element with affine, else 1) and
adaptive average pooling (1 per input element). Element-wise additions, concatenations, ReLU, max/avg pooling
and the SE rescale are not counted.

Two ways to count the same thing:

* ``"hooks"`` (default): one eval-mode forward with forward hooks on the layers that carry MAdds, applying
  fvcore's formulas to the shapes they see. About 10-50x faster than a trace (the search counts every
  candidate), but it only knows the layer types above: a network with any other parametrised layer is refused
  rather than miscounted.
* ``"fvcore"``: fvcore's ``FlopCountAnalysis`` (a TorchScript trace of the whole forward): general but slow.
  Tests check that both give identical counts on every zoo network and on random genomes of both spaces.

Nothing is cached here; callers cache by genome key.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any, Literal

import torch
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.conv import _ConvNd

with warnings.catch_warnings():  # fvcore.nn scripts its losses at import: torch.jit.script is deprecated
    warnings.simplefilter("ignore", FutureWarning)
    from fvcore.nn import FlopCountAnalysis


def count_parameters(net: nn.Module, include_auxiliary: bool = False) -> int:
    """Number of parameters of ``net``.

    Args:
        net: a network; its ``auxiliary_head`` (if any) is left out unless ``include_auxiliary`` (the papers'
            counts exclude the auxiliary head).
        include_auxiliary: count the auxiliary head too.

    Returns:
        The number of scalar parameters.
    """
    skip: set[int] = set()
    head = getattr(net, "auxiliary_head", None)
    if head is not None and not include_auxiliary:
        skip = {id(p) for p in head.parameters()}
    return sum(p.numel() for p in net.parameters() if id(p) not in skip)


class _LogitsOnly(nn.Module):
    """Trace only the main logits (the auxiliary branch does not run in eval mode anyway)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: Tensor) -> Tensor:
        out = self.net(x)
        return out[0] if isinstance(out, tuple) else out


MAddsMethod = Literal["hooks", "fvcore"]
# MAdds of one layer call from the layer, its inputs and its output
_Formula = Callable[[nn.Module, tuple[Tensor, ...], Tensor], int]


def _conv_madds(module: nn.Module, inputs: tuple[Tensor, ...], output: Tensor) -> int:
    if module.transposed:  # fvcore counts transposed convolutions over the input; none are built here
        raise ValueError(f"transposed convolution {module} is not supported by the hooks counter")
    # batch * (C_out * C_in / groups * kernel) * output spatial size
    return inputs[0].shape[0] * module.weight.numel() * output[0, 0].numel()


def _linear_madds(module: nn.Module, inputs: tuple[Tensor, ...], output: Tensor) -> int:
    return inputs[0].numel() * module.out_features


def _batch_norm_madds(module: nn.Module, inputs: tuple[Tensor, ...], output: Tensor) -> int:
    return inputs[0].numel() * (2 if module.affine else 1)


def _adaptive_avg_pool_madds(module: nn.Module, inputs: tuple[Tensor, ...], output: Tensor) -> int:
    return inputs[0].numel()


_MADDS_BY_LAYER: tuple[tuple[type[nn.Module], _Formula], ...] = (
    (_ConvNd, _conv_madds),
    (nn.Linear, _linear_madds),
    (_BatchNorm, _batch_norm_madds),
    (nn.AdaptiveAvgPool2d, _adaptive_avg_pool_madds),
)


def _formula(module: nn.Module) -> _Formula | None:
    for layer_type, formula in _MADDS_BY_LAYER:
        if isinstance(module, layer_type):
            return formula
    return None


def _count_with_hooks(net: nn.Module, example: Tensor) -> int:
    total = 0
    handles = []

    def add(formula: _Formula) -> Callable[..., None]:
        def hook(module: nn.Module, inputs: tuple[Tensor, ...], output: Any) -> None:
            nonlocal total
            total += int(formula(module, inputs, output))

        return hook

    try:
        for name, module in net.named_modules():
            formula = _formula(module)
            if formula is not None:
                handles.append(module.register_forward_hook(add(formula)))
            elif next(module.parameters(recurse=False), None) is not None:  # weights used in an unknown way
                raise ValueError(
                    f"count_madds(method='hooks') does not know layer {name or '<root>'} "
                    f"({type(module).__name__}); use method='fvcore'"
                )
        net(example)
    finally:
        for handle in handles:
            handle.remove()
    return total


def _count_with_fvcore(net: nn.Module, example: Tensor) -> int:
    analysis = FlopCountAnalysis(_LogitsOnly(net), example)
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    analysis.tracer_warnings("none")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return int(analysis.total())


DEFAULT_INPUT_SIZE = (1, 3, 32, 32)  # for modules that do not say what they are built for


def count_madds(
    net: nn.Module, input_size: Sequence[int] | None = None, method: MAddsMethod = "hooks"
) -> int:
    """Multiply-adds of one forward pass in eval mode, without the auxiliary head (fvcore's convention).

    The network's training mode (and torch's intra-op thread count, set to 1 while counting) is restored
    afterwards; the input is zeros on the network's own device and dtype.

    Args:
        net: an :class:`~nsga_lightning.nn.base.ArchitectureNetwork` (or any module returning logits or
            ``(logits, ...)``).
        input_size: input shape, batch first. Counts are totals for the whole batch. ``None``: one image of
            the size the network is built for (``net.input_shape()`` of an
            :class:`~nsga_lightning.nn.base.ArchitectureNetwork`), else ``(1, 3, 32, 32)``.
        method: ``"hooks"`` (fast; networks built from convolutions, linear layers, BatchNorm and pooling) or
            ``"fvcore"`` (a full trace; any network). Both give the same count where both apply.

    Returns:
        The MAdds count (an integer; divide by 1e6 for "M").

    Raises:
        ValueError: if ``input_size`` is not a 4-tuple of positive ints, ``method`` is unknown, or the hooks
            counter meets a parametrised layer it has no formula for.
    """
    if input_size is None:
        shape_of = getattr(net, "input_shape", None)
        input_size = shape_of() if callable(shape_of) else DEFAULT_INPUT_SIZE
    shape = tuple(int(s) for s in input_size)
    if len(shape) != 4 or any(s < 1 for s in shape):
        raise ValueError(f"input_size must be (N, C, H, W) with positive sizes, got {tuple(input_size)}")
    counters = {"hooks": _count_with_hooks, "fvcore": _count_with_fvcore}
    if method not in counters:
        raise ValueError(f"method must be one of {sorted(counters)}, got {method!r}")
    first = next(iter(net.parameters()), None)
    device = first.device if first is not None else torch.device("cpu")
    dtype = first.dtype if first is not None and first.is_floating_point() else torch.float32
    was_training, threads = net.training, torch.get_num_threads()
    net.eval()
    # One batch-1 forward gains nothing from intra-op threads, and on a busy CPU they make it several
    # times slower; the previous setting is restored.
    torch.set_num_threads(1)
    try:
        with torch.no_grad():
            return counters[method](net, torch.zeros(shape, device=device, dtype=dtype))
    finally:
        torch.set_num_threads(threads)
        net.train(was_training)
