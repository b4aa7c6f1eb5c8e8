"""Configuration: file, environment overrides, defaults, and one-line errors."""

from __future__ import annotations

import pytest

from pipeline.config import ConfigError, Settings, load_settings


def test_defaults_without_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={})
    assert settings.engine == "duckdb" and settings.source == "./demo" and settings.path is None


def test_file_then_environment(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text(
        'engine = "duckdb"\n[athena]\nworkgroup = "sec"\n[catalog]\naccounts = ["1"]\n'
        "[detections.root_account_usage]\nenabled = false\n"
    )
    settings = load_settings(
        path,
        environ={
            "TRAILGUARD_ENGINE": "athena",
            "TRAILGUARD_CATALOG_ACCOUNTS": "1,2",
            "TRAILGUARD_DETECTIONS_ROOT_ACCOUNT_USAGE_ENABLED": "true",
        },
    )
    assert settings.engine == "athena"
    assert settings["athena"]["workgroup"] == "sec"
    assert settings["catalog"]["accounts"] == ["1", "2"]
    assert settings.detection_overrides("root_account_usage") == {"enabled": True}


def test_environment_names_the_config_file(tmp_path):
    path = tmp_path / "x.toml"
    path.write_text('source = "s3://bucket/prefix"\n')
    assert load_settings(environ={"TRAILGUARD_CONFIG": str(path)}).source == "s3://bucket/prefix"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("engine = [", "not valid TOML"),
        ('engine = "spark"', "'spark' is not one of duckdb, athena"),
        ('colour = "blue"', "colour: unknown key"),
    ],
)
def test_bad_files_give_one_line_errors(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        load_settings(path, environ={})
    assert "\n" not in str(info.value) and str(path) in str(info.value) or "engine" in str(info.value)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="nope.toml: configuration file not found"):
        load_settings(tmp_path / "nope.toml", environ={})


def test_unknown_detection_in_environment(tmp_path):
    with pytest.raises(ConfigError, match="names no known detection"):
        load_settings(environ={"TRAILGUARD_DETECTIONS_NOT_A_DETECTION_X": "1"})


def test_example_configuration_loads_and_builds(monkeypatch):
    from pathlib import Path

    from pipeline.detections.suppressions import load_suppressions
    from pipeline.sinks.factory import build_sinks

    example = Path(__file__).resolve().parents[1] / "trailguard.example.toml"
    from pipeline.workflow import check_configuration

    settings = check_configuration(load_settings(example, environ={}))  # the whole schema, as the CLI
    assert settings["catalog"]["accounts"] and load_suppressions(settings)
    sinks = build_sinks(settings, environ={"TRAILGUARD_SLACK_WEBHOOK": "https://hooks.example/x",
                                           "AWS_DEFAULT_REGION": "us-east-1"})
    assert [type(s).__name__ for s in sinks] == ["JsonlSink", "SlackSink", "SecurityHubSink"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[athena]\nworkgrup = \"sec\"\n", "[athena] workgrup: unknown key (did you mean workgroup?)"),
        ("[athenna]\nworkgroup = \"sec\"\n", "athenna: unknown section (did you mean athena?)"),
        ("[detections.acces_denied_burst]\nthreshold = 3\n",
         "[detections.acces_denied_burst]: unknown detection (did you mean access_denied_burst?)"),
        ("[detections.access_denied_burst]\nenabled = \"no\"\n",
         "[detections.access_denied_burst] enabled: 'no' is not true or false"),
        ("[athena]\nuse_parquet = 1\n", "[athena] use_parquet: 1 is not true or false"),
        ("[integrity]\nvalidate = \"yes\"\n", "[integrity] validate: 'yes' is not true or false"),
        ("[response]\ndry_run = \"false\"\n", "[response] dry_run: 'false' is not true or false"),
        ("[duckdb]\nthreads = \"four\"\n", "[duckdb] threads: 'four' is not a whole number"),
        ("[catalog]\naccounts = \"111111111111\"\n", "[catalog] accounts: '111111111111' is not a list"),
        ("suppressions = 3\n", "suppressions: 3 is not a list"),
    ],
)
def test_the_file_is_checked_against_the_defaults(tmp_path, text, message):
    path = tmp_path / "t.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ={})
    assert str(info.value) == f"{path}: {message}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[detections.access_denied_burst]\ntreshold = 3\n",
         "[detections.access_denied_burst] treshold: unknown parameter "
         "(did you mean threshold?)"),
        ("[detections.access_denied_burst]\nthreshold = -3\n", "must be a positive integer"),
        ('[[suppressions]]\ndetection = "discovery_brust"\nroles = ["x"]\nreason = "r"\n'
         'expires = 2030-01-01\n',
         "suppressions[0].detection: 'discovery_brust' is not a detection (did you mean discovery_burst?)"),
        ('[[suppressions]]\ndetection = "*"\nrolez = ["x"]\nreason = "r"\nexpires = 2030-01-01\n',
         "suppressions[0]: unknown key(s) rolez"),
        ('[[sinks]]\ntype = "jsonl"\npaht = "x.jsonl"\n',
         "sinks[0] (jsonl): paht: unknown key (did you mean path?)"),
    ],
)
def test_detections_suppressions_and_sinks_are_checked_by_their_owners(tmp_path, text, message):
    from pipeline.workflow import check_configuration

    path = tmp_path / "t.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=None) as info:
        check_configuration(load_settings(path, environ={}))
    assert str(info.value).startswith(f"{path}: ") and message in str(info.value)


def test_keys_added_to_defaults_are_known(tmp_path, monkeypatch):
    from pipeline import config

    monkeypatch.setitem(config.DEFAULTS, "newsection", {"knob": 1})
    path = tmp_path / "t.toml"
    path.write_text("[newsection]\nknob = 5\n")
    assert load_settings(path, environ={})["newsection"]["knob"] == 5
    path.write_text("[newsection]\nknbo = 5\n")
    with pytest.raises(ConfigError, match="did you mean knob"):
        load_settings(path, environ={})


def test_environment_values_take_the_type_of_the_default():
    settings = load_settings(environ={"TRAILGUARD_CATALOG_ACCOUNTS": "012345678901",
                                      "TRAILGUARD_ORG_ID": "12345",
                                      "TRAILGUARD_ATHENA_USE_PARQUET": "yes",
                                      "TRAILGUARD_RESPONSE_DRY_RUN": "false"})
    assert settings["catalog"]["accounts"] == ["012345678901"] and settings["org_id"] == "12345"
    assert settings["athena"]["use_parquet"] is True and settings["response"]["dry_run"] is False
    with pytest.raises(ConfigError, match=r"environment: \[duckdb\] threads: 'four' is not a whole number"):
        load_settings(environ={"TRAILGUARD_DUCKDB_THREADS": "four"})


def test_hot_tier_auto_is_on_only_where_it_pays_and_can_run(monkeypatch):
    import pipeline.config as config

    plain = Settings()
    assert plain.raw["schedule"]["hot_tier"] == "auto" and not plain.hot_tier  # embedded engine
    athena = Settings().with_overrides(engine="athena")
    assert not athena.hot_tier  # no lake to write the tier to
    athena.raw["catalog"]["lake_uri"] = "s3://lake-bucket/trailguard"
    assert athena.hot_tier
    monkeypatch.setattr(config, "_installed", lambda module: module != "duckdb")  # the Lambda zip
    assert not athena.hot_tier
    athena.raw["schedule"]["hot_tier"] = True
    assert athena.hot_tier
    for off in (False, "false"):
        athena.raw["schedule"]["hot_tier"] = off
        assert not athena.hot_tier


def test_hot_tier_takes_auto_true_or_false_only():
    from pipeline.config import validate

    for ok in (True, False, "auto", "true", "false"):
        assert validate({"schedule": {"hot_tier": ok}}) is None
    assert validate({"schedule": {"hot_tier": "sometimes"}}) == (
        "schedule.hot_tier: 'sometimes' is not one of auto, true, false")
    assert validate({"schedule": {"hot_tier": 1}}) == "[schedule] hot_tier: 1 is not auto, true or false"
