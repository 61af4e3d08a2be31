"""MLflow tells the story: run descriptions, model-version descriptions cut to MLflow's limit, and registration
that prints nothing of its own (the jobs say what they registered; --quiet prints nothing but errors)."""

from __future__ import annotations

import pytest
from mlflow import MlflowClient

from loyalist.errors import RegistryError
from loyalist.tracking import log_model, run, set_version_description
from loyalist.tracking.registry import MAX_VERSION_DESCRIPTION, fit_description


def test_a_short_description_is_kept_as_is():
    assert fit_description("# Card\n\nshort", 5000, rest="see X") == "# Card\n\nshort"


def test_a_long_description_is_cut_at_a_line_end_and_says_where_the_rest_is():
    text = "\n".join(f"line {i:04d} " + "x" * 60 for i in range(200))  # ~14,000 characters
    out = fit_description(text, 5000, rest="the full card is the artifact MODEL_CARD.md of run abc")
    assert len(out) <= 5000
    assert out.endswith("the full card is the artifact MODEL_CARD.md of run abc.]")
    head = out.split("\n\n[Cut at 5,000 characters")[0]
    assert text.startswith(head) and head.endswith("x" * 60)  # whole lines only
    assert len(head) > 4500


def test_a_run_description_is_the_note_the_mlflow_ui_shows(tracking_store):
    with run("train-churn") as handle:
        handle.set_description("Trained the churn model on 1,000 rows.")
    tags = MlflowClient().get_run(handle.run_id).data.tags
    assert tags["mlflow.note.content"] == "Trained the churn model on 1,000 rows."


def test_registration_prints_nothing_and_the_version_description_is_cut_to_the_limit(
        tracking_store, frames, churn_model_factory, capfd):
    train, _ = frames
    name = "loyalist-story"
    capfd.readouterr()
    with run("train") as handle:
        first = log_model(handle, churn_model_factory(), registered_name=name, input_example=train)
    with run("train") as handle:
        second = log_model(handle, churn_model_factory(seed=1), registered_name=name, input_example=train)
    printed = capfd.readouterr()
    # MLflow prints "Successfully registered model ..." / "Created version '2' of model ..." on its own
    assert "registered model" not in printed.err.lower() and "created version" not in printed.err.lower()
    assert "registered model" not in printed.out.lower() and "created version" not in printed.out.lower()
    assert (first.version, second.version) == (1, 2)

    card = "# Model card\n\n" + "\n".join(f"- row {i}: " + "y" * 80 for i in range(100))
    stored = set_version_description(name, second.version, card, rest=f"the full card is MODEL_CARD.md of run "
                                                                        f"{second.run_id}")
    got = MlflowClient().get_model_version(name, str(second.version)).description
    assert got == stored and len(got) <= MAX_VERSION_DESCRIPTION == 5000
    assert got.startswith("# Model card\n\n- row 0: ") and got.endswith(f"MODEL_CARD.md of run {second.run_id}.]")
    short = set_version_description(name, first.version, "# Model card\n\nfits")
    assert MlflowClient().get_model_version(name, "1").description == short == "# Model card\n\nfits"
    with pytest.raises(RegistryError, match="No version 9"):
        set_version_description(name, 9, "x")
