import json

from modeling_qrtse import QrtseConfig, QrtseModel
from qrtse.training.export_default_model import main


def test_export_writes_a_loadable_package_model(tmp_path):
    run = tmp_path / "run"
    QrtseModel(QrtseConfig.from_preset("tiny", refinement_threshold=0.15)).save_pretrained(run / "final")
    (run / "training_args.json").write_text("{}")
    out = main([str(run / "final"), "--output", str(tmp_path / "default_model")])
    loaded = QrtseModel.from_pretrained(out)
    assert loaded.config.silence_empty_query and loaded.config.refinement_threshold == 0.15
    assert not list(out.glob("*.py")) and "auto_map" not in json.loads((out / "config.json").read_text())
    assert {p.name for p in out.iterdir()} == {
        "config.json",
        "preprocessor_config.json",
        "training_args.json",
        "model.safetensors",
    }  # results are committed once, under results/, not copied next to the model


def test_export_keeps_the_training_args_of_every_stage(tmp_path):
    def run_with(name, init_from):
        run = tmp_path / name
        QrtseModel(QrtseConfig.from_preset("tiny")).save_pretrained(run / "best")
        (run / "training_args.json").write_text(json.dumps({"model": {"init_from": init_from}, "name": name}))
        return run

    first = run_with("first", None)
    second = run_with("second", str(first / "best"))
    third = run_with("third", str(second / "best"))
    out = main([str(third / "best"), "--output", str(tmp_path / "default_model")])
    names = {
        name: json.loads((out / name).read_text())["name"]
        for name in ("training_args.json", "training_args_stage1.json", "training_args_stage2.json")
    }
    assert names == {
        "training_args.json": "third",
        "training_args_stage1.json": "first",
        "training_args_stage2.json": "second",
    }


def test_export_over_the_folder_it_was_initialised_from_keeps_every_stage(tmp_path):
    exported = tmp_path / "default_model"
    QrtseModel(QrtseConfig.from_preset("tiny")).save_pretrained(exported)
    for name, stage in (("training_args.json", "old-latest"), ("training_args_stage1.json", "old-first")):
        (exported / name).write_text(json.dumps({"name": stage}))
    run = tmp_path / "new"
    QrtseModel(QrtseConfig.from_preset("tiny")).save_pretrained(run / "best")
    (run / "training_args.json").write_text(json.dumps({"model": {"init_from": str(exported)}, "name": "new"}))
    out = main([str(run / "best"), "--output", str(exported)])
    stages = {p.name: json.loads(p.read_text())["name"] for p in out.glob("training_args*.json")}
    assert stages == {
        "training_args.json": "new",
        "training_args_stage1.json": "old-first",
        "training_args_stage2.json": "old-latest",
    }


def test_exporting_the_same_run_twice_does_not_repeat_a_stage(tmp_path):
    exported = tmp_path / "default_model"
    QrtseModel(QrtseConfig.from_preset("tiny")).save_pretrained(exported)
    (exported / "training_args.json").write_text(json.dumps({"name": "old"}))
    run = tmp_path / "new"
    QrtseModel(QrtseConfig.from_preset("tiny")).save_pretrained(run / "best")
    (run / "training_args.json").write_text(json.dumps({"model": {"init_from": str(exported)}, "name": "new"}))
    for _ in range(2):
        out = main([str(run / "best"), "--output", str(exported)])
    stages = {p.name: json.loads(p.read_text())["name"] for p in out.glob("training_args*.json")}
    assert stages == {"training_args.json": "new", "training_args_stage1.json": "old"}
