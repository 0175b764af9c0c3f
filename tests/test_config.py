"""TrainConfig (what defines a model) and RunSettings (how a run executes) check themselves."""

import pytest

from cbmil.study import reproduce
from cbmil.train import RunSettings, TrainConfig


@pytest.mark.parametrize("field, value, allowed", [
    ("pairing", "pared", "'paired', 'all'"), ("sparsity", "cubic", "'linear', 'squared'"),
    ("normalize_weights", "class", "'classes', 'bags', 'none'"), ("optimizer", "adamw", "'adagrad'"),
    ("crop", "centre", "'random', 'mean'")])
def test_train_config_refuses_a_misspelt_option_naming_the_allowed_values(field, value, allowed):
    with pytest.raises(ValueError, match=f"TrainConfig.{field} must be one of {allowed}"):
        TrainConfig(**{field: value})


@pytest.mark.parametrize("field", ["lambda_smooth", "lambda_sparse", "lr"])
def test_train_config_refuses_negative_weights(field):
    with pytest.raises(ValueError, match=f"TrainConfig.{field}"):
        TrainConfig(**{field: -1e-3})


@pytest.mark.parametrize("field, value", [("protocol", "snipet"), ("precision", "fp16")])
def test_run_settings_refuse_a_misspelt_option(field, value):
    with pytest.raises(ValueError, match=f"RunSettings.{field} must be one of"):
        RunSettings(**{field: value})


def test_run_fields_are_not_model_fields():
    with pytest.raises(TypeError):
        TrainConfig(device="cpu")
    with pytest.raises(TypeError):
        RunSettings(lr=0.1)


def test_a_bad_option_fails_before_any_data_is_made(tmp_path, monkeypatch):
    import cbmil.study.reproduction as reproduction
    monkeypatch.setattr(reproduction, "synthetic_worlds", lambda *a, **k: pytest.fail("data was made"))
    with pytest.raises(ValueError, match="pairing"):
        reproduce(preset="ci", pairing="pared", out=tmp_path)
    with pytest.raises(ValueError, match="device"):
        reproduce(preset="ci", settings=RunSettings(device="cuda:7"), out=tmp_path)
