"""Our networks, loaded with the original's weights, reproduce the original's outputs (reference vectors)."""

import pytest
import torch
from nn_helpers import VECTOR_CASES, load_vector, network_for_vector

from nsga_lightning.nn import load_original_state_dict

TOLERANCE = 1e-4


@pytest.mark.parametrize("name", VECTOR_CASES)
def test_reference_vector_logits(name):
    case = load_vector(name)
    net = network_for_vector(case["config"])
    dropped = load_original_state_dict(net, case["state_dict"])
    if name == "macro_dense_nsganet_32":  # 32 -> 32 phases: entry convs built by the original, never used
        assert dropped == ("model.2.first_conv.weight", "model.4.first_conv.weight")
    else:
        assert dropped == ()
    net.eval()
    with torch.no_grad():
        logits, aux = net(case["input"])
    assert aux is None
    assert torch.allclose(logits, case["eval_logits"], atol=TOLERANCE, rtol=0)
    if "train_logits" in case:
        net.train()
        net.drop_path_prob = 0.0
        with torch.no_grad():
            logits, aux = net(case["input"])
        assert torch.allclose(logits, case["train_logits"], atol=TOLERANCE, rtol=0)
        assert torch.allclose(aux, case["train_aux_logits"], atol=TOLERANCE, rtol=0)
