import logging

import numpy as np
import soundfile as sf

from qrtse.training.audio_io import decode_audio, decode_pcm16, encode_flac, quantize_pcm16, read_clip


def test_flac_round_trip_is_exact_multichannel():
    pcm = np.random.default_rng(0).integers(-32768, 32767, size=(1000, 6), dtype=np.int16)
    decoded, sample_rate = decode_pcm16(encode_flac(pcm))
    assert sample_rate == 16000
    np.testing.assert_array_equal(decoded, pcm)
    audio, _ = decode_audio(encode_flac(pcm))
    np.testing.assert_array_equal(audio, pcm.astype(np.float32) / 32768)


def test_quantize_rounds_to_nearest_step():
    np.testing.assert_array_equal(quantize_pcm16(np.array([0.5, -1.0, 1.0, 1.4 / 32768])), [16384, -32768, 32767, 1])


def test_read_clip_resamples_to_16k_mono(tmp_path):
    path = tmp_path / "stereo.wav"
    sf.write(path, 0.1 * np.ones((44100, 2)), 44100)
    audio = read_clip(path)
    assert audio.dtype == np.float32 and audio.ndim == 1 and abs(len(audio) - 16000) <= 1


def test_unreadable_or_silent_clips_are_reported_and_skipped(tmp_path, caplog):
    corrupt, silent, missing = tmp_path / "corrupt.wav", tmp_path / "silent.wav", tmp_path / "missing.wav"
    corrupt.write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really a wave file")
    sf.write(silent, np.zeros(1000), 16000)
    with caplog.at_level(logging.WARNING):
        assert read_clip(corrupt) is None
        assert read_clip(silent) is None
        assert read_clip(missing) is None
    for path in (corrupt, silent, missing):
        assert str(path) in caplog.text
