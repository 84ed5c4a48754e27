"""Text from files made safe to print: control characters become visible escapes.

A scenario or snapshot is data, and so is every name, key, path and cell it
holds. Printed as is, an ESC or an OSC sequence in a scenario's name would
talk to the user's terminal (OSC 52 writes the clipboard, others set the
window title or hide text). `printable` is the one helper that every place
printing text from a file goes through: the command line's messages and
reports, the Markdown export and the app's widgets.

What is replaced, each by a visible escape that names it (``\\x1b``,
``\\x9b``, ``\\u202e``, ``\\udcff``):
- C0 controls (U+0000-U+001F: ESC, BEL, CR, ...), DEL (U+007F) and C1
  controls (U+0080-U+009F, which some terminals act on as ESC sequences);
- lone surrogates (U+D800-U+DFFF), which is how Python holds the bytes of a
  file name that is not UTF-8; they cannot be encoded and would crash a print;
- the line and paragraph separators (U+2028, U+2029), which break a
  one-line message;
- the bidirectional controls (U+200E, U+200F, U+202A-U+202E, U+2066-U+2069),
  which make text display in another order than it is written ("Trojan
  Source").

Everything else, accents, CJK and emoji included, is kept as it is.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
_UNSAFE_KEEPING_NEWLINES = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, newlines: bool = False) -> str:
    """`text` with every control character replaced by a visible escape (see the module doc).

    With `newlines`, line feeds are kept (for multi-line reports whose lines
    we wrote); anything else that moves the cursor is still escaped.
    Applying it twice changes nothing more: the escapes are printable.
    """
    pattern = _UNSAFE_KEEPING_NEWLINES if newlines else _UNSAFE
    return pattern.sub(_escape, text)


def is_printable(text: str, *, newlines: bool = False) -> bool:
    """Whether `printable` would leave `text` as it is."""
    pattern = _UNSAFE_KEEPING_NEWLINES if newlines else _UNSAFE
    return pattern.search(text) is None
