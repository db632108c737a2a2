"""The error raised for an invalid configuration, carrying every problem found."""

from __future__ import annotations

from collections.abc import Sequence

from posekit.errors import ConfigError


class InvalidConfigError(ConfigError):
    """One or more problems in a configuration.

    ``problems`` holds one ``"dotted.path: message"`` string per problem and ``source``
    names the file (or ``"<dict>"``) the configuration came from.
    """

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems = list(problems)
        if len(self.problems) == 1:
            message = f"{source}: {self.problems[0]}"
        else:
            lines = "\n".join(f"  - {p}" for p in self.problems)
            message = f"{source}: {len(self.problems)} problems in the configuration:\n{lines}"
        super().__init__(message)


def raise_if_problems(source: str, problems: Sequence[str]) -> None:
    """Raise :class:`InvalidConfigError` when ``problems`` is not empty."""
    if problems:
        raise InvalidConfigError(source, problems)
