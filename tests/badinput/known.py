"""Cases of the CI subset that still fail on main, each with its line in /work/FINDINGS.md (keyed by case id).

The CI test marks them ``xfail(strict=True)``: main stays green while they fail, and a fix makes the test pass,
which strict xfail reports as a failure -- the sign to delete the case's line here.
"""

KNOWN_FAILING: dict[str, str] = {
    # config
    # ops
    # report
}
