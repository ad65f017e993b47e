"""The one exception hierarchy of safetyrules, exported from the package root.

Every error the library raises for bad input derives from :class:`SafetyRulesError`, so an integrator can
catch them all with one ``except``; each subclass also derives from the built-in it used to be (``ValueError``
for bad values), so existing handlers keep working. User mistakes inside a policy are *diagnostics* (data),
raised together as one :class:`~safetyrules.diagnostics.PolicyError` by the convenience APIs.

This module imports nothing from the package: every other module may import it.
"""

from __future__ import annotations


class SafetyRulesError(Exception):
    """Base of every error safetyrules raises for bad input or a limit reached."""


class InputError(SafetyRulesError, ValueError):
    """An input (a record, a file, a value given on the command line or to the API) is not usable."""


class DateError(InputError):
    """A date that is malformed (not ``YYYY-MM-DD``) or outside the range the engines compute with."""


class LimitError(InputError):
    """An input is larger, deeper or more costly than a configured limit (see :mod:`safetyrules.limits`)."""

