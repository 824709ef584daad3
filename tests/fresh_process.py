"""Test scripts run in a fresh Python process: no conftest, no earlier test, has touched its
settings. It imports this checkout's fnjit and reports by printing one JSON line last."""

import json
import os
import subprocess
import sys
from pathlib import Path

import fnjit

FNJIT_PATH = str(Path(fnjit.__file__).resolve().parent.parent)

# Script lines that count what Numba compiles in the script's process (not what it loads from
# the disk cache): `compiled` gets [function, signature] of each compile not nested in another.
# No braces, so that a script built on it can still be .format()ted.
COUNT_COMPILES = """
from numba.core import event

compiled = []


class Outermost(event.Listener):
    depth = 0

    def on_start(self, ev):
        self.depth += 1

    def on_end(self, ev):
        self.depth -= 1
        if self.depth == 0:
            compiled.append([ev.data["dispatcher"].py_func.__name__, str(ev.data["args"])])


event.register("numba:compile", Outermost())
"""


def run_script(script, cache_dir, *, unset=(), timeout=300, **env):
    """The last line of `script`'s output, parsed as JSON. `unset`: variables of this process
    the script must not see; `env`: variables it sees (FNJIT_CACHE_DIR is `cache_dir`)."""
    full = {k: v for k, v in os.environ.items() if k not in unset}
    full.update(PYTHONPATH=FNJIT_PATH, FNJIT_CACHE_DIR=str(cache_dir), **env)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=full, timeout=timeout, cwd=Path(FNJIT_PATH).parent)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])
