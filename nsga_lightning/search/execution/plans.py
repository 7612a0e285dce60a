"""What a parallel backend is given to place work: one candidate's resources and one local worker's plan (they
are derived from the settings by ``nsga_lightning.search.assemble.resources``)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CandidateResources:
    """CPUs (intra-op threads) and GPUs (a fraction allowed on Ray) of one candidate."""

    cpu: float
    gpu: float


@dataclass(frozen=True)
class WorkerPlan:
    """Where one local worker process runs.

    Attributes:
        env: environment variables set before the worker imports torch (``CUDA_VISIBLE_DEVICES``, thread counts).
        cores: CPU cores the worker is pinned to (empty: not pinned).
    """

    env: dict[str, str] = field(default_factory=dict)
    cores: tuple[int, ...] = ()
