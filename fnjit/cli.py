"""The `fnjit` command line.

    fnjit dump path/to/script.py:model [--out DIR] [--ir | --plan] [--kind train|predict]
    fnjit dump package.module:model
    fnjit export path/to/script.py:model DIR
    fnjit cache dir | info | prune [--max-mb MB] | clear
    fnjit --version
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import runpy
import sys
from pathlib import Path

from .codegen import cache


def load_target(spec: str):
    """The object named by `path/to/script.py:attribute` or `package.module:attribute`."""
    if ":" not in spec:
        raise SystemExit(f"fnjit: TARGET must be 'path/to/script.py:attribute' or "
                         f"'package.module:attribute', got {spec!r}")
    where, attr = spec.rsplit(":", 1)
    if where.endswith(".py") or Path(where).exists():
        path = Path(where)
        if not path.exists():
            raise SystemExit(f"fnjit: no such file {where!r}")
        sys.path.insert(0, str(path.resolve().parent))
        namespace = runpy.run_path(str(path), run_name="__fnjit_dump__")
    else:
        namespace = vars(importlib.import_module(where))
    obj = namespace
    for part in attr.split("."):
        try:
            obj = obj[part] if isinstance(obj, dict) else getattr(obj, part)
        except (KeyError, AttributeError):
            raise SystemExit(f"fnjit: {where!r} has no attribute {attr!r}") from None
    if callable(obj) and not hasattr(obj, "generated_source"):
        obj = obj()  # a function that builds the model
    if not hasattr(obj, "generated_source"):
        raise SystemExit(f"fnjit: {spec!r} is a {type(obj).__name__}, not a fnjit model")
    return obj


def dump(args):
    model = load_target(args.target)
    if args.out:  # an importable directory: the same files as `fnjit export`
        print(model.export_source(args.out))
        return
    if args.plan:
        if args.kind == "predict":
            raise SystemExit("fnjit dump: --plan is the training program's backward; the "
                             "predict program has none (drop --kind predict)")
        try:
            text = model.generated_plan()
        except ValueError as e:
            raise SystemExit(f"fnjit dump --plan: {e}") from None
    elif args.ir:
        text = model.generated_ir(args.kind)
    else:
        text = model.generated_source(args.kind)
    sys.stdout.write(text)


def _version():
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("fnjit")
    except PackageNotFoundError:
        from .codegen import __version__

        return __version__


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="fnjit", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="fnjit: the Keras functional API, compiled. Commands:\n\n"
        "  dump TARGET   print the code generated for a model (TARGET is\n"
        "                path/to/script.py:model or package.module:model; --ir for the IR,\n"
        "                --plan for the backward plan)\n"
        "  export TARGET DIR  write the model's code, weights and run.py into DIR: a\n"
        "                program that needs only numpy and numba\n"
        "  cache ACTION  the on-disk code cache: dir, info, prune, clear\n\n"
        "`fnjit COMMAND --help` says more about each.")
    parser.add_argument("--version", action="version", version=f"fnjit {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dump", help="print the generated source (or IR) of a model")
    d.add_argument("target", help="path/to/script.py:model or package.module:model")
    d.add_argument("--out", help="write the code as an importable directory (as export)")
    shown = d.add_mutually_exclusive_group()
    shown.add_argument("--ir", action="store_true", help="print the lowered IR as a table")
    shown.add_argument("--plan", action="store_true",
                       help="print the backward plan as a table: for each forward op, in the "
                       "order the generated backward runs them, the gradient buffers it reads "
                       "and writes")
    d.add_argument("--kind", choices=["train", "predict"], default=None,
                   help="which program (default: train if the model is compiled)")
    e = sub.add_parser("export", help="write a model's code, weights and run.py into a "
                       "directory that runs without fnjit (numpy and numba only)")
    e.add_argument("target", help="path/to/script.py:model or package.module:model")
    e.add_argument("directory", help="where to write (created if needed)")
    c = sub.add_parser("cache", help="where the code cache is, its size; prune or clear it",
                       description="dir: print the cache directory; info: its size, entries "
                       "and cap (FNJIT_CACHE_MAX_MB); prune: delete least recently used "
                       "entries down to the cap (or --max-mb) and stale temporary files; "
                       "clear: delete everything")
    c.add_argument("action", choices=["dir", "info", "prune", "clear"])
    c.add_argument("--max-mb", type=float, default=None,
                   help="with prune: the size to prune down to (default: the cap)")
    args = parser.parse_args(argv)
    if args.command == "dump":
        dump(args)
    elif args.command == "export":
        print(load_target(args.target).export_source(args.directory))
    else:
        cache_command(args)
    return 0


def cache_command(args):
    if args.max_mb is not None and args.action != "prune":
        raise SystemExit("fnjit cache: --max-mb goes with prune")
    if args.action == "dir":
        print(cache.default_cache_dir())
    elif args.action == "info":
        i = cache.info()
        print(f"directory: {i['directory']}\nentries:   {i['entries']}\n"
              f"size:      {i['bytes'] / 2**20:.1f} MB\n"
              f"cap:       {i['max_bytes'] / 2**20:.0f} MB (FNJIT_CACHE_MAX_MB)")
    elif args.action == "prune":
        if args.max_mb is not None and args.max_mb < 0:
            raise SystemExit(f"fnjit cache prune: --max-mb must be >= 0, got {args.max_mb}")
        limit = None if args.max_mb is None else int(args.max_mb * 2**20)
        removed, freed = cache.prune(limit=limit)
        print(f"removed {removed} entries, freed {freed / 2**20:.1f} MB from "
              f"{cache.default_cache_dir()}")
    else:
        cache.clear()
        print(f"cleared {cache.default_cache_dir()}")


if __name__ == "__main__":
    sys.exit(main())
