"""TrainerEvaluator.complexity (the analytic count the surrogate's inner search asks for) equals the MAdds and
parameters that ``evaluate`` reports for the trained candidate, whatever the data's image size and channels and
the model's stem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from e2e_helpers import sample_candidates
from PIL import Image

from nsga_lightning.data import DigitsDataModule, ImageFolderDataModule
from nsga_lightning.search.training.trainer_evaluator import TrainerEvaluator

# one training and one validation batch per candidate: the objectives do not depend on the training
TRAINER = {"max_epochs": 1, "accelerator": "cpu", "limit_train_batches": 1, "limit_val_batches": 1}
MODELS = {"micro": {"init_channels": 4, "layers": 3}, "macro": {"init_channels": 4}}


def assert_complexity_is_what_evaluate_reports(space: str, datamodule: Any, model: dict[str, Any],
                                               expected_stem: str, in_channels: int, image_size: int) -> None:
    evaluator = TrainerEvaluator(space, datamodule, model=model, trainer=TRAINER, run_dir=None, num_threads=1)
    evaluator.prepare()
    candidates = sample_candidates(space, 3, seed=7, **({"n_nodes": 4} if space == "macro" else {}))
    counted = evaluator.complexity(candidates)
    for candidate, values in zip(candidates, counted):
        module = evaluator.build_module(candidate, datamodule.num_classes)
        assert (module.network.stem_type, module.network.input_shape()) == (
            expected_stem, (1, in_channels, image_size, image_size))
        built = module.compute_complexity()
        assert values == {"madds": float(built["madds"]), "params": float(built["params"])}
    evaluated = list(evaluator.evaluate(candidates[:1]))  # what the archive records for a trained candidate
    assert evaluated[0].is_ok, evaluated[0].error_text
    assert {k: evaluated[0].objectives[k] for k in ("madds", "params")} == counted[0]


@pytest.mark.parametrize("space", ["micro", "macro"])
def test_on_the_digits(workdir, space):
    datamodule = DigitsDataModule(image_size=16, val_split=0.2)
    assert_complexity_is_what_evaluate_reports(space, datamodule, MODELS[space], "cifar", 3, 16)


def write_grey_images(root: Path, size: int) -> Path:
    """Two classes of four grey ``size`` x ``size`` PNGs (one channel) under ``root``."""
    rng = np.random.default_rng(0)
    for label in range(2):
        folder = root / f"class{label}"
        folder.mkdir(parents=True)
        for i in range(4):
            pixels = np.clip(60 + 120 * label + rng.normal(0, 20, (size, size)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels, mode="L").save(folder / f"{i}.png")
    return root


@pytest.mark.parametrize(("space", "stem"), [("micro", "imagenet"), ("macro", "imagenet"), ("macro", "auto")])
def test_on_grey_images_of_another_size_and_stem(workdir, space, stem):
    datamodule = ImageFolderDataModule(root=str(write_grey_images(workdir / "grey", 64)), val_split=2,
                                       batch_size=4, num_workers=0)
    assert datamodule.in_channels == 1
    expected = "cifar" if stem == "auto" else stem  # auto: cifar below 96 pixels
    assert_complexity_is_what_evaluate_reports(space, datamodule, {**MODELS[space], "stem": stem}, expected, 1, 64)
