"""The README's summary tables are what `readme_tables` prints from the committed results."""

import json
import re

from test_train import ROOT

from qrtse.training.readme_tables import (
    SPLITS,
    models_table,
    shipped_stages,
    shipped_table,
    stages_table,
    table1_table,
)

RESULTS = ROOT / "results"


def _section(heading: str) -> tuple:
    """(title, table rows without their `|---|` rules) of the README section whose heading line
    starts with `heading` (its `#`s included), up to the next `##` or `###` heading."""
    lines = (ROOT / "README.md").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"#{2,3} ", lines[i])), len(lines))
    return lines[start], [line for line in lines[start:end] if line.startswith("| ")]


def _without_rules(lines) -> list:
    return [line for line in lines if not line.startswith("|---")]


def test_the_stage_table_is_results_stages():
    _, rows = _section("### Bounded training stages")
    hand_written = [row for row in rows if row.startswith("| 1-8 |")]  # stages before the protocol
    assert len(hand_written) == 1
    assert [row for row in rows if row not in hand_written] == _without_rules(stages_table(RESULTS))


def test_the_shipped_models_table_is_its_test_results():
    title, rows = _section("## The embedded default model (")
    version = re.match(r"## The embedded default model \((v\d+):", title).group(1)
    assert rows == _without_rules(shipped_table(RESULTS, version))


def test_earlier_default_models_in_the_readme_are_the_results():
    _, rows = _section("## Earlier default models")
    versions = [re.match(r"\| (v\d+) \|", row).group(1) for row in rows[1:]]
    assert versions[0] == "v3" and len(versions) >= 6
    assert rows == _without_rules(models_table(RESULTS, versions))


def test_table1_at_equal_steps_in_the_readme_is_the_results():
    _, rows = _section("## Table 1 at equal steps")
    printed = [row for split in SPLITS for row in _without_rules(table1_table(RESULTS, split))]
    assert sorted(rows) == sorted(printed)


def test_a_version_is_named_by_the_stage_that_shipped_it(tmp_path):
    for stage, shipped in [(9, True), (10, False), (11, True)]:
        (tmp_path / "stages" / f"{stage:02d}").mkdir(parents=True)
        decision = {"stage": stage, "shipped_candidate": shipped}
        (tmp_path / "stages" / f"{stage:02d}" / "decision.json").write_text(json.dumps(decision))
    (tmp_path / "stages" / "12").mkdir()  # running: no decision yet
    assert shipped_stages(tmp_path) == {"v4": "stage 9", "v5": "stage 11"}
