"""Text from files as Textual content: drawn as it is written, never parsed as markup.

A scenario's name, a path, a folder name, an error message quoting them:
all are data, and someone else may have written them. Handed to a widget
as a `str`, Textual parses them as content markup: ``XOR [/]`` crashes the
app before its first frame, and ``[@click=app.screenshot(...)]`` turns the
title bar into a button that writes a file. `literal` is the one way such
text reaches a widget: control characters become visible escapes
(`bpdebug.text.printable`), and the result is a `Content`, which Textual
draws as it is. Notifications go through `BpdebugApp.notify`, which does
the same for every message.

Our own text with markup on purpose (the help screen's ``[b]``) stays a
plain string.
"""

from __future__ import annotations

from textual.content import Content

from bpdebug.text import printable


def literal(text: str, *, style: str = "", newlines: bool = False) -> Content:
    """`text` as content that shows exactly its characters (control characters escaped).

    `style` applies to the whole text (e.g. ``"bold red"`` for an error).
    With `newlines`, line feeds are kept (a multi-line report we wrote
    around names from a file); see `printable`.
    """
    return Content.styled(printable(text, newlines=newlines), style)
