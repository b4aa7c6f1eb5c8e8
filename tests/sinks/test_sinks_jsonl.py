"""JSON lines sink: the line format, exactly-once across restarts, crash tails; and build_sinks."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

import pytest

from pipeline.config import ConfigError, Settings
from pipeline.findings.model import Finding
from pipeline.sinks import Delivery, Sink, SinkError, build_sinks, make_delivery
from pipeline.sinks.jsonl import JsonlSink


def finding(n: int = 1, events: list[str] | None = None, severity: str = "high", **extra: object) -> Finding:
    events = events or [f"ev-{n}-a", f"ev-{n}-b"]
    values: dict = dict(
        detection_id="root_account_usage", finding_id=f"{n:032x}", severity=severity,
        title="Root account used", event_ids=events, account_id="111111111111", region="us-east-1",
        principal="arn:aws:iam::111111111111:root", first_seen="2026-01-15 10:00:00",
        last_seen="2026-01-15 10:05:00", event_count=len(events), source_ip="198.51.100.1",
        attack=["T1078.004"], runbook="Check who holds the root credentials.",
        dedup_key={"principal": "root"}, context={"event_name": "ConsoleLogin"},
    )
    values.update(extra)
    return Finding(**values)


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def settings(toml: str) -> Settings:
    return Settings(raw={"sinks": tomllib.loads(toml).get("sinks", [])})


def test_delivery_id_depends_on_content_not_order():
    a = make_delivery(finding(1, ["e1", "e2"]))
    assert a == Delivery(finding(1, ["e1", "e2"]), a.delivery_id, False)
    assert make_delivery(finding(1, ["e2", "e1"])).delivery_id == a.delivery_id
    assert make_delivery(finding(1, ["e1", "e2", "e3"])).delivery_id != a.delivery_id
    assert make_delivery(finding(2, ["e1", "e2"])).delivery_id != a.delivery_id
    assert a.delivery_id.startswith(finding(1).finding_id)
    assert make_delivery(finding(1), is_update=True).is_update


def test_line_is_the_finding_json_plus_delivery_keys(tmp_path):
    path = tmp_path / "out" / "findings.jsonl"
    sink = JsonlSink(path)
    assert isinstance(sink, Sink) and sink.idempotent is True and sink.name == f"jsonl:{path}"
    d = make_delivery(finding(1))
    sink.deliver([d])
    [record] = lines(path)
    assert record == {**json.loads(d.finding.to_json()), "delivery_id": d.delivery_id, "is_update": False}
    assert path.read_text().count("\n") == 1


def test_exactly_once_within_a_run_and_across_restarts(tmp_path):
    path = tmp_path / "findings.jsonl"
    first, second = make_delivery(finding(1)), make_delivery(finding(2))
    sink = JsonlSink(path)
    sink.deliver([first, first, second])
    sink.deliver([first, second])
    assert [r["delivery_id"] for r in lines(path)] == [first.delivery_id, second.delivery_id]
    restarted = JsonlSink(path)  # a crash after writing, before the scheduler saved its state
    assert first.delivery_id in restarted
    restarted.deliver([first, second])
    assert len(lines(path)) == 2
    grown = make_delivery(finding(1, ["ev-1-a", "ev-1-b", "ev-1-c"]), is_update=True)
    restarted.deliver([grown])
    records = lines(path)
    assert len(records) == 3 and records[-1]["is_update"] is True
    assert records[-1]["finding_id"] == records[0]["finding_id"] and records[-1]["event_count"] == 3


def test_another_writer_is_seen_before_each_batch(tmp_path):
    path = tmp_path / "findings.jsonl"
    one, other = JsonlSink(path), JsonlSink(path)
    d = make_delivery(finding(1))
    one.deliver([d])
    other.deliver([d])
    assert len(lines(path)) == 1


def test_each_batch_is_fsynced(tmp_path, monkeypatch):
    calls: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(fd), real(fd))[1])
    sink = JsonlSink(tmp_path / "findings.jsonl")
    sink.deliver([make_delivery(finding(1)), make_delivery(finding(2))])
    assert len(calls) >= 1
    before = len(calls)
    sink.deliver([make_delivery(finding(3))])
    assert len(calls) == before + 1


def test_a_torn_last_line_is_cut_off(tmp_path):
    path = tmp_path / "findings.jsonl"
    kept = make_delivery(finding(1))
    JsonlSink(path).deliver([kept])
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"delivery_id": "half-writ')
    sink = JsonlSink(path)
    sink.deliver([make_delivery(finding(2))])
    assert [r["finding_id"] for r in lines(path)] == [finding(1).finding_id, finding(2).finding_id]


def test_a_complete_last_line_without_newline_is_kept(tmp_path):
    path = tmp_path / "findings.jsonl"
    from pipeline.sinks.jsonl import jsonl_line

    first = make_delivery(finding(1))
    path.write_text(jsonl_line(first), encoding="utf-8")  # crashed just before the newline
    sink = JsonlSink(path)
    sink.deliver([first, make_delivery(finding(2))])
    second = make_delivery(finding(2)).delivery_id
    assert [r["delivery_id"] for r in lines(path)] == [first.delivery_id, second]


def test_lines_without_delivery_ids_are_tolerated(tmp_path):
    path = tmp_path / "findings.jsonl"
    path.write_text(finding(1).to_json() + "\nnot json\n\n", encoding="utf-8")
    sink = JsonlSink(path)
    sink.deliver([make_delivery(finding(1))])
    assert path.read_text().splitlines()[-1].startswith("{") and len(path.read_text().splitlines()) == 4


def test_min_severity(tmp_path):
    sink = JsonlSink(tmp_path / "f.jsonl", min_severity="high")
    assert sink.accepts(finding(severity="critical")) and sink.accepts(finding(severity="high"))
    assert not sink.accepts(finding(severity="medium")) and not sink.accepts(finding(severity="low"))
    assert sink.accepts(finding(severity="unheard-of"))  # unknown severities are never dropped


def test_write_failure_is_a_sink_error(tmp_path):
    path = tmp_path / "is-a-directory"
    path.mkdir()
    with pytest.raises(SinkError, match="jsonl sink .*is-a-directory"):
        JsonlSink(path).deliver([make_delivery(finding(1))])


def test_build_sinks_from_toml_and_output(tmp_path):
    configured = tmp_path / "a.jsonl"
    toml = f'[[sinks]]\ntype = "jsonl"\npath = "{configured}"\nmin_severity = "medium"\n'
    sinks = build_sinks(settings(toml), output=tmp_path / "b.jsonl", environ={})
    assert [type(s) for s in sinks] == [JsonlSink, JsonlSink]
    assert sinks[0].min_severity == "medium" and sinks[1].path == tmp_path / "b.jsonl"
    assert sinks[1].min_severity == "low"
    same = build_sinks(settings(f'[[sinks]]\ntype = "jsonl"\npath = "{configured}"\n'), output=configured,
                       environ={})
    assert len(same) == 1  # --output naming a configured file does not write it twice
    assert build_sinks(Settings(raw={}), environ={}) == []


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[[sinks]]\ntype = "pigeon"\n',
         "sinks[0] (pigeon): type: 'pigeon' is not one of jsonl, slack, securityhub"),
        ('[[sinks]]\ntype = "jsonl"\npath = "x"\nmin_severity = "urgent"\n',
         "sinks[0] (jsonl): min_severity: 'urgent' is not one of low, medium, high, critical"),
        ('[[sinks]]\ntype = "jsonl"\n', "sinks[0] (jsonl): path: missing"),
        ('[[sinks]]\ntype = "jsonl"\npath = "x"\npaht = "y"\n', "sinks[0] (jsonl): paht: unknown key"),
        ('[[sinks]]\ntype = "jsonl"\npath = "x"\n[[sinks]]\ntype = "slack"\nname = "ops"\n',
         "sinks[1] (slack 'ops'): webhook_env: environment variable TRAILGUARD_SLACK_WEBHOOK is not set"),
        ('[[sinks]]\ntype = "jsonl"\npath = "x"\nname = "a"\n'
         '[[sinks]]\ntype = "jsonl"\npath = "y"\nname = "a"\n',
         "sinks[1] (jsonl 'a'): name: 'a' is already used"),
    ],
)
def test_bad_sink_config_is_one_line_naming_sink_and_key(tmp_path, monkeypatch, toml, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        build_sinks(settings(toml), environ={})
    assert str(info.value).startswith(message) and "\n" not in str(info.value)
