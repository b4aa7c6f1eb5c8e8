"""Write the analyst notebooks in notebooks/ (without outputs): `python scripts/make_notebooks.py`.

The notebooks are generated so that their shared setup cell is written once; edit here, re-run, commit."""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

SETUP = """import os
from datetime import timedelta
from pathlib import Path

if Path.cwd().name == "notebooks":  # opened from notebooks/: relative paths start at the project root
    os.chdir("..")

import pandas as pd

import pipeline as tg
from pipeline.reports.weeks import latest_log_time, week_of

settings = tg.load_settings(None)  # trailguard.toml if present, TRAILGUARD_* variables, else ./demo
lake = tg.ingest_source(settings, settings.source)[0] if settings.engine == "duckdb" else None
engine = tg.open_engine(settings, lake)
latest = latest_log_time(Path(settings.source))
assert latest is not None, f"no CloudTrail logs under {settings.source}: run `make demo` first"
week_start = week_of(latest)
end = week_start + timedelta(days=7)
start = end - timedelta(days=14)
print(f"source {settings.source}: {start:%Y-%m-%d} to {end:%Y-%m-%d}, week of {week_start:%Y-%m-%d}")"""


def notebook(title, intro, cells):
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [new_markdown_cell(f"# {title}\n\n{intro}"), new_code_cell(SETUP)]
    for kind, text in cells:
        nb.cells.append(new_markdown_cell(text) if kind == "md" else new_code_cell(text))
    return nb


explore = notebook(
    "Exploring CloudTrail volumes and top APIs",
    "Where the organization's CloudTrail records come from: accounts, regions, services, the APIs\n"
    "called most, and what appeared for the first time this week. Runs on the embedded engine over\n"
    'the demo (`make demo`) or any folder laid out like the bucket; set `engine = "athena"` in\n'
    "trailguard.toml to run the same queries on Athena.",
    [
        ("md", "## Records per day and account"),
        (
            "code",
            """volume = tg.event_volume(engine, start, end)
assert not volume.empty
per_day = volume.pivot_table(index="event_day", columns="account_id", values="events", aggfunc="sum",
                             observed=True).fillna(0).astype("int64")
per_day""",
        ),
        (
            "code",
            """ax = per_day.plot(figsize=(9, 3.5), marker="o", title="CloudTrail records per day by account")
ax.set_ylabel("records");""",
        ),
        ("md", "## Services and regions"),
        (
            "code",
            """(volume.groupby(["event_source", "region"], observed=True)["events"].sum()
       .unstack(fill_value=0).assign(total=lambda t: t.sum(axis=1))
       .sort_values("total", ascending=False).head(15))""",
        ),
        ("md", "## The most called APIs, with their failure rates"),
        (
            "code",
            """apis = tg.top_apis(engine, start, end, limit=20)
apis.assign(failure_rate=(apis["errors"] / apis["events"]).round(3))""",
        ),
        (
            "md",
            "## First seen this week\n\nPrincipals (a role session counts as its role), source IPs,\n"
            "regions and "
            "user agents whose first record in the last 28 days falls in this week.",
        ),
        (
            "code",
            """new = tg.first_seen(engine, week_start, end, baseline_days=28)
new.groupby("kind", observed=False).size()""",
        ),
        ("code", """new[new["kind"].isin(["principal", "region"])]"""),
        (
            "md",
            "## Log coverage\n\nEvery delivering account and region this week; `silent` or `stopped` ones "
            "deserve a look (an outage, a misconfigured trail, or tampering).",
        ),
        (
            "code",
            """health = tg.coverage_health(engine, week_start, end)
health.coverage[["account_id", "region", "status", "events", "last_event", "active_hours"]]""",
        ),
    ],
)

investigate = notebook(
    "Investigating one principal",
    "Start from a finding (by default the most severe one with a principal), then pivot: the\n"
    "principal's timeline, its source IPs and access keys, the APIs it called, and what GuardDuty\n"
    "said about it. Set `PRINCIPAL` to investigate someone else.",
    [
        (
            "code",
            """PRINCIPAL = None  # an ARN; None picks the principal of the most severe recent finding
HOURS_AROUND = 24""",
        ),
        (
            "code",
            """findings = tg.load_findings(settings, since=start, until=end)
assert not findings.empty, "no findings stored: run `make demo` (or trailguard run) first"
named = findings[findings["principal"].fillna("").str.startswith("arn:")]
finding = named.sort_values(["severity", "first_seen"], ascending=[False, False]).iloc[0]
PRINCIPAL = PRINCIPAL or finding["principal"]
finding[["detection_id", "severity", "principal", "source_ip", "first_seen", "event_count"]]""",
        ),
        (
            "code",
            """window_start = finding["first_seen"] - pd.Timedelta(hours=HOURS_AROUND)
window_end = finding["last_seen"] + pd.Timedelta(hours=HOURS_AROUND)
case = tg.investigate_principal(engine, PRINCIPAL, window_start.to_pydatetime(), window_end.to_pydatetime())
{name: len(frame) for name, frame in case.items()}""",
        ),
        ("md", "## Timeline"),
        (
            "code",
            """timeline = case["timeline"]
assert not timeline.empty
columns = ["event_time", "account_id", "region", "event_name", "error_code", "source_ip", "access_key_id"]
timeline[columns].head(50)""",
        ),
        (
            "code",
            """per_hour = timeline.set_index("event_time").resample("1h")["event_id"].count()
ax = per_hour.plot(figsize=(10, 3), drawstyle="steps-post", title="Calls per hour")
ax.set_ylabel("calls");""",
        ),
        ("md", "## Pivots: source IPs, access keys, APIs"),
        ("code", """case["source_ips"]"""),
        ("code", """case["access_keys"]"""),
        ("code", """case["apis"].head(20)"""),
        ("md", "## Who else used those source IPs?"),
        (
            "code",
            """ips = case["source_ips"]["source_ip"].head(3).tolist()
pd.concat([tg.pivot(engine, "source_ip", ip, "principal", window_start.to_pydatetime(),
                    window_end.to_pydatetime()).assign(source_ip=ip) for ip in ips], ignore_index=True)""",
        ),
        ("md", "## Related GuardDuty findings"),
        ("code", """case["guardduty"]"""),
        ("md", "## Other findings on this principal"),
        (
            "code",
            """columns = ["detection_id", "severity", "first_seen", "event_count", "title"]
findings[findings["principal"] == PRINCIPAL][columns]""",
        ),
    ],
)

tune = notebook(
    "Tuning a detection",
    "Which detections fire most, on whom, and what a suppression would remove before you add it to\n"
    "trailguard.toml. The impact is measured by running the detection with and without the rule.",
    [
        ("code", """DETECTION = None  # a detection id; None picks the one with most findings"""),
        (
            "code",
            """findings = tg.load_findings(settings, since=start, until=end)
assert not findings.empty, "no findings stored: run `make demo` (or trailguard run) first"
days = (end - start).days
rates = tg.hit_rates(findings, days)
rates""",
        ),
        (
            "code",
            """DETECTION = DETECTION or rates.iloc[0]["detection_id"]
mine = findings[findings["detection_id"] == DETECTION]
print(f"{DETECTION}: {len(mine)} findings in {days} days")
tg.top_principals(mine, 10)""",
        ),
        ("code", """tg.findings_trend(mine, freq="D", by="account_id")"""),
        (
            "md",
            "## What would a suppression remove?\n\nPropose a rule for the detection's noisiest principal "
            "(with a reason and an expiry, as `trailguard suppressions` requires) and measure it.",
        ),
        (
            "code",
            """top = tg.top_principals(mine, 1)
if not top.empty and str(top.iloc[0]["principal"]).startswith("arn:"):
    field, value = "principals", top.iloc[0]["principal"]
else:  # GuardDuty findings name resources, not callers: suppress by account instead
    field, value = "accounts", str(mine.iloc[0]["account_id"])
rule = {field: [value], "reason": "expected automation (ticket SEC-123)", "expires": f"{end.year + 1}-01-31"}
impact = tg.suppression_impact(settings, engine, DETECTION, rule, start, end)
print(f"before {len(impact['before'])}, after {len(impact['after'])}, removed {len(impact['removed'])}")
impact["removed"].head(20)""",
        ),
        ("md", "The rule to paste into trailguard.toml if the numbers look right:"),
        (
            "code",
            '''print(f"""[[suppressions]]
detections = ["{DETECTION}"]
{field} = ["{value}"]
reason = "{rule['reason']}"
expires = "{rule['expires']}"
""")''',
        ),
    ],
)

for name, nb in (
    ("01_explore_cloudtrail", explore),
    ("02_investigate_principal", investigate),
    ("03_tune_detection", tune),
):
    nbformat.validate(nb)
    nbformat.write(nb, Path(__file__).resolve().parent.parent / "notebooks" / f"{name}.ipynb")
    print("wrote", name)
