"""The README's summary tables are what `readme_tables` prints from the committed results."""

import json
import re

from test_train import ROOT

from qrtse.training.readme_tables import SPLITS, models_table, shipped_stages, table1_table

RESULTS = ROOT / "results"


def _section_rows(title_start: str) -> list:
    """The table rows (not header or rule) of the README section whose title starts so."""
    lines = (ROOT / "README.md").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"## {title_start}"))
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return [line for line in lines[start:end] if line.startswith("| ") and not line.startswith("| System |")]


def test_table1_at_equal_steps_in_the_readme_is_the_results():
    printed = [row for split in SPLITS for row in table1_table(RESULTS, split)[2:]]
    assert sorted(_section_rows("Table 1 at equal steps")) == sorted(printed)


def test_earlier_default_models_in_the_readme_are_the_results():
    rows = [row for row in _section_rows("Earlier default models") if re.match(r"\| v\d+ \|", row)]
    versions = [row.split(" | ")[0].removeprefix("| ") for row in rows]
    assert versions[0] == "v3" and len(versions) >= 6
    assert rows == models_table(RESULTS, versions)[2:]


def test_a_version_is_named_by_the_stage_that_shipped_it(tmp_path):
    for stage, shipped in [(9, True), (10, False), (11, True)]:
        (tmp_path / "stages" / f"{stage:02d}").mkdir(parents=True)
        decision = {"stage": stage, "shipped_candidate": shipped}
        (tmp_path / "stages" / f"{stage:02d}" / "decision.json").write_text(json.dumps(decision))
    assert shipped_stages(tmp_path) == {"v4": "stage 9", "v5": "stage 11"}
