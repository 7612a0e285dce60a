"""``nsga-lightning test --ckpt_path W`` with weight files in the original NSGA-Net format (converted on load)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from training_helpers import QUIET, cifar_args, run_cli

from nsga_lightning.data import CIFAR10DataModule
from nsga_lightning.module import ArchitectureModule
from nsga_lightning.nn import count_madds, count_parameters, load_original_state_dict, original_key_map

VECTORS = Path(__file__).resolve().parents[1] / "fixtures" / "vectors"


def _expected(network: torch.nn.Module, data_dir: Path) -> tuple[float, torch.Tensor]:
    """Test error in percent and predicted classes of ``network`` on the test set of ``data_dir``."""
    dm = CIFAR10DataModule(data_dir=str(data_dir))
    dm.setup("test")
    images, labels = dm.test_set.tensors  # type: ignore[union-attr]
    network.eval()
    with torch.no_grad():
        predicted = network(dm.transform.eval(images))[0].argmax(dim=1)
    return 100.0 * float((predicted != labels).float().mean()), predicted


def _summary(out: str) -> str:
    lines = [line for line in out.splitlines() if line.startswith("test error ")]
    assert len(lines) == 1, out
    return lines[0]


def test_published_format_vector_file(cifar_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """The original implementation's own state_dict of NSGANet C=8, 5 cells (a reference-vector fixture)."""
    monkeypatch.chdir(tmp_path)
    vector = torch.load(VECTORS / "micro_cifar_nsganet_c8_L5.pt", weights_only=True)
    assert vector["config"]["init_channels"] == 8 and vector["config"]["layers"] == 5
    weights = {k: v.float() if v.is_floating_point() else v for k, v in vector["state_dict"].items()}
    torch.save(weights, tmp_path / "weights.pt")  # a raw state_dict, as the original's train.py saves it
    model = ["--model.genotype", "NSGANet", "--model.init_channels", "8", "--model.layers", "5"]
    assert run_cli("test", *model, *QUIET, *cifar_args(cifar_root), "--ckpt_path", "weights.pt") == 0
    network = ArchitectureModule(init_channels=8, layers=5).network
    load_original_state_dict(network, weights)
    error, _ = _expected(network, cifar_root)
    params, madds = count_parameters(network), count_madds(network)
    assert _summary(capsys.readouterr().out) == (
        f"test error {error:.2f}%  params {params / 1e6:.3f}M  MAdds {madds / 1e6:.1f}M"
    )
    # validate converts the same file (on a validation split of the training images)
    assert run_cli("validate", *model, *QUIET, *cifar_args(cifar_root, val_split=16), "--ckpt_path",
                   "weights.pt") == 0


def test_converted_file_with_aux_head_and_data_parallel_prefix(cifar_root: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """A network of ours saved under the original's key names (``module.`` prefix, ``{"state_dict": ...}``)."""
    monkeypatch.chdir(tmp_path)
    options: dict[str, Any] = {"init_channels": 4, "layers": 3, "auxiliary": True, "se": True,
                               "filter_increment": 2}
    torch.manual_seed(3)
    network = ArchitectureModule(**options).network
    for module in network.modules():  # non-trivial BatchNorm statistics, so that a wrong mapping shows
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 1.5)
    to_original = original_key_map(network)
    original = {"module." + to_original[k]: v for k, v in network.state_dict().items()}
    assert set(original) != {"module." + k for k in network.state_dict()}  # the names really differ
    torch.save({"state_dict": original, "epoch": 599}, tmp_path / "original.pt")
    model = [f"--model.{k}={v}" for k, v in options.items()]
    args = [*model, *QUIET, *cifar_args(cifar_root), "--ckpt_path", "original.pt"]
    assert run_cli("test", *args) == 0
    error, predicted = _expected(network, cifar_root)
    assert _summary(capsys.readouterr().out).startswith(f"test error {error:.2f}%  params ")
    assert run_cli("predict", *args) == 0
    counts = torch.bincount(predicted, minlength=10).tolist()
    assert f"predicted 16 images; images per class: {counts}" in capsys.readouterr().out
