"""The `fnjit` command line.

    fnjit dump path/to/script.py:model [--out DIR] [--ir] [--kind train|predict]
    fnjit dump package.module:model
    fnjit cache dir | clear
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import re
import runpy
import sys
from pathlib import Path

from .codegen import cache


def load_target(spec: str):
    """The object named by `path/to/script.py:attribute` or `package.module:attribute`."""
    if ":" not in spec:
        raise SystemExit(f"fnjit dump: TARGET must be 'path/to/script.py:attribute' or "
                         f"'package.module:attribute', got {spec!r}")
    where, attr = spec.rsplit(":", 1)
    if where.endswith(".py") or Path(where).exists():
        path = Path(where)
        if not path.exists():
            raise SystemExit(f"fnjit dump: no such file {where!r}")
        sys.path.insert(0, str(path.resolve().parent))
        namespace = runpy.run_path(str(path), run_name="__fnjit_dump__")
    else:
        namespace = vars(importlib.import_module(where))
    obj = namespace
    for part in attr.split("."):
        try:
            obj = obj[part] if isinstance(obj, dict) else getattr(obj, part)
        except (KeyError, AttributeError):
            raise SystemExit(f"fnjit dump: {where!r} has no attribute {attr!r}") from None
    if callable(obj) and not hasattr(obj, "generated_source"):
        obj = obj()  # a function that builds the model
    if not hasattr(obj, "generated_source"):
        raise SystemExit(f"fnjit dump: {spec!r} is a {type(obj).__name__}, not a fnjit model")
    return obj


def dump(args):
    model = load_target(args.target)
    text = model.generated_ir(args.kind) if args.ir else model.generated_source(args.kind)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        # The model's name may come from a file: only its plain characters make the file name,
        # so that it cannot point outside DIR.
        stem = re.sub(r"[^A-Za-z0-9_-]", "_", model.name)[:100] or "model"
        name = f"{stem}.{'ir.txt' if args.ir else 'py'}"
        cache.write_atomic(out / name, text.encode())
        print(out / name)
    else:
        sys.stdout.write(text)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="fnjit", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dump", help="print the generated source (or IR) of a model")
    d.add_argument("target", help="path/to/script.py:model or package.module:model")
    d.add_argument("--out", help="write into this directory instead of printing")
    d.add_argument("--ir", action="store_true", help="print the lowered IR as a table")
    d.add_argument("--kind", choices=["train", "predict"], default=None,
                   help="which program (default: train if the model is compiled)")
    c = sub.add_parser("cache", help="show or clear the code cache")
    c.add_argument("action", choices=["dir", "clear"])
    args = parser.parse_args(argv)
    if args.command == "dump":
        dump(args)
    elif args.action == "dir":
        print(cache.default_cache_dir())
    else:
        cache.clear()
        print(f"cleared {cache.default_cache_dir()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
