"""Exceptions raised by posekit.

Every error a user can cause (bad file, bad config field, wrong model folder) is a
:class:`PosekitError`. Messages follow one pattern so they are easy to act on::

    <where: file and/or field>: <what is wrong>; expected <what was expected>. <suggestion>

The CLI prints these without a traceback and exits with status 2.
"""

from __future__ import annotations


class PosekitError(Exception):
    """Base class of all errors caused by user input."""


class ConfigError(PosekitError):
    """A configuration file or value is invalid (unknown key, wrong type, bad range...)."""


class DataError(PosekitError):
    """A labels file, DeepLabCut project or image folder cannot be used."""


class VideoError(DataError):
    """A video cannot be opened or read."""


class ModelError(PosekitError):
    """A model run folder or checkpoint cannot be used."""
