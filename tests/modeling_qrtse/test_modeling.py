import pytest
import torch

from modeling_qrtse import QrtseConfig, QrtseModel


def one_hot_query(batch, num_labels, index=0):
    query = torch.zeros(batch, num_labels)
    query[:, index] = 1
    return query


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("num_samples", [80, 1601, 4000])
@pytest.mark.parametrize("norm_type", ["cLN", "gLN"])
@pytest.mark.parametrize("use_classifier", [True, False])
def test_output_shapes(batch, num_samples, norm_type, use_classifier):
    config = QrtseConfig.from_preset("tiny", norm_type=norm_type, use_classifier=use_classifier)
    model = QrtseModel(config).eval()
    output = model(torch.randn(batch, num_samples), one_hot_query(batch, config.num_labels), threshold=0.0)
    assert output.extracted_values.shape == (batch, num_samples)
    assert output.refined_query.shape == (batch, config.num_labels)
    if use_classifier:
        frames = model.encode(torch.randn(batch, num_samples)).shape[-1]
        assert output.clip_probabilities.shape == (batch, config.num_labels)
        assert output.frame_probabilities.shape == (batch, frames, config.num_labels)
        assert ((output.clip_probabilities >= 0) & (output.clip_probabilities <= 1)).all()


@pytest.mark.parametrize("window_ms, hop_ms", [(5.0, 2.5), (4.0, 1.0), (2.0, 2.0)])
def test_encoder_decoder_lengths(window_ms, hop_ms):
    config = QrtseConfig.from_preset("tiny", window_ms=window_ms, hop_ms=hop_ms)
    model = QrtseModel(config).eval()
    for num_samples in (config.window_samples, 999, 1000, 1001):
        waveform = torch.randn(2, num_samples)
        assert model(waveform, one_hot_query(2, config.num_labels), threshold=0.0).extracted_values.shape == (
            2,
            num_samples,
        )


def test_loss_is_the_weighted_sum(tiny_model):
    waveform, target = torch.randn(2, 1600), torch.randn(2, 1600)
    query = one_hot_query(2, tiny_model.config.num_labels)
    output = tiny_model(waveform, query, threshold=0.0, target_values=target, presence_labels=query)
    expected = output.extraction_loss + tiny_model.config.classification_loss_weight * output.classification_loss
    assert torch.allclose(output.loss, expected)


def test_training_step_updates_every_used_parameter(tiny_config):
    model = QrtseModel(tiny_config).train()
    query = one_hot_query(2, tiny_config.num_labels)
    output = model(
        torch.randn(2, 1600), query, threshold=0.0, target_values=torch.randn(2, 1600), presence_labels=query
    )
    output.loss.backward()
    without_grad = [name for name, p in model.named_parameters() if p.grad is None]
    # Only the last block's residual convs feed nothing (kept so parameter counts match the paper).
    assert all("residual_conv" in name for name in without_grad)


def test_k_queries_equal_k_separate_calls_and_run_the_trunk_once(tiny_model):
    torch.manual_seed(3)
    waveform = torch.randn(2, 2400)
    num_labels = tiny_model.config.num_labels
    queries = torch.zeros(2, 3, num_labels)
    queries[:, 0, 0] = 1
    queries[:, 1, [1, 4]] = 1
    queries[:, 2, 7] = 1
    calls = {"trunk": 0, "mask": 0}
    hooks = [
        tiny_model.shared_extractor.register_forward_hook(lambda *_: calls.__setitem__("trunk", calls["trunk"] + 1)),
        tiny_model.mask_estimator.register_forward_hook(lambda *_: calls.__setitem__("mask", calls["mask"] + 1)),
    ]
    together = tiny_model(waveform, queries, threshold=0.0).extracted_values
    assert together.shape == (2, 3, 2400)
    assert calls == {"trunk": 1, "mask": 1}
    for hook in hooks:
        hook.remove()
    for k in range(3):
        separate = tiny_model(waveform, queries[:, k], threshold=0.0).extracted_values
        assert torch.allclose(together[:, k], separate, atol=1e-5)


def test_multi_query_targets_and_loss(tiny_model):
    # K queries with K targets: one loss over every (item, query) pair, each weighted alike, so it
    # equals the mean of the losses of K separate calls (one target silent: the inactive-sample branch).
    torch.manual_seed(5)
    waveform = torch.randn(2, 1600)
    queries = torch.zeros(2, 2, tiny_model.config.num_labels)
    queries[:, 0, 0] = queries[:, 1, 1] = 1
    targets = torch.randn(2, 2, 1600)
    targets[1, 1] = 0
    presence = queries.amax(dim=1)
    output = tiny_model(waveform, queries, threshold=0.0, target_values=targets, presence_labels=presence)
    assert output.loss.shape == ()
    separate = [
        tiny_model(waveform, queries[:, k], threshold=0.0, target_values=targets[:, k], presence_labels=presence)
        for k in range(2)
    ]
    assert torch.allclose(output.extraction_loss, torch.stack([s.extraction_loss for s in separate]).mean(), atol=1e-4)
    assert torch.allclose(output.classification_loss, separate[0].classification_loss)
    assert torch.allclose(output.loss, torch.stack([s.loss for s in separate]).mean(), atol=1e-4)


def test_padding_is_excluded_from_output_and_pooling(tiny_model):
    from modeling_qrtse.classifier_qrtse import pool_frames

    torch.manual_seed(4)
    short = torch.randn(1, 1200)
    batch = torch.cat([torch.cat([short, torch.zeros(1, 800)], dim=1), torch.randn(1, 2000)])
    mask = torch.ones(2, 2000, dtype=torch.long)
    mask[0, 1200:] = 0
    query = one_hot_query(2, tiny_model.config.num_labels)
    batched = tiny_model(batch, query, attention_mask=mask, threshold=0.0)
    alone = tiny_model(short, query[:1], threshold=0.0)
    assert batched.extracted_values[0, 1200:].abs().max() == 0
    valid_frames = alone.frame_probabilities.shape[1]
    pooled = pool_frames(batched.frame_probabilities[:1, :valid_frames], torch.ones(1, valid_frames), "linear_softmax")
    assert torch.allclose(batched.clip_probabilities[0], pooled[0], atol=1e-6)
    # Frames next to the padding see zeros instead of encoder padding, so only close, not equal.
    assert torch.allclose(batched.clip_probabilities[0], alone.clip_probabilities[0], atol=1e-2)


def test_return_dict_false_gives_a_tuple(tiny_model):
    output = tiny_model(
        torch.randn(1, 800), one_hot_query(1, tiny_model.config.num_labels), threshold=0.0, return_dict=False
    )
    assert isinstance(output, tuple) and output[0].shape == (1, 800)


def test_cln_model_output_is_local_in_time(tiny_config):
    """With cLN the output at a sample depends only on the receptive field around it."""
    tiny_config.use_classifier = False
    model = QrtseModel(tiny_config).eval()
    waveform = torch.randn(1, 8000)
    changed = waveform.clone()
    changed[0, 6000:] = torch.randn(2000)
    query = one_hot_query(1, tiny_config.num_labels)
    a = model(waveform, query, threshold=0.0).extracted_values
    b = model(changed, query, threshold=0.0).extracted_values
    reach = (tiny_config.receptive_field_frames + 2) * tiny_config.hop_samples
    assert torch.equal(a[0, : 6000 - reach], b[0, : 6000 - reach])
    assert not torch.equal(a[0, 6000:], b[0, 6000:])


@pytest.mark.parametrize(
    "waveform, query, kwargs, message",
    [
        (torch.randn(1, 800), torch.zeros(1, 40), {}, "length 40"),
        (torch.randn(1, 800), torch.full((1, 41), 0.5), {}, "multi-hot"),
        (torch.randn(1, 800), torch.zeros(1, 41), {"threshold": 1.2}, "threshold"),
        (torch.randn(1, 800), torch.zeros(1, 41), {"threshold": -0.1}, "threshold"),
        (torch.randn(1, 10), torch.zeros(1, 41), {}, "shorter than one encoder window"),
        (torch.tensor([[float("nan")] * 800]), torch.zeros(1, 41), {}, "NaN or Inf"),
        (torch.tensor([[float("inf")] * 800]), torch.zeros(1, 41), {}, "NaN or Inf"),
        (torch.randn(800), torch.zeros(1, 41), {}, r"shape \(batch, time\)"),
        (torch.randn(1, 1, 800), torch.zeros(1, 41), {}, r"shape \(batch, time\)"),
        (torch.randn(2, 800), torch.zeros(1, 41), {}, "query must have shape"),
    ],
)
def test_bad_input_raises_a_specific_error(tiny_model, waveform, query, kwargs, message):
    with pytest.raises(ValueError, match=message):
        tiny_model(waveform, query, **kwargs)


def test_target_shape_mismatch(tiny_model):
    with pytest.raises(ValueError, match="target_values must have shape"):
        tiny_model(torch.randn(1, 800), one_hot_query(1, 41), threshold=0.0, target_values=torch.randn(1, 700))
