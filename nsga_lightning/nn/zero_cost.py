"""Zero-cost scores of untrained networks: SynFlow and NASWOT, for pre-screening candidates before training.

Both read a freshly initialised network once (seconds on a CPU for a proxy network) and are higher-is-better:

- **SynFlow** (Tanaka et al., NeurIPS 2020; used as a NAS proxy by Abdelfattah et al., ICLR 2021): every
  parameter replaced by its absolute value, the network in float64 and eval mode, one forward pass of an
  all-ones input ``(1, C, H, W)``; the score is ``sum |theta * dR/dtheta|`` with ``R`` the sum of the logits.
  It is returned as its natural logarithm (the raw sum overflows float32 for deep networks). Data-free.
- **NASWOT** (Mellor et al., ICML 2021): for a batch of ``N`` images, every ReLU's output gives each image a
  binary code (unit active or not; the network in eval mode but BatchNorm on batch statistics, as at the
  start of training); ``K[i, j]`` counts the units where images ``i`` and ``j`` agree; the score
  is ``log |det K|``. Networks whose units separate the images well score high. Labels are not used.

The network is scored on a copy, so the one passed in is unchanged; the global torch RNG is not touched.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

SCORES = ("synflow", "naswot")


def _logits(output: Tensor | tuple[Tensor, ...]) -> Tensor:
    return output[0] if isinstance(output, tuple) else output


def synflow(network: nn.Module, input_shape: tuple[int, int, int]) -> float:
    """The log SynFlow score of ``network`` (higher is better).

    Args:
        network: a network returning logits or ``(logits, ...)``.
        input_shape: one input's ``(C, H, W)``.

    Raises:
        ValueError: if the score is zero or not finite (no path from input to output, or an overflow).
    """
    net = copy.deepcopy(network).double().eval()
    with torch.no_grad():
        for parameter in net.parameters():
            parameter.abs_()
    net.zero_grad(set_to_none=True)
    device = next(net.parameters()).device
    ones = torch.ones((1, *input_shape), dtype=torch.float64, device=device)
    _logits(net(ones)).sum().backward()
    total = sum(float((p.detach() * p.grad).abs().sum()) for p in net.parameters() if p.grad is not None)
    if not total > 0 or not math.isfinite(total):
        raise ValueError(f"the SynFlow sum is {total}; no finite positive score")
    return math.log(total)


def naswot(network: nn.Module, images: Tensor) -> float:
    """The NASWOT score ``log |det K|`` of ``network`` on ``images`` (higher is better).

    Args:
        network: a network returning logits or ``(logits, ...)`` with ``nn.ReLU`` modules.
        images: a float batch ``(N, C, H, W)`` as the network is trained on (normalised), ``N >= 2``.

    Raises:
        ValueError: if the network has no ReLU modules or ``K`` is singular.
    """
    if images.dim() != 4 or images.shape[0] < 2:
        raise ValueError(f"NASWOT needs a batch (N >= 2, C, H, W), got shape {tuple(images.shape)}")
    # eval mode (no drop path, no auxiliary head) but batch statistics in BatchNorm, as at the start of training
    net = copy.deepcopy(network).float().eval()
    for module in net.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.train()
    n = images.shape[0]
    kernel = torch.zeros(n, n, dtype=torch.float64)

    def record(_module: nn.Module, _inputs: tuple[Tensor, ...], output: Tensor) -> None:
        codes = (output.detach().reshape(n, -1) > 0).double().cpu()  # (N, units)
        kernel.add_(codes @ codes.T + (1 - codes) @ (1 - codes).T)

    hooks: list[Callable[[], None]] = [m.register_forward_hook(record).remove for m in net.modules()
                                       if isinstance(m, nn.ReLU)]
    if not hooks:
        raise ValueError("NASWOT reads ReLU activations; the network has no nn.ReLU modules")
    try:
        with torch.no_grad():
            net(images.to(next(net.parameters()).device, torch.float32))
    finally:
        for remove in hooks:
            remove()
    sign, logdet = torch.linalg.slogdet(kernel)
    if sign == 0 or not math.isfinite(float(logdet)):
        raise ValueError("the NASWOT kernel is singular: the network's activation codes do not tell the images apart")
    return float(logdet)
