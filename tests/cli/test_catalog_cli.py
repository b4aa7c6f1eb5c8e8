"""Issue 17 item 9: ``catalog ddl`` right after ``trailguard demo`` works and says what it assumed."""

from __future__ import annotations

import re

from tests.helpers import invoke


def test_ddl_after_the_demo_lists_accounts_and_regions_from_the_folder(demo):
    accounts = sorted(p.name for p in (demo / "demo" / "AWSLogs").glob("o-*/*") if p.is_dir())
    result = invoke("catalog", "ddl", "--table", "cloudtrail")
    assert result.exit_code == 0, result.output
    assert f"'projection.account.values'='{','.join(accounts)}'" in result.output
    assert "no [catalog] accounts configured; listed from ./demo" in result.output
    assert "LOCATION uses the placeholder s3://YOUR-CLOUDTRAIL-BUCKET" in result.output
    org = next((demo / "demo" / "AWSLogs").glob("o-*")).name
    assert re.search(rf"s3://YOUR-CLOUDTRAIL-BUCKET/AWSLogs/{org}/\$\{{account\}}", result.stdout)


def test_configured_lists_win_and_s3_source_without_lists_still_fails(demo):
    (demo / "trailguard.toml").write_text('[catalog]\naccounts = ["123456789012"]\n')
    result = invoke("catalog", "ddl", "--table", "cloudtrail")
    assert "'projection.account.values'='123456789012'" in result.output
    assert "no [catalog] regions configured; listed from" in result.output
    (demo / "trailguard.toml").write_text('source = "s3://bucket/prefix"\n')
    result = invoke("catalog", "ddl")
    assert result.exit_code == 2 and "no accounts configured" in result.output
