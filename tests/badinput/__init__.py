"""The project's own bad-input suite (issue 10 section 6).

``cases.py`` generates the cases (seeded, deterministic), ``fixtures.py`` builds the shared inputs once (a small
demo company with a trained store, and a hand-made "golden" orders file with known answers), ``oracle.py`` runs a
case and judges it, ``run.py`` runs the whole suite and prints the tally, ``test_badinput.py`` is the fast subset
that CI runs. Run everything with ``python -m tests.badinput --all`` from the repository root.
"""
