"""``ember data list`` and ``ember data download NAME``: what comes with ember, what downloads, where it goes."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ember.cli.common import command
from ember.data import SHIPPED, download


def _list(args: argparse.Namespace) -> int:
    print(f"shipped with ember (in {SHIPPED}):")
    for name, (what, source, licence) in download.SHIPPED_DATASETS.items():
        print(f"  {name:<14} {what}\n  {'':<14} source: {source}; licence: {licence}")
    print(f"downloadable (ember data download NAME; cache: {download.cache_directory()}):")
    for name, remote in download.DATASETS.items():
        state = "downloaded" if download.is_downloaded(name) else "not downloaded"
        size = sum(f.size for f in remote.files) / 1e6
        print(f"  {name:<14} {remote.description} ({size:.1f} MB, {state})\n"
              f"  {'':<14} source: {remote.source}; licence: {remote.licence}")
    return 0


def _progress(name: str, done: int, total: int) -> None:
    end = "\n" if done >= total else ""
    print(f"\r{name}: {done / 1e6:.1f} of {total / 1e6:.1f} MB", end=end, file=sys.stderr, flush=True)


def _download(args: argparse.Namespace) -> int:
    progress = None if args.quiet or not sys.stderr.isatty() else _progress
    folder = download.download(args.name, kinds=tuple(args.kind), cache_dir=args.cache,
                               mirrors=args.mirror or None, progress=progress)
    print(f"{args.name}: verified (sha256) in {folder}")
    return 0


def add_parsers(subparsers: Any) -> None:
    """Declare ``data list`` and ``data download``."""
    group = command(subparsers, "data", _list, help="list the shipped and downloadable datasets, download them",
                    description="Without a subcommand: list the datasets (as 'ember data list').")
    commands = group.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    command(commands, "list", _list, help="the datasets shipped with ember and those it downloads, with sources "
                                          "and licences")
    fetch = command(commands, "download", _download,
                    help="download a dataset into the cache, checked by sha256 (an interrupted download resumes)",
                    epilog="examples:\n  ember data download mnist\n  EMBER_CACHE=/data/ember ember data download "
                           "fashion-mnist")
    fetch.add_argument("name", choices=tuple(download.DATASETS), help="the dataset")
    fetch.add_argument("--kind", choices=("train", "t10k"), nargs="+", default=["train", "t10k"],
                       help="which parts")
    fetch.add_argument("--cache", metavar="DIR", default=None,
                       help="the cache folder (if not given: $EMBER_CACHE, else ~/.cache/ember)")
    fetch.add_argument("--mirror", metavar="URL", action="append",
                       help="a base URL to download from instead of the dataset's own (repeatable)")
    fetch.add_argument("--quiet", action="store_true", help="no progress line")
