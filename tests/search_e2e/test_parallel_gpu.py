"""Parallel search on GPUs (marker ``gpu``; run by a session lent a device: ``python -m pytest -m gpu``): two
workers on two GPUs each see only their own device, and a worker's memory is back to its baseline between
candidates."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest
import torch
from e2e_helpers import search_config, write_search
from parallel_helpers import RecordDevice

from nsga_lightning.search.build import build_search

pytestmark = [pytest.mark.gpu]


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA devices")
def test_two_workers_on_two_gpus_each_see_only_their_own(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_search(tmp_path, "micro")
    config = search_config("micro")
    config["search"].update(workers=2)
    config["trainer"]["accelerator"] = "gpu"
    with build_search(config, trainer_callbacks=[RecordDevice(tmp_path / "seen")]) as runner:
        result = runner.run()
    assert result.n_failed == 0
    records = [json.loads(p.read_text()) for p in (tmp_path / "seen").glob("*.json")]
    assert {r["visible"] for r in records} == {"0", "1"}
    assert all(r["count"] == 1 and r["device"] == "cuda:0" for r in records)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_worker_frees_each_candidate_before_the_next(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_search(tmp_path, "micro")
    config = search_config("micro")
    config["search"].update(workers=2, resources_per_candidate={"gpu": 0.5})  # both workers on one GPU
    config["trainer"]["accelerator"] = "gpu"
    with build_search(config, trainer_callbacks=[RecordDevice(tmp_path / "seen")]) as runner:
        runner.run()
    per_worker = defaultdict(list)
    for path in sorted((tmp_path / "seen").glob("*.json"), key=lambda p: p.stat().st_mtime):
        record = json.loads(path.read_text())
        per_worker[record["pid"]].append(record["allocated_before_model"])
    assert len(per_worker) == 2
    for levels in per_worker.values():
        assert len(levels) >= 2 and max(levels) - min(levels) <= 1 << 20, levels
