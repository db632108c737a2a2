"""Problems found in a configuration, and the error that carries them.

Every check of a configuration describes what it found as a :class:`Problem`: the dotted
YAML path, what is wrong, what was expected and a suggestion. :class:`InvalidConfigError`
collects all of them, so one error lists every problem of a file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from posekit.errors import ConfigError


@dataclass(frozen=True)
class Problem:
    """One problem in a configuration.

    Attributes:
        path: Dotted YAML path of the offending field or section
            (``"trainer_config.max_epochs"``).
        wrong: What was found (``"value 0 is out of range"``).
        expected: What is allowed (``"a number >= 1"``).
        suggestion: How to fix it (``"The default is 10."``).
    """

    path: str
    wrong: str
    expected: str
    suggestion: str

    def __str__(self) -> str:
        return f"{self.path}: {self.wrong}; expected {self.expected}. {self.suggestion}"


class InvalidConfigError(ConfigError):
    """One or more problems in a configuration.

    ``problems`` holds one ``"dotted.path: message"`` string per problem and ``source``
    names the file (or ``"<dict>"``) the configuration came from.
    """

    def __init__(self, source: str, problems: Sequence[str | Problem]) -> None:
        self.source = source
        self.problems = [str(p) for p in problems]
        if len(self.problems) == 1:
            message = f"{source}: {self.problems[0]}"
        else:
            lines = "\n".join(f"  - {p}" for p in self.problems)
            message = f"{source}: {len(self.problems)} problems in the configuration:\n{lines}"
        super().__init__(message)


def raise_if_problems(source: str, problems: Sequence[str | Problem]) -> None:
    """Raise :class:`InvalidConfigError` when ``problems`` is not empty."""
    if problems:
        raise InvalidConfigError(source, problems)
