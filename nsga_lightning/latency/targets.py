"""Where latency is measured: the ``cpu`` (torch, a fixed number of intra-op threads), ``cuda`` (torch, timed by CUDA
events after synchronising) and ``onnxruntime`` (an ONNX Runtime CPU session) targets.

On the CPU targets with one thread the default clock is the measuring thread's CPU time
(``time.thread_time``): with one intra-op thread every operation of the forward pass runs on that thread (torch's
eager ops and an ONNX Runtime session with one intra-op thread alike), and its CPU time leaves out the time the
operating system gives the core to other processes, which on a shared machine is most of the noise (measured here:
two passes over the same 16 networks agreed at Kendall tau 0.05-0.23 in wall time and 0.87-0.97 in thread time
under a load of 3-7 on 2 cores). It still counts what other processes do to the caches. ``clock: wall`` (the only
clock with more threads, whose work the calling thread's CPU time would miss) measures elapsed time.

A target turns a module (a network in eval mode, or one layer group of it) and its input into a runner for
:func:`~nsga_lightning.latency.protocol.measure`: ``runner(k)`` runs ``k`` forward passes under ``torch.no_grad``
and returns their seconds. :meth:`Target.identity` names the machine, library versions and settings a measurement
holds for (the key of a cached lookup table).
"""

from __future__ import annotations

import contextlib
import os
import platform
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from nsga_lightning.latency.protocol import Runner

TARGETS = ("cpu", "cuda", "onnxruntime")
CLOCKS = ("thread", "wall")


@dataclass(frozen=True)
class Target:
    """A latency target.

    Attributes:
        kind: ``cpu``, ``cuda`` or ``onnxruntime``.
        threads: intra-op threads (torch on ``cpu``, the session on ``onnxruntime``; ignored by ``cuda``).
        batch_size: images per forward pass.
        clock: ``thread`` (the measuring thread's CPU time; one thread only) or ``wall``; ``None``: ``thread`` with
            one thread on the CPU targets, else ``wall``. The ``cuda`` target times with CUDA events whatever it says.

    Raises:
        ValueError: for an unknown kind or clock, a thread count or batch size below 1, or the thread clock with
            more than one thread.
    """

    kind: str = "cpu"
    threads: int = 1
    batch_size: int = 1
    clock: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in TARGETS:
            raise ValueError(f"unknown latency target {self.kind!r}; allowed: {', '.join(TARGETS)}")
        for name in ("threads", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"latency {name} must be an integer >= 1, got {value!r}")
        if self.clock is not None and self.clock not in CLOCKS:
            raise ValueError(f"unknown latency clock {self.clock!r}; allowed: {', '.join(CLOCKS)}")
        clock = self.clock or ("thread" if self.threads == 1 and self.kind != "cuda" else "wall")
        if clock == "thread" and self.threads > 1 and self.kind != "cuda":
            raise ValueError(f"latency clock thread times one thread; with threads {self.threads} use clock wall")
        object.__setattr__(self, "clock", "wall" if self.kind == "cuda" else clock)

    @property
    def device(self) -> torch.device:
        """The torch device the module runs on (the CPU for ``onnxruntime``)."""
        return torch.device("cuda") if self.kind == "cuda" else torch.device("cpu")

    def check_available(self) -> None:
        """Refuse a target this machine cannot measure on.

        Raises:
            ValueError: ``cuda`` without a CUDA device, or ``onnxruntime`` without the ``export`` extra.
        """
        if self.kind == "cuda" and not torch.cuda.is_available():
            raise ValueError("latency target cuda needs a CUDA device, and torch sees none; use target cpu or "
                             "onnxruntime")
        if self.kind == "onnxruntime":
            from nsga_lightning.latency.onnx import require_onnx

            require_onnx()

    def identity(self) -> dict[str, Any]:
        """What a measurement on this target holds for: kind, threads, batch size, the processor or GPU and the
        library versions."""
        found = {"kind": self.kind, "threads": self.threads if self.kind != "cuda" else None,
                 "batch_size": self.batch_size, "clock": self.clock, "torch": torch.__version__.split("+")[0]}
        if self.kind == "cuda":
            found["device"] = torch.cuda.get_device_name() if torch.cuda.is_available() else "no cuda"
        else:
            found["device"] = cpu_name()
        if self.kind == "onnxruntime":
            from nsga_lightning.latency.onnx import require_onnx

            require_onnx()
            import onnxruntime

            found["onnxruntime"] = onnxruntime.__version__
        return found

    def runner(self, module: nn.Module, example: torch.Tensor) -> Runner:
        """A runner of ``module`` (eval mode, no gradients) on ``example`` (already on :attr:`device`)."""
        if self.kind == "onnxruntime":
            from nsga_lightning.latency.onnx import session_runner

            return session_runner(module, example, self.threads, self.timer)
        if self.kind == "cuda":
            return _cuda_runner(module, example)
        return _cpu_runner(module, example, self.threads, self.timer)

    @property
    def timer(self) -> Callable[[], float]:
        """The clock a CPU runner reads (seconds)."""
        return time.thread_time if self.clock == "thread" else time.perf_counter

    def example(self, shape: tuple[int, ...]) -> torch.Tensor:
        """A fixed input of ``shape`` with the target's batch size in front, on :attr:`device` (the values do not
        change the time of these networks; a seeded normal draw keeps them away from the zeros' fast paths)."""
        generator = torch.Generator().manual_seed(0)
        return torch.randn((self.batch_size, *shape), generator=generator).to(self.device)


def cpu_name() -> str:
    """The processor's model name (``/proc/cpuinfo``) or what :mod:`platform` says."""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


@contextlib.contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run with ``count`` torch intra-op threads, restoring the setting afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _cpu_runner(module: nn.Module, example: torch.Tensor, threads: int, timer: Callable[[], float]) -> Runner:
    def run(k: int) -> float:
        with torch_threads(threads), torch.no_grad():
            start = timer()
            for _ in range(k):
                module(example)
            return timer() - start

    return run


def _cuda_runner(module: nn.Module, example: torch.Tensor) -> Runner:
    begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)

    def run(k: int) -> float:
        with torch.no_grad():
            torch.cuda.synchronize()
            begin.record()
            for _ in range(k):
                module(example)
            end.record()
            torch.cuda.synchronize()
            return begin.elapsed_time(end) / 1e3

    return run


def pinned_cpus() -> int:
    """CPUs this process may run on (its affinity mask; the CPU count where the OS has none)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1
