"""Which FSDKaggle2018 classes the General MIDI soundfont covers, and how each is played.

The mapping is the one in the project's offline-corpus notes (GM programs there are 1-based;
`presets` here are 0-based as tinysoundfont takes them). Classes with no honest GM sound
(Cough, Laughter, Shatter, ...) are left out rather than faked. Knock, Keys_jangling and Squeak
have only weak stand-ins (wood blocks, jingle bell, cuica); they are flagged `stand_in` and used
only on request.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class GmClass:
    """How one FSD class is rendered.

    Attributes:
        label (`str`): the FSDKaggle2018 class.
        presets (`tuple` of int): 0-based GM programs, one drawn per clip.
        drum_keys (`tuple` of int): keys of the GM drum kit (channel 10), drawn per hit.
        key_range (`tuple`): lowest and highest MIDI key for melodic presets.
        phrasing (`str`): phrase generator in `qrtse.training.sources.builtin.phrases`.
        stand_in (`bool`): a weak approximation of the class, off by default.
    """

    label: str
    presets: tuple = ()
    drum_keys: tuple = ()
    key_range: tuple = (48, 84)
    phrasing: str = "melodic"
    stand_in: bool = False


GM_CLASSES = (
    GmClass("Acoustic_guitar", presets=(24, 25), key_range=(40, 81), phrasing="chordal"),
    GmClass("Applause", presets=(126,), key_range=(52, 72), phrasing="sustained"),
    GmClass("Bass_drum", drum_keys=(35, 36), phrasing="hits"),
    GmClass("Cello", presets=(42,), key_range=(36, 74), phrasing="melodic"),
    GmClass("Chime", presets=(14,), drum_keys=(84,), key_range=(60, 77), phrasing="bells"),
    GmClass("Clarinet", presets=(71,), key_range=(50, 89), phrasing="melodic"),
    GmClass("Cowbell", drum_keys=(56,), phrasing="hits"),
    GmClass("Double_bass", presets=(43, 32), key_range=(28, 62), phrasing="melodic"),
    GmClass("Electric_piano", presets=(4, 5), key_range=(40, 91), phrasing="chordal"),
    GmClass("Flute", presets=(73,), key_range=(60, 96), phrasing="melodic"),
    GmClass("Glockenspiel", presets=(9,), key_range=(79, 108), phrasing="melodic"),
    GmClass("Gunshot_or_gunfire", presets=(127,), key_range=(50, 70), phrasing="shots"),
    GmClass("Harmonica", presets=(22,), key_range=(60, 84), phrasing="melodic"),
    GmClass("Hi-hat", drum_keys=(42, 44, 46), phrasing="hits"),
    GmClass("Keys_jangling", drum_keys=(83,), phrasing="hits", stand_in=True),
    GmClass("Knock", drum_keys=(76, 77), phrasing="hits", stand_in=True),
    GmClass("Oboe", presets=(68,), key_range=(58, 91), phrasing="melodic"),
    GmClass("Saxophone", presets=(64, 65, 66, 67), key_range=(44, 80), phrasing="melodic"),
    GmClass("Snare_drum", drum_keys=(38, 40), phrasing="hits"),
    GmClass("Squeak", drum_keys=(78, 79), phrasing="hits", stand_in=True),
    GmClass("Tambourine", drum_keys=(54,), phrasing="hits"),
    # TimGM6mb's telephone is one 0.3 s burst: phrases retrigger it in a ring cadence.
    GmClass("Telephone", presets=(124,), key_range=(64, 80), phrasing="ring"),
    GmClass("Trumpet", presets=(56, 59), key_range=(55, 86), phrasing="melodic"),
    GmClass("Violin_or_fiddle", presets=(40, 110), key_range=(55, 100), phrasing="melodic"),
)

GM_CLASSES_BY_LABEL = {c.label: c for c in GM_CLASSES}
