"""A real ``nsga-lightning`` process: a 2-process DDP fit on CPU (gloo) through the console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from training_helpers import QUIET, TINY_MODEL, cifar_args, scalars, version_dirs

# A searched-looking cell pair whose reduction cell never reads its input 0 and whose normal cell has a block
# the output does not use: DDP (find_unused_parameters=False) fails on the second step if those layers'
# parameters are trainable but get no gradient.
DEAD_NODES_GENOTYPE = json.dumps({
    "normal": [["sep_conv_3x3", 0], ["skip_connect", 1], ["max_pool_3x3", 2], ["sep_conv_5x5", 1],
               ["avg_pool_3x3", 0], ["dil_conv_3x3", 3]],
    "normal_concat": [3],
    "reduce": [["sep_conv_3x3", 1], ["max_pool_3x3", 1], ["skip_connect", 2], ["conv_7x1_1x7", 1]],
    "reduce_concat": [3],
})


def test_ddp_fit_with_two_cpu_processes(cifar_root: Path, tmp_path: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    script = Path(sys.executable).with_name("nsga-lightning")
    command = [str(script)] if script.is_file() else [sys.executable, "-m", "nsga_lightning.cli"]
    result = subprocess.run(
        [*command, "fit", *TINY_MODEL, "--model.genotype", DEAD_NODES_GENOTYPE, *QUIET, *cifar_args(cifar_root, batch_size=8, val_split=16),
         "--trainer.strategy", "ddp", "--trainer.devices", "2", "--trainer.max_epochs", "2",
         "--trainer.limit_train_batches", "1"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "distributed_backend=gloo" in result.stdout + result.stderr
    assert "Starting with 2 processes" in result.stdout + result.stderr
    (run,) = version_dirs(tmp_path / "runs")  # one logger: rank zero writes, the other rank writes nothing
    assert (run / "checkpoints" / "last.ckpt").is_file()
    logged = scalars(run)
    assert len(logged["val/error"]) == 2 and len(logged["train/lr"]) == 2
    assert "model/madds" in logged
