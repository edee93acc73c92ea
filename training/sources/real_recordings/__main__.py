"""`python -m qrtse.training.sources.real_recordings --summary [--json PATH|-] [--cache DIR] [--no-fetch]`:
what the real-recordings corpus holds per class (fetching its Debian packages first if needed)."""

import argparse
import json
import logging
import sys

from .manifest import MANIFEST_PATH, load_manifest
from .packages import DEFAULT_CACHE, DebianCache
from .source import RealRecordingsSource
from .summary import format_summary, summarise


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m qrtse.training.sources.real_recordings", description=__doc__)
    parser.add_argument(
        "--summary", action="store_true", help="print clips, seconds, files, packages and licences per class"
    )
    parser.add_argument("--json", metavar="PATH", help="also write the summary as JSON ('-' for stdout)")
    parser.add_argument("--cache", default=str(DEFAULT_CACHE), help=f"unpacked packages (default {DEFAULT_CACHE})")
    parser.add_argument(
        "--manifest", default=str(MANIFEST_PATH), help="labelling rules (default: the shipped manifest)"
    )
    parser.add_argument("--no-fetch", action="store_true", help="use only what the cache holds")
    args = parser.parse_args(argv)
    if not (args.summary or args.json):
        parser.error("nothing to do: pass --summary and/or --json")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    source = RealRecordingsSource(DebianCache(args.cache, fetch=not args.no_fetch), load_manifest(args.manifest))
    summary = summarise(source)
    if args.summary:
        print(format_summary(summary))
    if args.json == "-":
        json.dump(summary, sys.stdout, indent=2)
        print()
    elif args.json:
        with open(args.json, "w") as handle:
            json.dump(summary, handle, indent=2)
            handle.write("\n")


if __name__ == "__main__":
    main()
