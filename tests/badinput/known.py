"""Cases of the CI subset that still fail on main, each with its line in /work/FINDINGS.md (keyed by case id).

The CI test marks them ``xfail(strict=True)``: main stays green while they fail, and a fix makes the test pass,
which strict xfail reports as a failure -- the sign to delete the case's line here.
"""

KNOWN_FAILING: dict[str, str] = {
    # config
    "datefmt-invalid-directive": "[config] an invalid date_format directive is a ValueError traceback",
    "src-filters-bad-regex": "[config] a filter regex that does not compile is an ArrowInvalid traceback",
    "cfg-scoring.indicators.repurchase_rate.weight-inf": "[config] weight .inf gives all-NaN scores with exit 0",
    "cfg-training.promotion_metric-foo": "[config] promotion_metric foo: KeyError after training",
    "cfg-training.lgbm_params-lr0": "[config] lgbm_params learning_rate 0: LightGBMError traceback",
    "cfg-file-latin1": "[config] a Latin-1 YAML file is a UnicodeDecodeError traceback",
    # ops
    # report
}
