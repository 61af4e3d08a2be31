"""The learned side of loyalist, one sub-package per idea.

- :mod:`loyalist.modeling.btyd`: BG/NBD and Gamma-Gamma (``models``), their customer-days input (``summary``) and
  their quantities as features and baselines (``features``).
- :mod:`loyalist.modeling.supervised`: the LightGBM churn and value models (``churn``, ``value``, their shared
  ``base`` and ``matrix``), the training data from past cut-offs (``dataset``), training out of time
  (``training``), the level rule for uncovered months (``level``) and the hyper-parameter search (``hpo``).
- :mod:`loyalist.modeling.evaluation`: metrics (``metrics``), the baselines (``baselines``, and as registrable
  models ``baseline_models``), the champion gate (``selection``), figures (``plots``) and the model card (``card``).

- :mod:`loyalist.modeling.contract`: scikit-learn's classifier contract (``predict_proba``, ``predict``) on the
  churn models, learned and baseline.

Elsewhere, by what they are about: cross-sell in :mod:`loyalist.recommend`, drift (PSI) in
:mod:`loyalist.monitoring`, the rule score's weight tuning beside the rule score in :mod:`loyalist.scoring.tuning`.
"""
