"""Incidents: findings correlated by actor, indicator and time into one story per attack, scored,
and routed to Jira, PagerDuty and Slack as incidents instead of alerts.

rules (the YAML correlation rules), tactics (technique -> tactic), entities (actor and keys of a
finding), correlate (findings -> incidents), score, service (from settings and the store),
route (incidents through the sinks), tick_job (routing in scheduled runs). Reads the findings
store; delivers through the sinks; sits above runs, below reports and workflow.
"""
