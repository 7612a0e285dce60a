"""Importing original-format weights: the released checkpoints' manifests, error reports, checkpoint files."""

import logging

import pytest
import torch
from nn_helpers import load_vector, manifests, network_for_vector, published_network

from nsga_lightning.nn import (
    build_network,
    convert_original_state_dict,
    load_original_checkpoint,
    load_original_state_dict,
    original_key_map,
)

MICRO_CASE = "micro_pyramid_nsganet_c8_inc2_L5_se_aux"
MACRO_CASE = "macro_dense_nsganet_32"


@pytest.mark.parametrize("name", sorted(manifests()))
def test_every_key_of_a_released_checkpoint_maps_with_the_right_shape(name):
    net = published_network(name)
    manifest = manifests()[name]
    fake = {key: torch.empty(shape, device="meta") for key, shape in manifest.items()}
    converted = convert_original_state_dict(fake, net)
    ours = net.state_dict()
    assert set(converted) == set(ours)
    assert all(converted[k].shape == ours[k].shape for k in ours)
    unused = sorted(set(manifest) - set(original_key_map(net).values()))
    if name.startswith("macro"):  # the two never-used 1x1 entry convs and the last_conv alias of out.0
        assert unused == [
            "model.0.last_conv.weight",
            "model.2.first_conv.weight",
            "model.2.last_conv.weight",
            "model.4.first_conv.weight",
            "model.4.last_conv.weight",
        ]
    else:
        assert unused == []


def _micro_case():
    case = load_vector(MICRO_CASE)
    return network_for_vector(case["config"]), dict(case["state_dict"]), case


def test_data_parallel_prefix_is_accepted():
    net, state, case = _micro_case()
    load_original_state_dict(net, {f"module.{k}": v for k, v in state.items()})
    with torch.no_grad():
        assert torch.allclose(net.eval()(case["input"])[0], case["eval_logits"], atol=1e-4)


def test_unknown_key_is_a_key_error_naming_it():
    net, state, _ = _micro_case()
    state["cells.0.bogus.weight"] = torch.zeros(1)
    with pytest.raises(KeyError, match=r"unknown 1 key\(s\): cells\.0\.bogus\.weight"):
        convert_original_state_dict(state, net)


def test_missing_keys_are_a_key_error_listing_five_and_the_count():
    net, state, _ = _micro_case()
    removed = [k for k in state if k.startswith("cells.1.")]
    for key in removed:
        del state[key]
    with pytest.raises(
        KeyError, match=rf"missing {len(removed)} key\(s\): cells\.1\..* and {len(removed) - 5} more"
    ):
        convert_original_state_dict(state, net)


def test_mis_shaped_key_is_a_value_error_naming_it():
    net, state, _ = _micro_case()
    state["classifier.weight"] = torch.zeros(10, 65)
    with pytest.raises(ValueError, match=r"classifier\.weight \[10, 65\] \(expected \[10, 64\]\)"):
        convert_original_state_dict(state, net)


def test_a_state_dict_for_another_architecture_is_rejected():
    _, state, _ = _micro_case()
    other = build_network(
        "micro", "DARTS", init_channels=8, layers=5, filter_increment=2, se=True, auxiliary=True
    )
    with pytest.raises(KeyError, match="unknown .* missing"):
        convert_original_state_dict(state, other)


def test_unused_macro_entry_convs_are_dropped_and_logged(caplog):
    case = load_vector(MACRO_CASE)
    net = network_for_vector(case["config"])
    with caplog.at_level(logging.INFO, logger="nsga_lightning.nn.pretrained"):
        dropped = load_original_state_dict(net, case["state_dict"])
    assert dropped == ("model.2.first_conv.weight", "model.4.first_conv.weight")
    assert "model.2.first_conv.weight" in caplog.text


def test_macro_last_conv_alias_must_equal_its_output_conv():
    case = load_vector(MACRO_CASE)
    net = network_for_vector(case["config"])
    state = dict(case["state_dict"])
    state["model.0.last_conv.weight"] = state["model.0.last_conv.weight"] + 1
    with pytest.raises(
        ValueError, match=r"model\.0\.last_conv\.weight is the same convolution as model\.0\.out\.0"
    ):
        convert_original_state_dict(state, net)
    state["model.2.first_conv.weight"] = torch.zeros(32, 32, 3, 3)  # shapes are reported first
    with pytest.raises(
        ValueError, match=r"first_conv\.weight \[32, 32, 3, 3\] \(expected \[32, 32, 1, 1\]\)"
    ):
        convert_original_state_dict(state, net)


@pytest.mark.parametrize("wrap", [None, "state_dict", "model"])
def test_checkpoint_files_load_on_cpu(tmp_path, wrap):
    net, state, case = _micro_case()
    payload = state if wrap is None else {wrap: state, "epoch": 3}
    path = tmp_path / "weights.pt"
    torch.save(payload, path)
    assert load_original_checkpoint(path, net) == ()
    with torch.no_grad():
        assert torch.allclose(net.eval()(case["input"])[0], case["eval_logits"], atol=1e-4)


def test_checkpoint_without_a_state_dict_is_a_value_error(tmp_path):
    net, _, _ = _micro_case()
    path = tmp_path / "weights.pt"
    torch.save([1, 2, 3], path)
    with pytest.raises(ValueError, match="state_dict"):
        load_original_checkpoint(path, net)
    torch.save({"state_dict": {"stem.0.weight": "not a tensor"}}, path)
    with pytest.raises(ValueError, match="not a tensor"):
        load_original_checkpoint(path, net)


def test_auxiliary_head_mismatch_says_how_to_fix_it():
    case = load_vector(MICRO_CASE)
    net = network_for_vector({**case["config"], "auxiliary": False})
    with pytest.raises(KeyError, match=r"unknown 14 key\(s\): auxiliary_head\..*auxiliary=True"):
        convert_original_state_dict(case["state_dict"], net)
