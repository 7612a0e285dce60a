"""What one candidate gets (CPUs, GPUs) and how parallel workers share a machine.

Derived from the trainer block (``accelerator: gpu`` or ``cuda`` -> one GPU per candidate; ``auto`` -> one GPU
where CUDA is available) and ``num_threads`` (CPUs per candidate), with ``search.resources_per_candidate`` as the
override. The local backend turns it into one plan per worker: the GPU it sees (``CUDA_VISIBLE_DEVICES``), the
cores it is pinned to and its intra-op threads, refusing plans that need more GPUs than exist or more threads
than there are cores. Ray gets the same numbers as task resources.
"""

from __future__ import annotations

import math
import os

from nsga_lightning.search.assemble.settings import SearchConfig
from nsga_lightning.search.core.options import check_keys
from nsga_lightning.search.execution.plans import CandidateResources, WorkerPlan

GPU_ACCELERATORS = ("gpu", "cuda")
RESOURCE_NAMES = ("cpu", "gpu")


def usable_cores() -> list[int]:
    """The CPU cores this process may run on."""
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return list(range(os.cpu_count() or 1))


def cuda_devices() -> int:
    """Number of CUDA devices (0 without torch's CUDA)."""
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def candidate_resources(config: SearchConfig) -> CandidateResources:
    """What one candidate gets (see the module docstring).

    Raises:
        ValueError: for an unknown resource name or a value that is not a positive number (gpu may be 0).
    """
    override = dict(config.search.resources_per_candidate or {})
    check_keys("search.resources_per_candidate", override, RESOURCE_NAMES)
    accelerator = str(config.candidate_trainer.get("accelerator", "auto")).lower()
    gpu = 1.0 if accelerator in GPU_ACCELERATORS or (accelerator == "auto" and cuda_devices() > 0) else 0.0
    cpu = float(config.num_threads or 1)
    for name, value in override.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or (name == "cpu" and value == 0):
            raise ValueError(f"search.resources_per_candidate.{name} must be a number > 0 (gpu may be 0), got {value!r}")
    return CandidateResources(cpu=float(override.get("cpu", cpu)), gpu=float(override.get("gpu", gpu)))


def local_plan(config: SearchConfig, workers: int) -> list[WorkerPlan]:
    """One plan per local worker process.

    Raises:
        ValueError: if the workers need more GPUs than this machine has, a fractional GPU share that does not
            divide one GPU, or more CPU threads than there are usable cores.
    """
    resources = candidate_resources(config)
    threads = int(config.num_threads) if config.num_threads is not None else None
    cores = usable_cores()
    plans = []
    if resources.gpu > 0:
        if resources.gpu > 1 or not math.isclose(1 / resources.gpu, round(1 / resources.gpu)):
            raise ValueError(f"the local backend gives each worker one GPU or an equal share of one (1, 0.5, 0.25, "
                             f"...); got resources_per_candidate.gpu {resources.gpu} (Ray takes any fraction)")
        per_gpu = round(1 / resources.gpu)
        needed, available = math.ceil(workers / per_gpu), cuda_devices()
        if needed > available:
            raise ValueError(f"workers {workers} x {resources.gpu:g} GPU each need {needed} GPUs; this machine has "
                             f"{available}: lower search.workers or set search.resources_per_candidate.gpu")
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        devices = [d.strip() for d in visible.split(",")] if visible else [str(i) for i in range(available)]
        plans = [{"CUDA_VISIBLE_DEVICES": devices[i // per_gpu]} for i in range(workers)]
    else:
        plans = [{"CUDA_VISIBLE_DEVICES": ""} for _ in range(workers)]  # CPU workers never touch a GPU
    per_worker = threads if threads is not None else max(1, len(cores) // workers)
    if resources.gpu == 0 and per_worker * workers > len(cores):
        raise ValueError(f"workers {workers} x num_threads {per_worker} = {per_worker * workers} threads, but this "
                         f"machine has {len(cores)} usable cores: lower search.workers or num_threads "
                         "(oversubscribed cores make every worker slower)")
    out = []
    for i, env in enumerate(plans):
        env = {**env, "OMP_NUM_THREADS": str(per_worker), "MKL_NUM_THREADS": str(per_worker)}
        pinned = tuple(cores[i * per_worker:(i + 1) * per_worker]) if per_worker * workers <= len(cores) else ()
        out.append(WorkerPlan(env=env, cores=pinned))
    return out
