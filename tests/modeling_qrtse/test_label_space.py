import pytest
import torch

from modeling_qrtse import QrtseConfig, QrtseModel
from modeling_qrtse.label_space_qrtse import with_labels


def tiny(labels):
    return QrtseModel(QrtseConfig.from_preset("tiny", id2label=dict(enumerate(labels))))


def test_shared_classes_keep_their_weights_by_name_and_new_ones_start_fresh():
    torch.manual_seed(0)
    old = tiny(["Bark", "Meow", "Trumpet"])
    state = torch.random.get_rng_state()
    new = with_labels(old, ["Laughter", "Trumpet", "Bark"])
    assert torch.equal(torch.random.get_rng_state(), state)  # the caller's random stream is untouched
    assert new.config.id2label == {0: "Laughter", 1: "Trumpet", 2: "Bark"} and new.config.label2id["Bark"] == 2
    q_old, q_new = old.query_embedding.weight, new.query_embedding.weight
    assert torch.equal(q_new[:, 1], q_old[:, 2]) and torch.equal(q_new[:, 2], q_old[:, 0])
    assert not torch.equal(q_new[:, 0], q_old[:, 1])
    w_old, w_new = old.classifier.frame_logits.weight, new.classifier.frame_logits.weight
    assert torch.equal(w_new[1], w_old[2]) and torch.equal(
        new.classifier.frame_logits.bias[2], old.classifier.frame_logits.bias[0]
    )
    for name, tensor in old.state_dict().items():
        if "query_embedding" not in name and "frame_logits" not in name:
            assert torch.equal(new.state_dict()[name], tensor), name


def test_bad_label_lists_are_refused():
    model = tiny(["Bark", "Meow"])
    for labels in ([], ["Bark", "Bark"]):
        with pytest.raises(ValueError, match="distinct"):
            with_labels(model, labels)
