"""Why the app could not do what the user asked, as a value the pages check and show one way.

The service layer (:mod:`app.service`) and the widgets that read or edit a structure return a
:class:`Failure` in place of their result when the user's input (or a missing model) stops them:
an unreadable upload, a disordered or too large structure, an edit that cannot be applied, a kind
whose weights are not installed. A page tests ``isinstance(x, Failure)`` and hands it to
:func:`app.widgets.show_failure`; no caller tells an error from a result by its type being ``str``.
No Streamlit here: the pure table helpers (:mod:`app.tables`) check for it too.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Failure"]


@dataclass(frozen=True)
class Failure:
    """A refused input or an unavailable model, in place of a result.

    ``message`` is what the user reads (the library's own message, which names the offending
    value); ``error`` is the class name of the exception behind it (``"StructureError"``,
    ``"ValueError"``, ``"FileNotFoundError"``, ...), for tests and logs, never shown: the fuzz
    tests count a message quoting an exception class as unclear.
    """

    message: str
    error: str

    @classmethod
    def from_exception(cls, err: BaseException) -> "Failure":
        return cls(str(err), type(err).__name__)
