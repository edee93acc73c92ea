import json
import os
import subprocess
import sys
import textwrap

import torch

from modeling_qrtse import QrtseFeatureExtractor, QrtseModel


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
    for name in ("modeling_qrtse.py", "configuration_qrtse.py", "tcn_qrtse.py", "classifier_qrtse.py"):
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
        """
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_MODULES_CACHE": str(tmp_path / "modules")}
    result = subprocess.run(
        [sys.executable, "-c", script], check=False, cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert torch.equal(torch.load(tmp_path / "out.pt"), expected)
