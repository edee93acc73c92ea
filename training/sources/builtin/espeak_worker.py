"""Speak sentences with one espeak-ng voice; run as a script in a fresh interpreter.

stdin: JSON {"voice", "rate_wpm", "pitch", "pitch_range", "sentences": [...]}.
stdout: for each sentence, a 4-byte little-endian sample count, then that many int16 samples;
the sample rate is written first, as 4 bytes.

Why a separate process with one voice: libespeak-ng's output depends on process state once the
voice changes (even across processes whose memory layout differs), but a fresh process that
keeps one voice renders identically every time. The script imports nothing but the standard
library and espeakng-loader, so it starts in a few tens of milliseconds.
"""

import ctypes
import json
import struct
import sys

import espeakng_loader

AUDIO_OUTPUT_SYNCHRONOUS, POS_CHARACTER, CHARS_UTF8 = 2, 1, 1
RATE, VOLUME, PITCH, RANGE = 1, 2, 3, 4


def main():
    request = json.load(sys.stdin)
    library = ctypes.CDLL(espeakng_loader.get_library_path())
    sample_rate = library.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), 0)
    if sample_rate <= 0:
        sys.exit("espeak-ng failed to initialise")
    chunks = []

    @ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)
    def collect(samples, count, events):
        if count > 0:
            chunks.append(ctypes.string_at(samples, count * 2))
        return 0

    library.espeak_SetSynthCallback(collect)
    library.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    if library.espeak_SetVoiceByName(request["voice"].encode()) != 0:
        sys.exit(f"espeak-ng has no voice {request['voice']!r}")
    settings = {RATE: request["rate_wpm"], PITCH: request["pitch"], RANGE: request["pitch_range"], VOLUME: 100}
    for parameter, value in settings.items():
        library.espeak_SetParameter(parameter, int(value), 0)
    out = sys.stdout.buffer
    out.write(struct.pack("<I", sample_rate))
    for sentence in request["sentences"]:
        data = sentence.encode("utf-8") + b"\0"
        chunks.clear()
        library.espeak_Synth(data, len(data), 0, POS_CHARACTER, 0, CHARS_UTF8, None, None)
        library.espeak_Synchronize()
        audio = b"".join(chunks)
        out.write(struct.pack("<I", len(audio) // 2))
        out.write(audio)
    out.flush()


if __name__ == "__main__":
    main()
