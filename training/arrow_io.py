"""Streaming examples into `datasets.Dataset`s whose saved bytes depend only on their content.

Building through `Dataset.from_dict` would hold a whole split in memory (10k mixtures of
FLAC stems are gigabytes) and `from_generator` goes through the global cache. Here examples
are streamed into an Arrow file with `ArrowWriter`, memory-mapped back, and saved with
`save_to_disk`. The fingerprint is passed in (a hash of the build arguments) instead of being
random, so that the same arguments give byte-identical `save_to_disk` folders.
"""

import hashlib
import json
import shutil
import tempfile
from pathlib import Path

from datasets import Dataset, DatasetDict, DatasetInfo, NamedSplit
from datasets.arrow_writer import ArrowWriter


def stable_fingerprint(*parts) -> str:
    """A 16-hex-digit fingerprint of JSON-serialisable build arguments."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def stream_to_arrow(examples, features, path, fingerprint: str, batch_size: int = 64) -> int:
    """Write `examples` (an iterable of dicts) to the Arrow file `path`; returns the row count."""
    writer = ArrowWriter(features=features, path=str(path), fingerprint=fingerprint, writer_batch_size=batch_size)
    with writer:
        for example in examples:
            writer.write(example)
        num_rows, _ = writer.finalize()
    return num_rows


def save_dataset_dict(
    split_examples: dict, features, output_dir, fingerprint: str, description: str = ""
) -> DatasetDict:
    """Stream each split's examples to disk and save them as one `DatasetDict` at `output_dir`.

    Args:
        split_examples (`dict`): split name -> iterable of example dicts (consumed in order).
        features (`datasets.Features`): the schema, shared by all splits.
        output_dir: replaced if it exists.
        fingerprint (`str`): base fingerprint; each split's is derived from it and its name.
        description (`str`): stored in each split's `DatasetInfo`.
    """
    output_dir = Path(output_dir)
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output_dir.parent, prefix=f".{output_dir.name}-") as tmp:
        splits = {}
        for split, examples in split_examples.items():
            path = Path(tmp) / f"{split}.arrow"
            stream_to_arrow(examples, features, path, stable_fingerprint(fingerprint, split))
            info = DatasetInfo(description=description, features=features)
            splits[split] = Dataset.from_file(str(path), info=info, split=NamedSplit(split))
        if output_dir.exists():
            shutil.rmtree(output_dir)
        DatasetDict(splits).save_to_disk(str(output_dir))
    return DatasetDict.load_from_disk(str(output_dir))
