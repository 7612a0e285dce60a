"""Model complexity: parameter counts and MAdds (the only module that imports fvcore).

fvcore counts one fused multiply-add as one "flop", so its total is reported here as MAdds: convolution and
linear multiply-accumulates plus small terms for BatchNorm and adaptive pooling. Element-wise additions,
concatenations, ReLU, max/avg pooling and the SE rescale are not counted. Nothing is cached here;
callers cache by genome key.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import torch
from torch import Tensor, nn

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


def count_madds(net: nn.Module, input_size: Sequence[int] = (1, 3, 32, 32)) -> int:
    """Multiply-adds of one forward pass, counted by fvcore in eval mode, without the auxiliary head.

    The network's training mode (and torch's intra-op thread count, set to 1 while tracing) is restored
    afterwards; the input is zeros on the network's own device and dtype.

    Args:
        net: an :class:`~nsga_lightning.nn.base.ArchitectureNetwork` (or any module returning logits or
            ``(logits, ...)``).
        input_size: input shape, batch first. Counts are totals for the whole batch.

    Returns:
        The MAdds count (an integer; divide by 1e6 for "M").

    Raises:
        ValueError: if ``input_size`` is not a 4-tuple of positive ints.
    """
    shape = tuple(int(s) for s in input_size)
    if len(shape) != 4 or any(s < 1 for s in shape):
        raise ValueError(f"input_size must be (N, C, H, W) with positive sizes, got {tuple(input_size)}")
    first = next(iter(net.parameters()), None)
    device = first.device if first is not None else torch.device("cpu")
    dtype = first.dtype if first is not None and first.is_floating_point() else torch.float32
    was_training, threads = net.training, torch.get_num_threads()
    net.eval()
    # One tiny traced forward gains nothing from intra-op threads, and on a busy CPU they make it several
    # times slower; the previous setting is restored.
    torch.set_num_threads(1)
    try:
        analysis = FlopCountAnalysis(_LogitsOnly(net), torch.zeros(shape, device=device, dtype=dtype))
        analysis.unsupported_ops_warnings(False)
        analysis.uncalled_modules_warnings(False)
        analysis.tracer_warnings("none")
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            return int(analysis.total())
    finally:
        torch.set_num_threads(threads)
        net.train(was_training)
