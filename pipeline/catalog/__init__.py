"""Table specs (``glue/*.yaml``) and everything rendered from them: Athena DDL, Glue ``TableInput``,
DuckDB views over a local folder, Terraform JSON.

One spec renders every form, so the engines can never disagree on a column.
May import: ``source``, ``config``, ``errors``, ``times``, ``paths``.
"""
