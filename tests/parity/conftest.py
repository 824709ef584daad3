def pytest_terminal_summary(terminalreporter):
    """The largest relative errors seen, beside the tolerances they are held to."""
    import sys

    harness = sys.modules.get("parity_harness")
    if harness is None or not harness.WORST:
        return
    tolerances = {"predict": harness.OUTPUT_RTOL, "loss": harness.OUTPUT_RTOL,
                  "weights": harness.WEIGHT_RTOL}
    terminalreporter.section("largest differences from Keras (relative)")
    for kind, (err, where) in sorted(harness.WORST.items()):
        terminalreporter.write_line(f"{kind:8s} {err:.2e} (tolerance {tolerances[kind]:g}) "
                                    f"in {where}")
