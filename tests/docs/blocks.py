"""The fenced code blocks of a Markdown file, and what the docs test does with each.

The convention, for every file the docs test reads:

- ```sh blocks are shell commands: they run in one bash session per file (`set -euo pipefail`), in
  the order of the file, so a variable or a function defined in one block is there in the next;
- ```python blocks are Python: they run in one interpreter per file, in the order of the file, so
  a name defined in one block is there in the next;
- ```text blocks show what a command prints, ```mermaid blocks are diagrams: neither is run;
- a block right after a `<!-- not run: reason -->` comment is not run, whatever its language; the
  reason says why (a long-running server, a cluster, a command another test runs);
- any other block is an error: the docs test fails rather than let a command go untested.
"""

import dataclasses
import re
import textwrap
from pathlib import Path

RUN = {"sh", "python"}
NOT_COMMANDS = {"text": "output", "mermaid": "diagram"}
NOT_RUN = re.compile(r"<!--\s*not run:\s*(?P<reason>.*?)\s*-->")
FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")


@dataclasses.dataclass(frozen=True)
class Block:
    path: Path
    line: int  # of the opening fence, from 1
    language: str  # "" for a bare fence
    code: str
    not_run: str | None  # the reason of a `<!-- not run: ... -->` right before the block

    @property
    def where(self) -> str:
        return f"{self.path.name}:{self.line}"

    @property
    def runs(self) -> bool:
        return self.not_run is None and self.language in RUN

    def problem(self) -> str | None:
        """Why the docs test cannot accept this block, or None."""
        if self.not_run is not None:
            return None if self.not_run else f"{self.where}: `not run` without a reason"
        if self.language in RUN or self.language in NOT_COMMANDS:
            return None
        known = ", ".join(sorted(RUN | set(NOT_COMMANDS)))
        return (
            f"{self.where}: a ```{self.language} block the docs test does not know how to run "
            f"(known: {known}); mark it with <!-- not run: reason --> if it must not run"
        )


def read_blocks(path: Path) -> list[Block]:
    blocks = []
    lines = Path(path).read_text().splitlines()
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        closing = re.compile(rf"^ *{re.escape(fence[0])}{{{len(fence)},}} *$")
        end = i + 1
        while end < len(lines) and not closing.match(lines[end]):
            end += 1
        body = "\n".join(line[indent:] if line[:indent].isspace() else line for line in lines[i + 1 : end])
        blocks.append(
            Block(
                path=Path(path),
                line=i + 1,
                language=opening["info"].strip().split(" ")[0],
                code=textwrap.dedent(body) + "\n",
                not_run=_marker_before(lines, i),
            )
        )
        i = end + 1
    return blocks


def _marker_before(lines: list[str], i: int) -> str | None:
    """The reason of a `not run` comment on the last non-blank line before line i, or None."""
    j = i - 1
    while j >= 0 and not lines[j].strip():
        j -= 1
    marker = NOT_RUN.search(lines[j]) if j >= 0 else None
    return marker["reason"] if marker else None
