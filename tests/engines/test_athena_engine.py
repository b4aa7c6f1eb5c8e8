"""AthenaEngine against moto: results, what they cost, and failures that say which query and why."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from pipeline.config import load_settings
from pipeline.engines.athena import AthenaEngine
from pipeline.engines.base import EngineError
from tests.helpers import RESULTS_BUCKET, athena_result

pytestmark = pytest.mark.aws

SQL = "SELECT eventname, count(*) AS n FROM \"trailguard\".\"cloudtrail\" GROUP BY 1"


EVENTS = athena_result([("eventname", "varchar"), ("n", "bigint")],
                       [["CreateAccessKey", "3"], ["ConsoleLogin", "12"]])


@pytest.fixture
def athena(aws_client: Any) -> Any:
    """The Athena client for checks, with a results bucket and a ``security`` workgroup in place."""
    aws_client("s3").create_bucket(Bucket=RESULTS_BUCKET)
    client = aws_client("athena")
    client.create_work_group(Name="security", Configuration={
        "ResultConfiguration": {"OutputLocation": f"s3://{RESULTS_BUCKET}/security/"}})
    return client


def make_engine(endpoint: str, **kwargs: Any) -> AthenaEngine:
    options: dict[str, Any] = {"database": "trailguard", "workgroup": "security",
                               "output_location": f"s3://{RESULTS_BUCKET}/trailguard/",
                               "region_name": "us-east-1", "endpoint_url": endpoint, "poll_interval": 0.01}
    options.update(kwargs)
    return AthenaEngine(**options)


def test_table_names_follow_the_specs() -> None:
    raw = AthenaEngine("secdb", workgroup="primary")
    assert raw.table_names == {"cloudtrail": '"secdb"."cloudtrail"',
                               "guardduty": '"secdb"."guardduty_findings"'}
    assert raw.time_columns == {"cloudtrail": "eventtime", "guardduty": "updatedat"}
    parquet = AthenaEngine("secdb", workgroup="primary", use_parquet=True)
    assert parquet.table_names == {"cloudtrail": '"secdb"."cloudtrail_parquet"',
                                   "guardduty": '"secdb"."guardduty_findings_parquet"'}
    assert parquet.time_columns == {"cloudtrail": "eventtime", "guardduty": "updatedat"}


def test_needs_a_workgroup_or_an_output_location() -> None:
    with pytest.raises(EngineError, match="workgroup"):
        AthenaEngine("secdb", workgroup="", output_location=None)


def test_from_settings_reads_athena_and_catalog_sections(tmp_path: Any) -> None:
    config = tmp_path / "trailguard.toml"
    config.write_text('engine = "athena"\n[catalog]\ndatabase = "secdb"\n'
                      '[athena]\nworkgroup = "security"\nregion = "eu-west-1"\npoll_interval = 0.5\n')
    settings = load_settings(config, environ={"TRAILGUARD_ATHENA_USE_PARQUET": "true"})
    engine = AthenaEngine.from_settings(settings, endpoint_url="http://127.0.0.1:1")
    assert (engine.database, engine.workgroup, engine.region_name) == ("secdb", "security", "eu-west-1")
    assert engine.output_location is None  # the workgroup's own location applies
    assert engine.use_parquet and engine.poll_interval == 0.5
    assert engine.endpoint_url == "http://127.0.0.1:1"
    assert engine.table_names["cloudtrail"] == '"secdb"."cloudtrail_parquet"'


def test_query_round_trip_reports_id_workgroup_and_bytes(moto_endpoint: str, athena: Any,
                                                         can_athena_results: Any) -> None:
    can_athena_results(EVENTS)
    engine = make_engine(moto_endpoint)
    result = engine.query(SQL)
    engine.close()

    expected = pd.DataFrame({"eventname": ["CreateAccessKey", "ConsoleLogin"], "n": [3, 12]})
    pd.testing.assert_frame_equal(result.frame, expected, check_dtype=False)
    assert result.engine == "athena"
    execution = athena.get_query_execution(QueryExecutionId=result.query_id)["QueryExecution"]
    assert execution["Query"] == SQL
    assert execution["QueryExecutionContext"]["Database"] == "trailguard"
    assert result.workgroup == "security" == execution["WorkGroup"]
    assert result.bytes_scanned == 0  # moto's constant; a real figure is checked through the shim below
    assert result.output_location == f"s3://{RESULTS_BUCKET}/trailguard/{result.query_id}.csv"
    assert result.duration_s >= 0


def test_results_without_output_location_come_from_the_api(moto_endpoint: str, athena: Any,
                                                           can_athena_results: Any) -> None:
    """No staging dir given (workgroup-managed results): rows are read through GetQueryResults."""
    can_athena_results(EVENTS)
    engine = make_engine(moto_endpoint, output_location=None)
    result = engine.query(SQL)
    assert result.frame["eventname"].tolist() == ["CreateAccessKey", "ConsoleLogin"]
    assert result.frame["n"].astype(int).tolist() == [3, 12]
    assert result.workgroup == "security"
    assert result.output_location is None  # moto does not apply the workgroup's location; AWS would


def test_refused_query_says_it_never_started(moto_endpoint: str, athena: Any) -> None:
    engine = make_engine(moto_endpoint, workgroup="no-such-workgroup")
    expected = r"not started \(workgroup no-such-workgroup\).*WorkGroup does not exist"
    with pytest.raises(EngineError, match=expected):
        engine.query(SQL)


def test_bytes_scanned_is_athenas_figure(athena: Any, athena_shim: Any, can_athena_results: Any) -> None:
    def scanned(body: dict[str, Any]) -> dict[str, Any]:
        body["QueryExecution"]["Statistics"]["DataScannedInBytes"] = 734_003_200
        return body

    athena_shim.rewrites["GetQueryExecution"] = scanned
    can_athena_results(EVENTS)
    result = make_engine(athena_shim.endpoint).query(SQL)
    assert result.bytes_scanned == 734_003_200
    assert len(result.frame) == 2


def test_failed_query_names_id_state_and_reason(athena: Any, athena_shim: Any) -> None:
    """moto never fails a query, so the shim turns its answer into Athena's FAILED with a reason."""
    reason = "COLUMN_NOT_FOUND: line 1:8: Column 'evntname' cannot be resolved"

    def failed(body: dict[str, Any]) -> dict[str, Any]:
        body["QueryExecution"]["Status"].update({"State": "FAILED", "StateChangeReason": reason,
                                                 "AthenaError": {"ErrorCategory": 2, "ErrorType": 1006}})
        return body

    athena_shim.rewrites["GetQueryExecution"] = failed
    engine = make_engine(athena_shim.endpoint)
    with pytest.raises(EngineError) as caught:
        engine.query("SELECT evntname FROM cloudtrail")
    (query_id,) = athena.list_query_executions()["QueryExecutionIds"]
    message = str(caught.value)
    assert query_id in message
    assert "FAILED" in message
    assert reason in message
    assert "security" in message


def test_cancelled_query_names_id_and_state(moto_endpoint: str, athena: Any) -> None:
    """Native moto: StopQueryExecution, sent as soon as the query is accepted, ends it CANCELLED."""
    started: list[str] = []

    def cancel_at_once(query_id: str) -> None:
        started.append(query_id)
        athena.stop_query_execution(QueryExecutionId=query_id)

    engine = make_engine(moto_endpoint, on_query_started=cancel_at_once)
    with pytest.raises(EngineError) as caught:
        engine.query(SQL)
    assert len(started) == 1
    assert f"athena query {started[0]}" in str(caught.value)
    assert "CANCELLED" in str(caught.value)


def test_cancel_stops_a_query(moto_endpoint: str, athena: Any, can_athena_results: Any) -> None:
    engine = make_engine(moto_endpoint)
    engine.on_query_started = engine.cancel
    with pytest.raises(EngineError, match="CANCELLED"):
        engine.query(SQL)
