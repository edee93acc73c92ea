"""`qrtse stream`: extraction from a live stream, chunk by chunk, with a causal model (issue 31).

    sox in.wav -r 16000 -t wav - | qrtse stream --query Bark --model MODEL > out.wav
    arecord -f S16_LE -r 16000 -c 1 -t raw | qrtse stream -q Bark --model MODEL --format raw | aplay -f S16_LE -r 16000

Reads WAV or raw PCM from stdin or a file (`stream_io`), `--chunk-ms` at a time and never the
whole input first, runs each chunk through `streaming_qrtse.QrtseStreamer.process` and writes the
samples that are final at once, in the input's format, to stdout or a file; `flush` ends the
stream. The input must be at the model's rate: the stream is never resampled, since resampling
adds its own delay and an output rate the user did not ask for; `sox ... -r 16000` or
`ffmpeg ... -ar 16000` upstream does it in the pipe. Several channels are averaged to one.

stderr gets the latency, the refined query whenever it changes, and the compute time per chunk
at the end; stdout gets nothing but audio. Ctrl-C ends the stream as the end of the input does:
the output is flushed and, for a file, completed.
"""

import contextlib
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

from modeling_qrtse.cli.output_files import check_output_paths, partial_path, remove_stale_partials
from modeling_qrtse.cli.stream_io import PcmReader, RawWriter, WavWriter, open_reader, open_unbuffered

OUTPUT_SUFFIXES = {"wav": (".wav",), "raw": (".raw", ".pcm")}


def add_stream_command(subparsers) -> None:
    parser = subparsers.add_parser(
        "stream",
        help="extract the sounds a query names from a live stream, chunk by chunk (causal models)",
        description="Extract target sounds from a WAV or raw PCM stream (stdin by default) to stdout or a file, "
        "chunk by chunk, with a causal model. The input must be at the model's rate (16 kHz by default; "
        "resample upstream, e.g. sox ... -r 16000); several channels are averaged to mono. Latency, the refined "
        "query and compute times go to stderr.",
    )
    parser.add_argument(
        "-q", "--query", nargs="+", required=True, metavar="CLASS", help="classes to extract (see `qrtse classes`)"
    )
    parser.add_argument("--chunk-ms", type=float, default=10.0, help="milliseconds of input per chunk (default 10)")
    parser.add_argument("--model", help="saved causal model folder or Hub id (default: the embedded causal model)")
    parser.add_argument(
        "--threshold", type=float, help="theta of online refinement (default: the model's; 0 switches it off)"
    )
    parser.add_argument("-i", "--input", default="-", help="input file, or - for stdin (default)")
    parser.add_argument("-o", "--output", default="-", help="output file (.wav; .raw or .pcm), or - for stdout")
    parser.add_argument(
        "--format",
        choices=("wav", "raw"),
        default="wav",
        help="the input's format, and so the output's: wav (16-bit PCM or float; the output keeps the sample "
        "type) or raw (s16le mono at the model's rate)",
    )
    parser.add_argument("--realtime", action="store_true", help="read at real time (to simulate a live input)")
    parser.add_argument("--overwrite", action="store_true", help="replace an output file that exists")
    parser.set_defaults(handler=run_stream)


def run_stream(args) -> int:
    source, output = check_ends(args)
    model = load_causal_model(args.model)
    streamer = model.streamer(args.query, threshold=args.threshold)
    rate = model.config.sampling_rate
    chunk_samples = round(args.chunk_ms * rate / 1000)
    if chunk_samples < 1:
        raise ValueError(f"--chunk-ms {args.chunk_ms:g} is less than one sample at {rate} Hz")
    audio_out = sys.stdout.buffer if output is None else None  # taken before stdout is sent to stderr
    try:
        with open_input(source) as stream, contextlib.redirect_stdout(sys.stderr):
            reader = open_reader(stream, args.format, rate)
            check_rate(reader, rate)
            announce(streamer, reader, chunk_samples, source, output)
            with output_sink(output, audio_out) as sink:
                writer, stats = stream_to(sink, output is not None, streamer, reader, chunk_samples, args.realtime)
    except KeyboardInterrupt:  # before the first chunk (once streaming, Ctrl-C ends the stream instead)
        print("interrupted before any audio was streamed", file=sys.stderr)
        return 130
    report(stats, reader, writer)
    return 130 if stats.interrupted else 0


def check_ends(args) -> tuple:
    """`(input, output)` paths (None: stdin, stdout), checked before anything is read or loaded:
    an output we may not write, a missing input, a terminal where audio should flow."""
    if not math.isfinite(args.chunk_ms) or args.chunk_ms <= 0:
        raise ValueError(f"--chunk-ms must be a positive number of milliseconds, got {args.chunk_ms:g}")
    source = None if args.input == "-" else Path(args.input)
    output = None if args.output == "-" else Path(args.output)
    if output is not None:
        check_output_paths([output], [source], args.overwrite, suffixes=OUTPUT_SUFFIXES[args.format])
    elif sys.stdout.isatty():
        raise ValueError("stdout is a terminal: redirect it (> out.wav), pipe it, or pass --output FILE")
    if source is not None and not source.is_file():
        raise ValueError(f"input {source} not found" if not source.exists() else f"input {source} is not a file")
    if source is None and sys.stdin.isatty():
        raise ValueError("stdin is a terminal: pipe audio into it or pass --input FILE")
    return source, output


def load_causal_model(model):
    """The model of `--model`, by default the embedded causal model; a one-line error before its
    weights are loaded when it is not causal."""
    from modeling_qrtse.cli.models import load_checked_model, qrtse_config
    from modeling_qrtse.default_checkpoint import causal_model_available, causal_model_path

    if not model and causal_model_available():
        model = str(causal_model_path())
    source, config = qrtse_config(model)
    if not getattr(config, "causal", False):
        raise ValueError(
            f"streaming needs a causal model and {model or 'the embedded default model'} is not one (its output "
            "reads future input); pass --model with a model trained from a causal preset such as 'small-causal'"
        )
    return load_checked_model(source)


@contextlib.contextmanager
def open_input(source: Path | None):
    if source is None:
        with open_unbuffered(sys.stdin.fileno()) as stdin:
            yield stdin
        return
    try:
        stream = open_unbuffered(source)  # closed below, after the whole stream
    except OSError as error:
        raise ValueError(f"cannot read {source}: {error.strerror or error}") from error
    with stream:
        yield stream


def check_rate(reader: PcmReader, sampling_rate: int) -> None:
    rate = reader.format.sampling_rate
    if rate != sampling_rate:
        raise ValueError(
            f"the input is at {rate} Hz and the model at {sampling_rate} Hz; resample upstream, e.g. "
            f"sox IN -r {sampling_rate} -t wav - | qrtse stream ... or ffmpeg -i IN -ar {sampling_rate} -f wav - | ..."
        )


@contextlib.contextmanager
def output_sink(path: Path | None, stdout):
    """`stdout`, or a temporary file renamed to `path` once the stream is written (`output_files`)."""
    if path is None:
        yield stdout
        return
    remove_stale_partials(path)
    partial = partial_path(path)
    try:
        try:
            sink = open(partial, "wb")  # noqa: SIM115 (closed below, before the rename)
        except OSError as error:
            raise ValueError(f"cannot write {path}: {error.strerror or error}") from error
        with sink:
            yield sink
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def stream_to(sink, seekable: bool, streamer, reader: PcmReader, chunk_samples: int, realtime: bool) -> tuple:
    """The stream written to `sink` in the input's format: `(writer, stats)`."""
    pcm_format = reader.format
    if pcm_format.container == "raw":
        writer = RawWriter(sink)
    else:
        samples = "pcm16" if pcm_format.samples == "pcm16" else "float32"
        writer = WavWriter(sink, pcm_format.sampling_rate, samples, seekable=seekable)
    try:
        stats = stream_through(streamer, reader, writer, chunk_samples, realtime)
        writer.close()
    except BrokenPipeError as error:
        with contextlib.suppress(OSError, ValueError):  # so that Python's flush of stdout at exit fails no more
            os.dup2(os.open(os.devnull, os.O_WRONLY), sink.fileno())
        raise ValueError("the output pipe was closed by the program reading it") from error
    return writer, stats


class StreamStats:
    """What the run measured: compute seconds per chunk, samples in, and how it ended."""

    def __init__(self, chunk_s: float):
        self.chunk_s = chunk_s
        self.compute_s: list = []
        self.samples_in = 0
        self.interrupted = False


def stream_through(streamer, reader: PcmReader, writer, chunk_samples: int, realtime: bool) -> StreamStats:
    """Every chunk of `reader` through `streamer.process` into `writer`, then `flush`."""
    rate = streamer.config.sampling_rate
    stats = StreamStats(chunk_samples / rate)
    query = QueryReport(streamer)
    start = time.perf_counter()
    try:
        while (chunk := reader.read(chunk_samples)) is not None:
            stats.samples_in += len(chunk)
            if realtime:  # a live input's chunk is complete when its last sample has arrived
                time.sleep(max(0.0, start + stats.samples_in / rate - time.perf_counter()))
            began = time.perf_counter()
            extracted = streamer.process(chunk)
            stats.compute_s.append(time.perf_counter() - began)
            writer.write(extracted.numpy())
            query.update()
    except KeyboardInterrupt:  # Ctrl-C ends the stream as the end of the input does
        stats.interrupted = True
    writer.write(streamer.flush().reshape(-1).numpy())
    return stats


class QueryReport:
    """Prints the refined query (eq. 7, online) whenever it changes: `0.53 s: extracting Bark`."""

    def __init__(self, streamer):
        self.streamer = streamer
        self.queried = streamer.processor.decode_query(streamer.query[0, 0])
        self.last = None

    def update(self) -> None:
        if self.streamer.refined_query is None:
            return
        labels = self.streamer.refined_labels()[0][0]
        if labels != self.last:
            config = self.streamer.config
            seconds = self.streamer.frames * config.hop_samples / config.sampling_rate
            what = ", ".join(labels) if labels else f"nothing ({', '.join(self.queried)} not heard)"
            print(f"{seconds:.2f} s: extracting {what}", file=sys.stderr, flush=True)
            self.last = labels


def announce(streamer, reader: PcmReader, chunk_samples: int, source, output) -> None:
    algorithmic = streamer.algorithmic_latency_s * 1000
    buffering = streamer.buffering_latency_s(chunk_samples) * 1000
    print(
        f"streaming {source or 'stdin'} ({reader.format.describe()}) to {output or 'stdout'}, "
        f"{chunk_samples}-sample chunks",
        file=sys.stderr,
    )
    print(
        f"latency: {algorithmic + buffering:.1f} ms = {algorithmic:.1f} ms algorithmic (one encoder window) + "
        f"{buffering:.1f} ms buffering (one chunk), plus each chunk's compute time",
        file=sys.stderr,
        flush=True,
    )


def report(stats: StreamStats, reader: PcmReader, writer) -> None:
    seconds = stats.samples_in / reader.format.sampling_rate
    if stats.interrupted:
        print("interrupted: the stream was flushed and its output completed", file=sys.stderr)
    if reader.dropped_bytes:
        print(f"warning: ignored {reader.dropped_bytes} trailing bytes (not a whole sample)", file=sys.stderr)
    if writer.peak > 1.0 and not (isinstance(writer, WavWriter) and writer.samples == "float32"):
        print(f"warning: the output peaks at {writer.peak:.2f}; clipped to full scale", file=sys.stderr)
    line = f"streamed {seconds:.2f} s in {len(stats.compute_s)} chunks"
    if stats.compute_s:
        compute_ms = np.asarray(stats.compute_s) * 1000
        late = int(np.sum(compute_ms > stats.chunk_s * 1000))
        line += (
            f"; compute per {stats.chunk_s * 1000:g} ms chunk: mean {compute_ms.mean():.2f} ms, "
            f"p99 {np.percentile(compute_ms, 99):.2f} ms"
        )
        if late:
            line += f" ({late} chunks took longer than real time)"
    print(line, file=sys.stderr)
