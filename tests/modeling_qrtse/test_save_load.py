import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch
from transformers import AutoModel, pipeline

from modeling_qrtse import TASK, QrtseConfig, QrtseFeatureExtractor, QrtseModel, TargetSoundExtractionPipeline
from modeling_qrtse.weights_qrtse import from_pretrained_safetensors


def pickled_only(model, folder):
    """`folder` with `model` saved as a pickled `pytorch_model.bin` only (and its feature extractor)."""
    model.save_pretrained(folder)
    QrtseFeatureExtractor(sampling_rate=model.config.sampling_rate).save_pretrained(folder)
    (folder / "model.safetensors").unlink()
    torch.save(model.state_dict(), folder / "pytorch_model.bin")
    return folder


def test_save_load_round_trip_is_bit_exact(tiny_model, tmp_path):
    tiny_model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").exists()
    assert not list(tmp_path.glob("*.bin"))
    loaded = QrtseModel.from_pretrained(tmp_path).eval()
    for (name, a), (_, b) in zip(tiny_model.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), name
    waveform, query = torch.randn(1, 1600), torch.zeros(1, tiny_model.config.num_labels)
    query[0, 2] = 1
    assert torch.equal(tiny_model(waveform, query).extracted_values, loaded(waveform, query).extracted_values)
    assert loaded.config.id2label == tiny_model.config.id2label


def test_saved_folder_carries_remote_code(tiny_model, tmp_path):
    tiny_model.save_pretrained(tmp_path)
    QrtseFeatureExtractor().save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["auto_map"]["AutoModel"] == "modeling_qrtse.QrtseModel"
    for name in (
        "modeling_qrtse.py",
        "configuration_qrtse.py",
        "tcn_qrtse.py",
        "classifier_qrtse.py",
        "weights_qrtse.py",
    ):
        assert (tmp_path / name).exists(), name


def test_remote_code_loads_where_the_package_cannot_be_imported(tiny_model, tmp_path):
    folder = tmp_path / "model"
    tiny_model.save_pretrained(folder)
    QrtseFeatureExtractor().save_pretrained(folder)
    torch.manual_seed(0)
    waveform = torch.randn(1, 1600)
    query = torch.zeros(1, tiny_model.config.num_labels)
    query[0, 1] = 1
    torch.save({"waveform": waveform, "query": query}, tmp_path / "inputs.pt")
    expected = tiny_model(waveform, query).extracted_values
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules["modeling_qrtse"] = None  # make the package unimportable
        import torch
        from transformers import AutoFeatureExtractor, AutoModel
        folder = {str(folder)!r}
        model = AutoModel.from_pretrained(folder, trust_remote_code=True).eval()
        extractor = AutoFeatureExtractor.from_pretrained(folder, trust_remote_code=True)
        assert type(model).__name__ == "QrtseModel", type(model)
        assert type(extractor).__name__ == "QrtseFeatureExtractor", type(extractor)
        inputs = torch.load({str(tmp_path / "inputs.pt")!r})
        out = model(inputs["waveform"], inputs["query"]).extracted_values
        torch.save(out, {str(tmp_path / "out.pt")!r})
        # The remote code refuses pickled weights too.
        import os
        os.remove(folder + "/model.safetensors")
        torch.save(model.state_dict(), folder + "/pytorch_model.bin")
        try:
            AutoModel.from_pretrained(folder, trust_remote_code=True)
        except ValueError as error:
            assert "only pickled PyTorch weights" in str(error), error
        else:
            raise AssertionError("remote code loaded pickled weights")
        """
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_MODULES_CACHE": str(tmp_path / "modules")}
    result = subprocess.run(
        [sys.executable, "-c", script], check=False, cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert torch.equal(torch.load(tmp_path / "out.pt"), expected)


def test_pickled_weights_only_are_refused_with_how_to_convert(tiny_model, tmp_path):
    folder = pickled_only(tiny_model, tmp_path / "model")
    for load in (QrtseModel.from_pretrained, AutoModel.from_pretrained):
        with pytest.raises(ValueError, match="only pickled PyTorch weights .* safe_serialization=True"):
            load(folder)
    with pytest.raises(ValueError, match="only pickled PyTorch weights"):
        pipeline(TASK, model=str(folder), pipeline_class=TargetSoundExtractionPipeline)
    with pytest.raises(ValueError, match="safetensors weights only"):
        QrtseModel.from_pretrained(folder, use_safetensors=False)
    # The conversion the message gives, then a normal load.
    model = QrtseModel(QrtseConfig.from_pretrained(folder))
    model.load_state_dict(torch.load(folder / "pytorch_model.bin", weights_only=True))
    model.save_pretrained(folder, safe_serialization=True)
    loaded = QrtseModel.from_pretrained(folder)
    for (name, a), (_, b) in zip(tiny_model.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), name


def test_a_hub_repository_without_safetensors_is_refused_with_how_to_convert():
    def hub_without_safetensors(repo_id, **kwargs):
        assert kwargs["use_safetensors"] is True
        # transformers' own message for a repository with no safetensors file
        raise OSError(
            f"{repo_id} does not appear to have a file named model.safetensors or "
            "model.safetensors.index.json and thus cannot be loaded with `safetensors`."
        )

    with pytest.raises(ValueError, match="user/old-model has no safetensors weights .* safe_serialization=True"):
        from_pretrained_safetensors(hub_without_safetensors, "user/old-model")

    def offline(repo_id, **kwargs):
        raise OSError("We couldn't connect to the Hub")

    with pytest.raises(OSError, match="couldn't connect"):  # other failures pass through as they are
        from_pretrained_safetensors(offline, "user/old-model")
