"""CIFAR datamodules: splits, loaders, argument checks, download hook and the batch-transfer transform."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from nsga_lightning.data import (
    CIFAR10_MEAN,
    CIFAR10_STD,
    CIFAR100_MEAN,
    CIFAR100_STD,
    CIFAR10DataModule,
    CIFAR100DataModule,
    DatasetDownloadError,
    normalize,
    read_cifar,
    split_indices,
)

N_TRAIN, N_TEST = 100, 30  # the sizes the conftest fixtures write


def _keys(images: torch.Tensor) -> set[bytes]:
    return {bytes(img.flatten().tolist()) for img in images}


@pytest.mark.parametrize(("value", "n_val"), [(20, 20), (0.25, 25), (1, 1), (0.5, 50)])
def test_split_sizes_count_and_fraction(cifar10_dir: Path, value: float, n_val: int) -> None:
    dm = CIFAR10DataModule(data_dir=str(cifar10_dir), val_split=value)
    dm.setup("fit")
    assert dm.train_set is not None and dm.val_set is not None
    assert (len(dm.train_set), len(dm.val_set)) == (N_TRAIN - n_val, n_val)
    train, val = dm.train_set.tensors[0], dm.val_set.tensors[0]
    all_images = read_cifar(cifar10_dir, "cifar10", train=True)[0]
    assert _keys(train).isdisjoint(_keys(val)) and _keys(train) | _keys(val) == _keys(all_images)


def test_split_is_seeded() -> None:
    kept, held = split_indices(1000, 100, seed=0)
    again = split_indices(1000, 100, seed=0)
    other = split_indices(1000, 100, seed=1)
    assert torch.equal(kept, again[0]) and torch.equal(held, again[1])
    assert not torch.equal(held, other[1])
    assert len(set(kept.tolist()) & set(held.tolist())) == 0
    assert sorted(kept.tolist() + held.tolist()) == list(range(1000))
    assert torch.equal(split_indices(1000, 0.1, seed=0)[1], held)  # fraction and count forms agree


def test_datamodule_split_does_not_depend_on_the_global_seed(cifar10_dir: Path) -> None:
    held_out = []
    for global_seed in (0, 1):
        torch.manual_seed(global_seed)
        dm = CIFAR10DataModule(data_dir=str(cifar10_dir), val_split=10, split_seed=7)
        dm.setup("fit")
        assert dm.val_set is not None
        held_out.append(dm.val_set.tensors[0])
    assert torch.equal(held_out[0], held_out[1])


def test_zero_val_split_means_no_validation_loader(cifar10_dir: Path) -> None:
    dm = CIFAR10DataModule(data_dir=str(cifar10_dir), val_split=0)
    dm.setup("fit")
    assert dm.val_set is None and dm.val_dataloader() == []
    assert dm.train_set is not None and len(dm.train_set) == N_TRAIN


@pytest.mark.parametrize("value", [-1, 1.0, 1.5, -0.1, True, "0.1", None])
def test_bad_val_split_forms_are_rejected_at_construction(value: Any) -> None:
    with pytest.raises(
        ValueError, match=r"val_split must be an integer count >= 0 or a float fraction in \[0, 1\)"
    ):
        CIFAR10DataModule(val_split=value)


@pytest.mark.parametrize("value", [N_TRAIN, N_TRAIN + 5, 0.001])
def test_val_split_must_leave_images_on_both_sides(cifar10_dir: Path, value: float) -> None:
    dm = CIFAR10DataModule(data_dir=str(cifar10_dir), val_split=value)
    with pytest.raises(ValueError, match=r"allowed: a count in 1..99"):
        dm.setup("fit")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"batch_size": 0}, "batch_size and eval_batch_size must be >= 1"),
        ({"eval_batch_size": -2}, "batch_size and eval_batch_size must be >= 1"),
        ({"num_workers": -1}, "num_workers must be >= 0"),
        ({"cutout": True, "cutout_length": 0}, "cutout_length must be >= 1"),
        ({"crop_padding": -4}, "crop_padding must be >= 0"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CIFAR10DataModule(**kwargs)


def test_loaders_yield_uint8_batches(cifar10_dir: Path) -> None:
    dm = CIFAR10DataModule(data_dir=str(cifar10_dir), batch_size=16, eval_batch_size=64, val_split=20)
    dm.setup("fit")
    images, labels = next(iter(dm.train_dataloader()))
    assert images.shape == (16, 3, 32, 32) and images.dtype == torch.uint8 and labels.dtype == torch.int64
    assert [len(b[1]) for b in dm.train_dataloader()] == [16] * 5
    assert [len(b[1]) for b in dm.val_dataloader()] == [20]
    assert [len(b[1]) for b in dm.test_dataloader()] == [N_TEST]  # loads the test set on demand
    assert [len(b[1]) for b in dm.predict_dataloader()] == [N_TEST]


def test_training_loader_shuffles_and_covers_every_image(cifar10_dir: Path) -> None:
    dm = CIFAR10DataModule(data_dir=str(cifar10_dir), batch_size=32)
    torch.manual_seed(0)
    first = torch.cat([b[0] for b in dm.train_dataloader()])
    second = torch.cat([b[0] for b in dm.train_dataloader()])
    assert dm.train_set is not None
    assert _keys(first) == _keys(dm.train_set.tensors[0]) and len(first) == N_TRAIN
    assert not torch.equal(first, second) and not torch.equal(first, dm.train_set.tensors[0])


def test_worker_processes_can_load_batches(cifar10_dir: Path) -> None:
    dm = CIFAR10DataModule(data_dir=str(cifar10_dir), batch_size=50, num_workers=1)
    assert sum(len(b[1]) for b in dm.train_dataloader()) == N_TRAIN


def test_cifar100_module(cifar100_dir: Path) -> None:
    dm = CIFAR100DataModule(data_dir=str(cifar100_dir), val_split=0.1)
    dm.setup()
    assert dm.num_classes == 100 and (dm.mean, dm.std) == (CIFAR100_MEAN, CIFAR100_STD)
    assert dm.train_set is not None and dm.val_set is not None and dm.test_set is not None
    assert (len(dm.train_set), len(dm.val_set), len(dm.test_set)) == (180, 20, 50)
    assert CIFAR10DataModule().num_classes == 10 and CIFAR10DataModule().mean == CIFAR10_MEAN


def test_missing_data_is_reported_at_setup(tmp_path: Path) -> None:
    dm = CIFAR100DataModule(data_dir=str(tmp_path))
    dm.prepare_data()  # download is off: nothing happens
    with pytest.raises(FileNotFoundError, match="cifar-100-python.*pass download=true"):
        dm.setup("fit")


def test_prepare_data_downloads_with_torchvision(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torchvision.datasets

    calls: list[tuple[str, str, bool, bool]] = []

    def fake(name: str) -> Any:
        return lambda root, train, download: calls.append((name, root, train, download))

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", fake("cifar10"))
    monkeypatch.setattr(torchvision.datasets, "CIFAR100", fake("cifar100"))
    CIFAR10DataModule(data_dir=str(tmp_path), download=True).prepare_data()
    CIFAR100DataModule(data_dir=str(tmp_path), download=True).prepare_data()
    root = str(tmp_path)
    assert calls == [
        ("cifar10", root, True, True), ("cifar10", root, False, True),
        ("cifar100", root, True, True), ("cifar100", root, False, True),
    ]  # fmt: skip


def test_present_files_are_never_downloaded_again(cifar10_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torchvision.datasets

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("torchvision was asked to download data that is already there")

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", refuse)
    dm = CIFAR10DataModule(data_dir=str(cifar10_dir), download=True, val_split=10)
    dm.prepare_data()
    dm.setup("fit")
    assert len(dm.train_set) == N_TRAIN - 10


def test_a_failed_download_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import urllib.error

    import torchvision.datasets

    def offline(*args: Any, **kwargs: Any) -> None:
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(torchvision.datasets, "CIFAR100", offline)
    with pytest.raises(DatasetDownloadError, match=r"could not download cifar-100-python\.tar\.gz into .*URLError.*"
                                                   r"extract it into data_dir \(it unpacks into cifar-100-python/\)"):
        CIFAR100DataModule(data_dir=str(tmp_path), download=True).prepare_data()


def _offline_urlopen(*args: Any, **kwargs: Any) -> None:
    import urllib.error

    raise urllib.error.URLError("[Errno -2] Name or service not known")


@pytest.mark.parametrize("data_dir", ["data", "data/cifar/files"], ids=["folder", "nested"])
def test_a_failed_download_creates_no_folder(data_dir: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """torchvision creates data_dir before it downloads; offline, that left an empty ./data behind."""
    import urllib.request

    monkeypatch.setattr(urllib.request, "urlopen", _offline_urlopen)  # torchvision's own code, no network
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DatasetDownloadError, match="Name or service not known"):
        CIFAR10DataModule(data_dir=data_dir, download=True).prepare_data()
    assert not any(tmp_path.iterdir())


def test_a_failed_download_removes_only_what_it_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torchvision.datasets.utils as tv_utils

    def cut_off(url: str, filename: str, *args: Any, **kwargs: Any) -> None:
        Path(filename).write_bytes(b"\x1f\x8b partial")  # the first bytes of the archive, then the line drops
        raise ConnectionResetError("[Errno 104] Connection reset by peer")

    monkeypatch.setattr(tv_utils, "_get_redirect_url", lambda url, max_hops=3: url)
    monkeypatch.setattr(tv_utils, "_urlretrieve", cut_off)
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "other-dataset").mkdir()
    with pytest.raises(DatasetDownloadError, match="Connection reset by peer"):
        CIFAR100DataModule(data_dir=str(tmp_path), download=True).prepare_data()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "other-dataset"]  # no partial archive


def test_an_interrupted_download_is_cleaned_up_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torchvision.datasets.utils as tv_utils

    def interrupted(url: str, filename: str, *args: Any, **kwargs: Any) -> None:
        Path(filename).write_bytes(b"\x1f\x8b")
        raise KeyboardInterrupt

    monkeypatch.setattr(tv_utils, "_get_redirect_url", lambda url, max_hops=3: url)
    monkeypatch.setattr(tv_utils, "_urlretrieve", interrupted)
    with pytest.raises(KeyboardInterrupt):
        CIFAR10DataModule(data_dir=str(tmp_path / "data"), download=True).prepare_data()
    assert not any(tmp_path.iterdir())


def test_image_size_is_the_cifar_size() -> None:
    assert CIFAR10DataModule().image_size == CIFAR100DataModule().image_size == 32


def test_on_after_batch_transfer_train_vs_eval(cifar10_dir: Path) -> None:
    dm = CIFAR10DataModule(data_dir=str(cifar10_dir), batch_size=32, cutout=True)
    images, labels = next(iter(dm.train_dataloader()))
    expected_eval = normalize(images, CIFAR10_MEAN, CIFAR10_STD)

    out, out_labels = dm.on_after_batch_transfer((images, labels), 0)  # no trainer: eval transform
    torch.testing.assert_close(out, expected_eval)
    assert out_labels is labels

    dm.trainer = SimpleNamespace(training=False)  # type: ignore[assignment]
    torch.testing.assert_close(dm.on_after_batch_transfer((images, labels), 0)[0], expected_eval)

    dm.trainer = SimpleNamespace(training=True)  # type: ignore[assignment]
    torch.manual_seed(0)
    augmented = dm.on_after_batch_transfer((images, labels), 0)[0]
    assert augmented.dtype == torch.float32 and augmented.shape == images.shape
    assert not torch.allclose(augmented, expected_eval)
    torch.manual_seed(0)  # global RNG, as seeded by seed_everything
    torch.testing.assert_close(augmented, dm.transform.train(images))

    dm.augment = False
    torch.testing.assert_close(dm.on_after_batch_transfer((images, labels), 0)[0], expected_eval)


def test_hyperparameters_are_saved(cifar10_dir: Path) -> None:
    dm = CIFAR10DataModule(data_dir=str(cifar10_dir), val_split=0.2, cutout=True)
    assert dm.hparams["val_split"] == 0.2 and dm.hparams["cutout"] is True
    assert dm.hparams["data_dir"] == str(cifar10_dir)


@pytest.mark.parametrize(("text", "value"), [("10000", 10000), ("0.2", 0.2), ("0", 0)])
def test_config_keeps_counts_as_ints(text: str, value: float) -> None:
    """The typed __init__ is the LightningCLI schema: a YAML count must not turn into a float."""
    jsonargparse = pytest.importorskip("jsonargparse")
    parser = jsonargparse.ArgumentParser(exit_on_error=False)
    parser.add_class_arguments(CIFAR10DataModule, "data")
    parsed = parser.parse_args([f"--data.val_split={text}"]).data.val_split
    assert parsed == value and type(parsed) is type(value)
