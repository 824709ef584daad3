"""Mutation testing of fnjit's core: does the suite fail when the code is wrong?

    python tests/mutation/run.py [--max 60] [--seed 0] [--jobs 2] [--part optimizers ...]
                                 [--budget SECONDS] [--fail-under 90] [--list] [--report PATH]

Each mutant is one small change to one file: for the Python (the compiler in codegen/, the
optimizers, the losses, the loss weighting of training, the summary) one of cosmic-ray's
operators at one site; for templates/*.j2 one of tests/mutation/template_mutants.py's. A mutant
is applied to a private copy of the checkout (never to the working tree), then the tests that
cover its file run there (`pytest -x`, fixed order): a failing run kills it, a passing one means
it survived. Timeouts count as killed and are listed apart.

Numba compiles every changed kernel, so a full run takes hours: the runner takes a deterministic
sample. Sites are shuffled by --seed within each part (round-robin over its files), one
operator drawn per site, and --max mutants are shared between the parts in proportion to the
square root of their number of sites. --budget stops starting new mutants after that many
seconds. Survivors are printed with their diff; the markdown report (--report) is what to read
and to keep.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).parent))

from template_mutants import mutants as template_mutants  # noqa: E402

OPTIMIZER_TESTS = ["tests/test_optimizers.py", "tests/test_training.py", "tests/test_saving.py",
                   "-k", "test_optimizers.py or keras_rule or refused or learning_rate or keras1"
                   " or defaults or optimizer_variables"]
CORE_TESTS = ["tests/test_ops.py", "tests/test_training.py"]
# test_losses_keras: the loss classes' options (from_logits kernels, label smoothing) in models
# test_masking: the losses of masked outputs (weighted by the mask, or refused)
LOSS_TESTS = ["tests/test_losses.py", "tests/test_custom_loss.py", "tests/test_losses_keras.py",
              "tests/test_masking.py"]

# part -> [(file pattern, the tests that cover it, the definitions mutated (None: all))]
PARTS = {
    "codegen": [
        ("codegen/cache.py", ["tests/test_cache.py", "tests/test_cache_bounds.py"], None),
        ("codegen/threads.py", ["tests/test_defaults.py", "tests/test_threads.py"], None),
        ("codegen/atomic.py", ["tests/test_saving.py", "tests/test_cache.py"], None),
        ("codegen/memory.py", ["tests/test_memory.py"], None),
        ("codegen/batching.py", ["tests/test_predict_batches.py"], None),
        ("codegen/workers.py", ["tests/test_compile_workers.py", "tests/test_compiles.py"], None),
        ("codegen/cuda_target.py", None, None),  # part cuda (tests None: not mutated here)
        # test_golden: names and layout of the generated text, which no number shows;
        # test_time_distributed: values of several rows per sample (ir.Value.batch_factor)
        ("codegen/*.py", CORE_TESTS + ["tests/test_golden.py", "tests/test_time_distributed.py",
                                       "tests/test_dump.py",
                                       "tests/test_python_entries.py",
                                       "tests/test_tiering.py", "tests/test_batchnorm.py",
                                       "tests/test_noise_layers.py",
                                       # program.py's checks of index inputs (float ones too)
                                       "tests/test_embedding.py"], None),
    ],
    "optimizers": [("fnjit/optimizers/*.py", OPTIMIZER_TESTS, None)],
    "losses": [("fnjit/losses.py", LOSS_TESTS, None)],
    # program_cache._program also lowers the penalties and splits the constraints between the
    # compiled step and Python: test_regularizers checks both (a swapped split survived).
    "training_weighting": [
        (path, ["tests/test_training.py", "tests/test_loss_weighting.py", "tests/test_dump.py",
                *more], definitions) for path, definitions, more in (
            ("fnjit/compile_settings.py", {"_per_output", "_output_specs", "per_output_metrics",
                                           "_log_layout"}, []),
            ("fnjit/argument_checks.py", {"_class_weights_to_samples"}, []),
            # test_call_preparation: an optimizer setting changed after a step (its program key);
            # the add_loss test: the losses layers add enter the total at weight 1
            ("fnjit/program_cache.py", {"_program", "_training_values"},
             ["tests/test_regularizers.py", "tests/test_call_preparation.py",
              "tests/test_custom_layers.py::test_add_loss_is_minimised_without_a_compiled_loss"]),
            ("fnjit/training_data.py", {"_sample_weights"}, []),
            ("fnjit/training.py", {"_logs_dict"}, []))],
    "summary": [("fnjit/summary.py", ["tests/test_graph.py", "tests/test_batchnorm.py", "-k",
                                      "summary"], None)],
    # The CUDA target runs in numba's simulator (`KEY=VALUE` items set the environment): about
    # ten minutes a mutant on one core, so not in the default parts (DEFAULT_PARTS); by hand:
    # `--part cuda --max 10`.
    "cuda": [
        ("templates/*.cuda*.j2", ["NUMBA_ENABLE_CUDASIM=1", "tests/test_cuda_target.py"], None),
        ("codegen/cuda_target.py", ["NUMBA_ENABLE_CUDASIM=1", "tests/test_cuda_target.py"],
         None),
    ],
    "templates": [
        ("templates/*.cuda*.j2", None, None),  # part cuda (tests None: not mutated here)
        ("templates/optimizers.j2", OPTIMIZER_TESTS, None),
        ("templates/loss.j2", LOSS_TESTS, None),
        ("templates/metric.j2", ["tests/test_losses.py", "tests/test_custom_loss.py"], None),
        ("templates/dropout.j2", ["tests/test_noise_layers.py", "tests/test_recurrent.py",
                                  "tests/test_ops.py"], None),
        ("templates/constraint.j2", ["tests/test_regularizers.py"], None),
        ("templates/export_run.py.j2", ["tests/test_export.py"], None),
        ("templates/broadcast.j2", ["tests/test_backend_ops.py", "tests/test_ops.py",
                                    "tests/test_merge.py"], None),
        ("templates/elementwise.j2", ["tests/test_ops.py", "tests/test_backend_ops.py",
                                      "tests/test_layers_misc.py"], None),
        ("templates/batchnorm.j2", ["tests/test_batchnorm.py"], None),
        ("templates/embedding.j2", ["tests/test_embedding.py"], None),
        ("templates/repeat_vector.j2", ["tests/test_embedding.py"], None),
        ("templates/gru.j2", ["tests/test_recurrent.py"], None),
        ("templates/lstm.j2", ["tests/test_recurrent.py"], None),
        ("templates/simple_rnn.j2", ["tests/test_recurrent.py"], None),
        ("templates/_recurrent.j2", ["tests/test_recurrent.py"], None),
        # The 2-D tests leave the depth axis at 1: the 3-D tests catch mutants there.
        ("templates/*conv.j2", ["tests/test_conv.py", "tests/test_conv3d.py",
                                "tests/test_conv1d_depthwise.py"], None),
        # test_golden: the one-thread kernels' text (a parallel=True at one thread is the
        # same numbers, but a slower compile the golden dumps show)
        ("templates/_spatial.j2", ["tests/test_conv.py", "tests/test_pooling.py",
                                   "tests/test_conv3d.py", "tests/test_pooling3d.py",
                                   "tests/test_golden.py"], None),
        ("templates/pad.j2", ["tests/test_conv.py", "tests/test_pooling.py",
                              "tests/test_pooling3d.py"], None),
        ("templates/upsample.j2", ["tests/test_pooling.py", "tests/test_conv.py",
                                   "tests/test_pooling3d.py"], None),
        ("templates/*pool.j2", ["tests/test_pooling.py", "tests/test_pooling3d.py"], None),
        # mask.j2, mask_weight.j2, masked_average.j2: Keras masking's values and gradients
        ("templates/mask*.j2", ["tests/test_masking.py"], None),
        ("templates/add.j2", ["tests/test_merge.py"], None),
        ("templates/concatenate.j2", ["tests/test_merge.py"], None),
        ("templates/batch_matmul.j2", ["tests/test_merge.py", "tests/test_attention.py"], None),
        ("templates/l2_normalize.j2", ["tests/test_merge.py"], None),
        ("templates/layer_norm.j2", ["tests/test_normalization_layers.py"], None),
        ("templates/prelu.j2", ["tests/test_layers_misc.py"], None),
        ("templates/reduce.j2", ["tests/test_backend_ops.py"], None),
        ("templates/transpose.j2", ["tests/test_backend_ops.py", "tests/test_ops.py"], None),
        # Shared kernels (copies, strided gathers for transpose and broadcast, reductions).
        # test_threads: the recurrent layers' row split (split_rows) renders only with threads.
        ("templates/_common.j2", ["tests/test_backend_ops.py", "tests/test_ops.py",
                                  "tests/test_merge.py", "tests/test_threads.py::test_two_threads_"
                                  "run_the_parallel_kernels_with_the_numbers_of_one"], None),
        # FROM_OUTPUT's gradients run inside the conv op: test_conv.py checks them.
        ("templates/_activations.j2", CORE_TESTS + ["tests/test_conv.py"], None),
        ("templates/activation.j2", CORE_TESTS, None),
        # Kernels of rank > 2 (the attention projections) take dense.j2's reshaping branch.
        # test_golden: a plain Dense's 2-D views are written without reshapes
        ("templates/dense.j2", CORE_TESTS + ["tests/test_attention.py", "tests/test_golden.py"],
         None),
        ("templates/*.j2", CORE_TESTS, None),
    ],
}


DEFAULT_PARTS = [part for part in PARTS if part != "cuda"]


@dataclass
class Mutation:
    part: str
    path: str  # relative to the checkout
    site: int  # offset (templates) or line (Python) of the change
    operator: str
    tests: list
    mutated: str = field(repr=False)
    original: str = field(repr=False)
    outcome: str = ""
    seconds: float = 0.0

    def diff(self):
        return "".join(difflib.unified_diff(self.original.splitlines(True),
                                            self.mutated.splitlines(True),
                                            f"a/{self.path}", f"b/{self.path}", n=1))

    def name(self):
        return f"{self.path}:{self.site} {self.operator}"


def _files(pattern, claimed):
    for path in sorted(ROOT.glob(pattern)):
        rel = str(path.relative_to(ROOT))
        if rel not in claimed:
            claimed.add(rel)
            yield rel


def python_sites(rel, definitions):
    """{line: [(operator, make the mutated text)]} from cosmic-ray's operators."""
    import cosmic_ray.plugins
    from cosmic_ray.ast import ast_nodes, get_ast
    from cosmic_ray.ast.ast_query import ASTQuery
    from cosmic_ray.mutating import mutate_code

    text = (ROOT / rel).read_text()
    nodes = list(ast_nodes(get_ast(text)))
    sites = {}
    for name in cosmic_ray.plugins.operator_names():
        operator_class = cosmic_ray.plugins.get_operator(name)
        if operator_class.arguments():  # VariableReplacer/Inserter need arguments: not used
            continue
        operator = operator_class()
        occurrence = 0
        for node in nodes:
            for start, _ in operator.mutation_positions(node):
                if definitions is None or ASTQuery(node).get_definition_name() in definitions:
                    sites.setdefault(start[0], []).append(
                        (name.split("/")[-1],
                         lambda op=operator, k=occurrence: mutate_code(text, op, k) or text))
                occurrence += 1
    return text, sites


def template_sites(rel):
    text = (ROOT / rel).read_text()
    sites = {}
    for m in template_mutants(text):
        sites.setdefault(m.start, []).append((m.describe(), lambda m=m: m.apply(text)))
    return text, sites


def enumerate_sites(parts):
    """part -> list of (path, site, [(operator, mutated)], tests, original)."""
    claimed = set()
    found = {}
    for part in parts:
        entries = []
        for pattern, tests, definitions in PARTS[part]:
            for rel in _files(pattern, claimed):
                if tests is None:  # claimed by a part run by hand
                    continue
                if rel.endswith(".j2"):
                    text, sites = template_sites(rel)
                else:
                    text, sites = python_sites(rel, definitions)
                entries += [(rel, site, ops, tests, text) for site, ops in sorted(sites.items())]
        found[part] = entries
    return found


def sample(found, max_total, seed):
    """A deterministic sample: --max shared evenly between parts, sites in shuffled order
    round-robin over each part's files, one operator drawn per site."""
    rng = random.Random(seed)
    queues = {}
    for part, entries in found.items():
        by_file = {}
        for entry in entries:
            by_file.setdefault(entry[0], []).append(entry)
        for site_list in by_file.values():
            rng.shuffle(site_list)
        order = []
        files = sorted(by_file)
        while any(by_file[f] for f in files):
            for f in files:
                if by_file[f]:
                    order.append(by_file[f].pop())
        queues[part] = order
    # Shares in proportion to the square root of each part's size: the templates' 1,700 sites
    # get more than the summary's 36, but every part gets some.
    chosen = {part: [] for part in queues}
    left = max_total
    while left > 0 and any(queues.values()):
        weights = {part: len(q) ** 0.5 for part, q in queues.items() if q}
        scale = left / sum(weights.values())
        for part, weight in weights.items():
            take = min(max(1, round(weight * scale)), len(queues[part]), left)
            chosen[part] += queues[part][:take]
            del queues[part][:take]
            left -= take
    picked = []
    for part in found:
        for rel, site, ops, tests, text in chosen[part]:
            operator, make = ops[rng.randrange(len(ops))]
            picked.append(Mutation(part, rel, site, operator, tests, make(), text))
    return picked


IGNORE = shutil.ignore_patterns(".git", ".tox", ".pytest_cache", "__pycache__", "*.egg-info",
                                "build", "dist", ".ruff_cache", "mutation-report*")


def make_copy(where):
    copy = Path(where) / "fnjit"
    shutil.copytree(ROOT, copy, symlinks=True, ignore=IGNORE)
    return copy


def run_tests(copy, tests, timeout, cache_dir):
    settings = dict(t.split("=", 1) for t in tests if "=" in t and not t.startswith("-"))
    tests = [t for t in tests if t.split("=", 1)[0] not in settings]
    env = dict(os.environ, FNJIT_CACHE_DIR=str(cache_dir), PYTHONPATH=str(copy),
               PYTHONDONTWRITEBYTECODE="1", **settings)
    env.pop("FNJIT_TEST_INSTALLED", None)
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:randomly", "-p",
           "no:cacheprovider", *tests]
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=copy, env=env, capture_output=True, text=True,
                              timeout=timeout)
        rc = proc.returncode
        tail = (proc.stdout + proc.stderr)[-2000:]
    except subprocess.TimeoutExpired:
        rc, tail = None, "timeout"
    return rc, time.monotonic() - start, tail


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max", type=int, default=60, help="mutants in the sample")
    parser.add_argument("--seed", type=int, default=0, help="which sample")
    parser.add_argument("--jobs", type=int, default=2, help="mutants run at once")
    parser.add_argument("--part", action="append", choices=sorted(PARTS),
                        help="only these parts (repeatable; default all but cuda)")
    parser.add_argument("--budget", type=float, default=None,
                        help="seconds after which no new mutant starts")
    parser.add_argument("--fail-under", type=float, default=0.0,
                        help="exit 1 when the killed percentage is below this")
    parser.add_argument("--cache-dir", default=None,
                        help="FNJIT_CACHE_DIR for the runs (default: a directory in the "
                             "system temp dir kept between runs)")
    parser.add_argument("--list", action="store_true", help="print the sample, run nothing")
    parser.add_argument("--report", default=None, help="write a markdown report here")
    args = parser.parse_args(argv)

    parts = args.part or DEFAULT_PARTS
    found = enumerate_sites(parts)
    total = {part: len(entries) for part, entries in found.items()}
    picked = sample(found, args.max, args.seed)
    print(f"mutation sites per part: {total}; sample of {len(picked)} (seed {args.seed})")
    if args.list:
        for m in picked:
            print(f"  {m.part:20s} {m.name()}")
        return 0

    cache_dir = Path(args.cache_dir or Path(tempfile.gettempdir()) / "fnjit-mutation-cache")
    cache_dir.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fnjit-mutation-") as work:
        # The unmutated baseline of every test selection must pass (and sets the timeouts).
        base_copy = make_copy(Path(work) / "base")
        baseline = {}
        for tests in {tuple(m.tests) for m in picked}:
            rc, seconds, tail = run_tests(base_copy, list(tests), 3600, cache_dir)
            print(f"baseline {' '.join(tests)}: rc {rc} in {seconds:.0f}s", flush=True)
            if rc != 0:
                print(tail)
                print("the unmutated tests fail: no mutation score without a green baseline")
                return 2
            baseline[tests] = seconds
        copies = [make_copy(Path(work) / f"job{j}") for j in range(args.jobs)]
        free = list(copies)

        def run_one(m):
            if args.budget is not None and time.monotonic() - start > args.budget:
                m.outcome = "not run"
                return m
            copy = free.pop()
            target = copy / m.path
            try:
                target.write_text(m.mutated)
                base = baseline[tuple(m.tests)]
                rc, m.seconds, _ = run_tests(copy, m.tests, 3 * base + 60, cache_dir)
                if rc is None:  # slow, or only starved by a busy machine: a second, long try
                    rc, m.seconds, _ = run_tests(copy, m.tests, 10 * base + 300, cache_dir)
                # Any failure kills: a wrong number, an error, a module that no longer imports.
                m.outcome = "timeout" if rc is None else "survived" if rc == 0 else "killed"
            finally:
                target.write_text(m.original)
                free.append(copy)
            print(f"{m.outcome:8s} {m.seconds:5.0f}s {m.name()}", flush=True)
            return m

        with ThreadPoolExecutor(args.jobs) as pool:
            results = list(pool.map(run_one, picked))
    return report(results, total, args, time.monotonic() - start)


def report(results, total, args, seconds):
    ran = [m for m in results if m.outcome != "not run"]
    lines = [f"# Mutation testing: seed {args.seed}, {len(ran)} of {len(results)} sampled "
             f"mutants run in {seconds / 60:.1f} min", "",
             "| part | sites | run | killed | timeouts | survived | killed % |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for part in total:
        mine = [m for m in ran if m.part == part]
        killed = sum(m.outcome in ("killed", "timeout") for m in mine)
        lines.append(f"| {part} | {total[part]} | {len(mine)} | {killed} | "
                     f"{sum(m.outcome == 'timeout' for m in mine)} | "
                     f"{sum(m.outcome == 'survived' for m in mine)} | "
                     f"{100 * killed / len(mine) if mine else 0:.0f} |")
    killed = sum(m.outcome in ("killed", "timeout") for m in ran)
    score = 100 * killed / len(ran) if ran else 0.0
    lines += ["", f"**{killed} of {len(ran)} killed: {score:.1f}%**", ""]
    survivors = [m for m in ran if m.outcome == "survived"]
    if survivors:
        lines += ["## Survivors", ""]
        for m in survivors:
            lines += [f"### {m.name()}", "", "```diff", m.diff().rstrip(), "```", ""]
    text = "\n".join(lines)
    print(text)
    if args.report:
        Path(args.report).write_text(text + "\n")
        Path(args.report).with_suffix(".json").write_text(json.dumps(
            [{"part": m.part, "path": m.path, "site": m.site, "operator": m.operator,
              "outcome": m.outcome, "seconds": round(m.seconds, 1)} for m in results],
            indent=1))
    return 1 if score < args.fail_under else 0


if __name__ == "__main__":
    sys.exit(main())
