"""Extract the sample YAML blocks printed in the sleap-nn configuration guides.

The newer edition (seed 003) is plain text: a block starts with a top-level section key
(``data_config:`` ...) at the start of a line and runs while lines are indented, blank,
or further top-level config keys. The older edition (seed 004) is Markdown with
```` ```yaml ```` fences.
"""

from __future__ import annotations

import re
from pathlib import Path

_TOP_KEYS = (
    "data_config",
    "model_config",
    "trainer_config",
    "name",
    "description",
    "sleap_nn_version",
    "filename",
)
_START = re.compile(r"^(data_config|model_config|trainer_config):\s*$")
_TOP = re.compile(rf"^({'|'.join(_TOP_KEYS)}):")


def plain_text_blocks(text: str) -> list[tuple[int, str]]:
    """``(first line number, yaml text)`` of each sample block in the plain-text guide."""
    lines = text.splitlines()
    blocks: list[tuple[int, str]] = []
    i = 0
    while i < len(lines):
        if not _START.match(lines[i]):
            i += 1
            continue
        start = i
        i += 1
        while i < len(lines) and (
            not lines[i].strip() or lines[i][0] in " \t" or _TOP.match(lines[i])
        ):
            if "•" in lines[i]:  # a bullet list of the prose, not YAML
                break
            i += 1
        blocks.append((start + 1, "\n".join(lines[start:i]).rstrip() + "\n"))
    return blocks


def markdown_blocks(text: str) -> list[tuple[int, str]]:
    """``(first line number, yaml text)`` of each fenced yaml block in the Markdown guide."""
    blocks: list[tuple[int, str]] = []
    for match in re.finditer(r"```yaml\n(.*?)```", text, flags=re.DOTALL):
        line = text[: match.start()].count("\n") + 2
        blocks.append((line, match.group(1)))
    return blocks


def guide_blocks(seeds: Path) -> dict[str, list[tuple[int, str]]]:
    """Blocks of the newer (003) and older (004) guides found in ``seeds``, by file name."""
    found: dict[str, list[tuple[int, str]]] = {}
    for path in sorted(seeds.glob("003_*.txt")):
        found[path.name] = plain_text_blocks(path.read_text(encoding="utf-8"))
    for path in sorted(seeds.glob("004_*.txt")):
        found[path.name] = markdown_blocks(path.read_text(encoding="utf-8"))
    return found
