"""Configuration: file, environment overrides, defaults, and one-line errors."""

from __future__ import annotations

import pytest

from pipeline.config import ConfigError, load_settings


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
    settings = load_settings(example, environ={})
    assert settings["catalog"]["accounts"] and load_suppressions(settings)
    sinks = build_sinks(settings, environ={"TRAILGUARD_SLACK_WEBHOOK": "https://hooks.example/x",
                                           "AWS_DEFAULT_REGION": "us-east-1"})
    assert [type(s).__name__ for s in sinks] == ["JsonlSink", "SlackSink", "SecurityHubSink"]
