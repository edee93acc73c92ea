"""The example mixtures shipped with the package (`modeling_qrtse/examples/`): real recordings.

Three 6 s mixtures (16 kHz FLAC) from the real-recordings test split, each with a partially
matched query (one present class, one absent class), chosen by the fixed rule of
`qrtse.training.real_examples` and never by listening to an output. `examples.json` holds every
recording in each mixture with its Debian package and licence. `qrtse extract --example N` and the
Space use them, so a demo needs nothing downloaded or rendered.
"""

import json
from dataclasses import dataclass
from pathlib import Path

EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"


@dataclass(frozen=True)
class ExampleMixture:
    number: int
    path: Path
    query: tuple  # one present class, one absent class
    present: tuple  # every class in the mixture
    recordings: tuple  # {"class", "package", "file", "licence"} per recording, background last

    def load(self) -> tuple:
        """`(mixture, sampling_rate)`: float32 mono."""
        import soundfile

        audio, rate = soundfile.read(self.path, dtype="float32")
        return audio, rate


def example_mixtures(folder: Path = EXAMPLES_DIR) -> list:
    index = folder / "examples.json"
    if not index.is_file():
        raise ValueError(f"the example mixtures are not in this installation ({folder})")
    entries = json.loads(index.read_text())["examples"]
    return [
        ExampleMixture(n, folder / e["file"], tuple(e["query"]), tuple(e["present"]), tuple(e["recordings"]))
        for n, e in enumerate(entries, start=1)
    ]


def example_mixture(number: int = 1) -> ExampleMixture:
    examples = example_mixtures()
    if not 1 <= number <= len(examples):
        raise ValueError(f"--example takes 1 ... {len(examples)}, got {number}")
    return examples[number - 1]
