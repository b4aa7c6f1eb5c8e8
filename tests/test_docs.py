"""The documentation stays usable: a short README, links that lead somewhere, commands that exist,
and an architecture picture that matches the layers the architecture test enforces.

Links are checked the way GitHub renders them: a relative link must name an existing file, and a
``#anchor`` into a markdown file must be the slug of one of its headings.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from pipeline.cli import app

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
README_MAX_LINES = 250

_FENCE = re.compile(r"^\s*(```|~~~)")
_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_CODE_SPAN = re.compile(r"`[^`]*`")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_COMMAND_CELL = re.compile(r"^\|\s*`trailguard ([a-z][a-z0-9 -]*)`\s*\|")


def _prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks: code is not markdown."""
    lines, fenced = [], False
    for number, line in enumerate(text.splitlines(), start=1):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append((number, line))
    return lines


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: markup and punctuation dropped, lower case, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = text.replace("`", "").replace("*", "")
    text = re.sub(r"<[^>]+>", "", text)
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading anchor of a markdown file, with GitHub's -1, -2 suffixes for repeats."""
    seen: dict[str, int] = {}
    found = set()
    for _, line in _prose_lines(path.read_text(encoding="utf-8")):
        match = _HEADING.match(line)
        if not match:
            continue
        slug = github_slug(match.group(2))
        count = seen.get(slug, 0)
        found.add(slug if count == 0 else f"{slug}-{count}")
        seen[slug] = count + 1
    return found


def broken_links(path: Path, root: Path = ROOT) -> list[str]:
    """Relative links in ``path`` that lead nowhere, each as 'file:line: target (why)'."""
    problems = []
    for number, line in _prose_lines(path.read_text(encoding="utf-8")):
        for target in _LINK.findall(_CODE_SPAN.sub("", line)):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):
                continue  # http:, https:, mailto: ... are not checked offline
            file_part, _, anchor = target.partition("#")
            dest = (path.parent / file_part).resolve() if file_part else path
            where = f"{path.relative_to(root)}:{number}: {target}"
            if not dest.exists():
                problems.append(f"{where} (no such file)")
            elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                problems.append(f"{where} (no heading with that anchor in {dest.relative_to(root)})")
    return problems


def _markdown_files() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def readme_commands() -> list[str]:
    """The commands the README's command table names, e.g. 'detect', 'catalog ddl'."""
    return [m.group(1).strip() for _, line in _prose_lines(README.read_text(encoding="utf-8"))
            if (m := _COMMAND_CELL.match(line))]


def cli_commands() -> set[str]:
    """Every leaf command of the CLI, sub-apps included ('catalog ddl', 'report weekly')."""
    def walk(command: Any, prefix: str) -> set[str]:
        if getattr(command, "commands", None):  # a group (typer bundles its own click: no isinstance)
            subs = command.commands.items()
            return set().union(*(walk(sub, f"{prefix} {name}".strip()) for name, sub in subs))
        return {prefix}

    return walk(typer.main.get_command(app), "")


def test_readme_is_short() -> None:
    lines = len(README.read_text(encoding="utf-8").splitlines())
    assert lines <= README_MAX_LINES, (
        f"README.md has {lines} lines; keep it to {README_MAX_LINES} at most: detail goes in docs/")


@pytest.mark.parametrize("path", _markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(path: Path) -> None:
    assert not broken_links(path), "broken links:\n" + "\n".join(broken_links(path))


def test_the_link_checker_catches_a_broken_link(tmp_path: Path) -> None:
    """Not vacuous: a missing file, a missing anchor and a missing same-page anchor are all caught."""
    (tmp_path / "other.md").write_text("# Other page\n\n## `make bench`: the figures\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n[ok](other.md#make-bench-the-figures) [gone](missing.md) [bad](other.md#nope)\n"
        "[self](#page) [no](#absent) [web](https://example.com/x)\n```\n[in code](nowhere.md)\n```\n",
        encoding="utf-8",
    )
    problems = broken_links(page, root=tmp_path)
    assert [p.split(": ", 1)[1] for p in problems] == [
        "missing.md (no such file)",
        "other.md#nope (no heading with that anchor in other.md)",
        "#absent (no heading with that anchor in page.md)",
    ]


def test_github_slugs() -> None:
    assert github_slug("`make bench`: against the alternatives") == "make-bench-against-the-alternatives"
    assert github_slug("Sinks and incident routing") == "sinks-and-incident-routing"
    assert github_slug("1. The logging (`deploy/terraform/`)") == "1-the-logging-deployterraform"


def test_readme_command_table_names_real_commands() -> None:
    named = readme_commands()
    assert len(named) >= 10, f"the README's command table was not found (got {named})"
    runner = CliRunner()
    missing = [c for c in named if runner.invoke(app, [*c.split(), "--help"]).exit_code != 0]
    assert not missing, f"README.md names commands the CLI does not have: {missing}"


def test_every_cli_command_is_in_the_readme() -> None:
    """One line per command: a new command gets its line in the README's table."""
    absent = sorted(cli_commands() - set(readme_commands()))
    assert not absent, f"commands missing from README.md's command table: {', '.join(absent)}"


def test_a_made_up_command_is_refused() -> None:
    """The existence check can fail: typer answers an unknown command with a usage error."""
    assert CliRunner().invoke(app, ["no-such-command", "--help"]).exit_code != 0
    assert CliRunner().invoke(app, ["catalog", "no-such-command", "--help"]).exit_code != 0


def _architecture_layers() -> list[set[str]]:
    """LAYERS from tests/test_architecture.py (wherever the tests folder keeps it), without importing it."""
    [source] = [p for p in (ROOT / "tests").rglob("test_architecture.py")]
    for node in ast.parse(source.read_text(encoding="utf-8")).body:
        target = node.target if isinstance(node, ast.AnnAssign) else (
            node.targets[0] if isinstance(node, ast.Assign) else None)
        if isinstance(target, ast.Name) and target.id == "LAYERS":
            return [set(layer) for layer in ast.literal_eval(node.value)]
    raise AssertionError(f"{source}: no LAYERS list")


def _picture_layers() -> dict[int, set[str]]:
    """The boxes inside each ``subgraph L<n>`` of docs/architecture.md's mermaid picture."""
    text = (DOCS / "architecture.md").read_text(encoding="utf-8")
    [picture] = re.findall(r"```mermaid\n(.*?)```", text, re.DOTALL)
    layers: dict[int, set[str]] = {}
    current: int | None = None
    for line in picture.splitlines():
        if m := re.match(r"\s*subgraph L(\d+)\b", line):
            current = int(m.group(1))
            layers[current] = set()
        elif re.match(r"\s*end\s*$", line):
            current = None
        elif current is not None and (m := re.match(r"\s*(\w+)\[", line)):
            layers[current].add(m.group(1))
    return layers


def test_architecture_picture_matches_the_enforced_layers() -> None:
    expected = dict(enumerate(_architecture_layers()))
    assert _picture_layers() == expected, (
        "docs/architecture.md's layers differ from LAYERS in tests/test_architecture.py: redraw the picture")
