"""Help screens in the conventions of click, the aws cli and argparse: ``query [OPTIONS] SQL``,
``--config PATH``, ``--format [table|json|csv]``.

Typer 0.29 marks a required argument ``{SQL}`` in the usage line, prints ``SQL <str>`` in the
argument list and a type tag (``<str>``, ``<path>``, ``<list[str]>``) after every option without a
metavar: noise a reader must decode (issue 17, item 15). Rather than a metavar on each of some
hundred options (and a new option forgetting it), :func:`plain_metavars` walks the command tree
once, when the root group is built, and gives every value a name: the one its author chose, else
``[a|b]`` for choices, ``PATH`` for paths, else the option's long name upper-cased (``--week
WEEK``). Arguments print as click prints them: ``SQL``, ``[ID]...``.
"""

from __future__ import annotations

import enum
from typing import Any

from typer.core import TyperArgument, TyperOption


class PlainArgument(TyperArgument):
    """An argument named by its metavar alone: ``SQL`` when required, ``[ID]...`` when optional."""

    def _label(self) -> str:
        return (self.metavar or self.name or "ARG").upper()

    def _usage_display_name(self) -> str:
        name = self._label() if self.required else f"[{self._label()}]"
        return name + ("..." if self.nargs != 1 else "")

    def get_help_record(self, ctx: Any) -> tuple[str, str] | None:
        record = super().get_help_record(ctx)
        if record is None:
            return None
        return self._label() + ("..." if self.nargs != 1 else ""), record[1]


def _option_metavar(option: TyperOption) -> str:
    descriptor = option.type_descriptor
    if descriptor.is_choice:
        values = [c.value if isinstance(c, enum.Enum) else c for c in descriptor.choices or ()]
        return "[" + "|".join(str(v) for v in values) + "]"
    if descriptor.is_path or descriptor.is_file:
        return "PATH"
    longest = max(option.opts, key=len).lstrip("-")
    return longest.replace("-", "_").upper()


def plain_metavars(command: Any) -> None:
    """Name every argument and option value of ``command`` and its subcommands (in place)."""
    for param in getattr(command, "params", []):
        if isinstance(param, TyperArgument) and not isinstance(param, PlainArgument):
            param.__class__ = PlainArgument
        elif isinstance(param, TyperOption) and param.metavar is None and not (param.is_flag or param.count):
            param.metavar = _option_metavar(param)
    for sub in getattr(command, "commands", {}).values():
        plain_metavars(sub)
