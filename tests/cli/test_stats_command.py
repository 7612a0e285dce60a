"""`nsga-lightning stats`: the model `fit` builds from the same config, the README's table, table and JSON
output, one-line errors."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from lightning.pytorch import Trainer

from nsga_lightning.cli import main
from nsga_lightning.nn import count_madds, count_parameters

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "configs" / "train"
TRAINING_CONFIGS = sorted(p.name for p in CONFIGS.glob("*.yaml"))
README = (REPO / "README.md").read_text()
ZEROS = ",".join(["0"] * 39)


def _readme_row(config: str) -> tuple[int, float]:
    """(params, MAdds in M) of ``config`` in the README's published-model table."""
    match = re.search(rf"^\| `{re.escape(config.removesuffix('.yaml'))}` \| [^|]+ \| ([\d,]+) \| ([\d.]+)M", README,
                      re.MULTILINE)
    assert match, f"{config} is not in the README's table"
    return int(match.group(1).replace(",", "")), float(match.group(2))


def _json_stats(capsys, *args):
    assert main(["stats", *args, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def _model_fit_builds(config: Path, monkeypatch) -> object:
    """The ArchitectureModule `nsga-lightning fit --config CONFIG` would train (Trainer.fit is stopped)."""
    built = []
    monkeypatch.setattr(Trainer, "fit", lambda self, model, **kwargs: built.append(model))
    assert main(["fit", "--config", str(config), "--trainer.logger", "false"]) == 0
    (model,) = built
    return model


@pytest.mark.parametrize("config", TRAINING_CONFIGS)
def test_stats_counts_the_model_fit_builds_and_the_readme_table(config, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing is written, whatever the config says
    stats = _json_stats(capsys, "--config", str(CONFIGS / config))
    assert set(stats) == {"params", "params_total", "madds"}
    model = _model_fit_builds(CONFIGS / config, monkeypatch)
    assert stats["params"] == count_parameters(model.network)
    assert stats["params_total"] == count_parameters(model.network, include_auxiliary=True)
    assert stats["madds"] == count_madds(model.network)
    params, madds_m = _readme_row(config)
    assert stats["params"] == params
    assert round(stats["madds"] / 1e6, 1) == madds_m
    if "macro" in config:
        assert stats["params_total"] == stats["params"]  # no auxiliary head
    else:
        assert stats["params_total"] > stats["params"]
    assert not any(tmp_path.iterdir())


def test_the_cifar100_model_has_100_classes(capsys):
    args = ["--config", str(CONFIGS / "nsganet-micro-c36-se-cifar100.yaml")]
    assert _json_stats(capsys, *args)["params"] == 4_107_592  # 4,053,502 + 90 x 601 classifier weights
    assert main(["stats", *args]) == 0
    assert "micro NSGANet, 100 classes" in capsys.readouterr().out


def test_options_spelled_as_in_training_configs_print_a_table(capsys):
    args = ["stats", "--model.space", "micro", "--model.genotype", "NSGANet", "--model.init_channels", "26",
            "--model.filter_increment", "4", "--model.se", "true", "--model.layers", "20",
            "--model.auxiliary", "true"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "params (without aux head)  1,974,364  (1.97M)" in out
    assert "MAdds (1x3x32x32)" in out and "micro NSGANet, 10 classes" in out  # no data block: 10 classes


def test_a_data_block_on_the_command_line_sets_the_classes(capsys):
    ten = _json_stats(capsys, "--model.genotype", "DARTS", "--model.init_channels", "8", "--model.layers", "5")
    hundred = _json_stats(capsys, "--model.genotype", "DARTS", "--model.init_channels", "8", "--model.layers", "5",
                          "--data", "nsga_lightning.data.CIFAR100DataModule")
    assert hundred["params"] - ten["params"] == 90 * (8 * 4 * 4 + 1)  # classifier of 4 x 32 channels


@pytest.mark.parametrize("option", [["--model.num_classes", "100"], ["--model.num_classes=100"]],
                         ids=["separate", "equals"])
def test_model_num_classes_counts_without_a_data_block(option, capsys):
    """What a user types for a 100-class model without data: accepted, and the same model as CIFAR-100 data."""
    tiny = ["--model.genotype", "DARTS", "--model.init_channels", "8", "--model.layers", "5"]
    asked = _json_stats(capsys, *tiny, *option)
    from_data = _json_stats(capsys, *tiny, "--data", "nsga_lightning.data.CIFAR100DataModule")
    assert asked == from_data != _json_stats(capsys, *tiny)
    assert main(["stats", *option]) == 0
    assert "micro NSGANet, 100 classes" in capsys.readouterr().out


def test_model_num_classes_the_data_contradicts_is_one_line_whose_advice_works(capsys):
    assert main(["stats", "--model.num_classes", "100", "--data", "nsga_lightning.data.CIFAR10DataModule"]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        "nsga-lightning: error: model.num_classes 100 differs from the num_classes of CIFAR10DataModule (10): "
        "leave model.num_classes out, it follows the data\n"
    )
    assert main(["stats", "--data", "nsga_lightning.data.CIFAR10DataModule"]) == 0  # the advice
    assert "micro NSGANet, 10 classes" in capsys.readouterr().out
    assert main(["stats", "--model.num_classes", "100", "--data", "nsga_lightning.data.CIFAR100DataModule"]) == 0
    assert "micro NSGANet, 100 classes" in capsys.readouterr().out
    assert main(["stats", "--model.num_classes", "10", "--data", "nsga_lightning.data.CIFAR10DataModule"]) == 0


def test_macro_options(capsys):
    stats = _json_stats(capsys, "--model.space", "macro", "--model.genotype", "NSGANet", "--model.decoder",
                        "residual", "--model.channels", "[32, 64, 128]")
    assert stats["params"] == 1_342_634  # the facts sheet's 1.3426M for the residual 32/64/128 network


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model.genotype", "NSGANet2"], "unknown micro genotype 'NSGANet2'; known: NSGANet"),
        (["--model.layers", "2"], "layers"),
        (["--model.space", "macro", "--model.auxiliary", "true"], "auxiliary"),
        # a genome typed as text is a genome (the same message as draw), not an unknown zoo name
        (["--model.genotype", f"99,{ZEROS}"],
         "genome position 0 (normal block 0 unit A op): value 99 outside the allowed range 0..8"),
        (["--model.genotype", f"-1,{ZEROS}"], "value -1 outside the allowed range 0..8"),
        (["--model.genotype", "1,0,2"], "a micro genome has 40 integers"),
        # the digits' 16x16 images cannot feed the CIFAR auxiliary head
        (["--model.layers", "8", "--model.auxiliary", "true", "--data", "nsga_lightning.data.DigitsDataModule",
          "--data.image_size", "16"],
         ("auxiliary head needs feature maps of 8x8 to 10x10 at cell 5; image_size 16 gives 4x4: use auxiliary: "
         "false or an image_size of 32, 36 or 40")),
        # parse errors: the line alone, no usage block
        (["--model.layers", "many"], 'Parser key "model.layers"'),
        (["--format", "xml"], "invalid choice: 'xml' (choose from 'table', 'json')"),
        (["--config", "does-not-exist.yaml"], "does-not-exist.yaml"),
        (["--no_such_option", "1"], "no_such_option"),
        (["--model.num_classes", "many"], 'Parser key "model.num_classes": Expected a <class \'int\'>'),
    ],
    ids=["zoo", "layers", "macro-aux", "genome-range", "genome-negative", "genome-length", "aux-on-digits",
         "parse-int", "parse-choice", "missing-config", "unknown-option", "num-classes-type"],
)
def test_bad_values_are_one_clear_line(args, message, capsys):
    assert main(["stats", *args]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("nsga-lightning: error: ") and message in captured.err, captured.err
    assert "Traceback" not in captured.err and captured.err.count("\n") == 1
    assert "usage:" not in captured.err + captured.out


def test_console_script_runs_in_a_subprocess():
    result = subprocess.run(
        [sys.executable, "-m", "nsga_lightning.cli", "stats", "--model.genotype", "DARTS", "--model.init_channels",
         "8", "--model.layers", "5", "--format", "json"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["params"] > 0
    bad = subprocess.run([sys.executable, "-m", "nsga_lightning.cli", "stats", "--model.genotype", "Nope"],
                         capture_output=True, text=True, timeout=120, check=False)
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines()[-1].startswith("nsga-lightning: error: unknown micro genotype 'Nope'")
