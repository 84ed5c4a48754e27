"""The one diverging colour scale that every matrix in the debugger uses.

Negative values are blue, zero is a neutral dark grey and positive values are
red, in `STEPS` intensities per sign chosen by |v| / scale. The colours were
picked so that Rich's downgrade keeps the sign apart: in 256 colours every
step is a distinct palette entry, and in 16 colours negatives become
blue / bright blue, positives red / bright red and zero black. NaN (bold
black on yellow) and +/-inf (bold black on magenta) use hues the scale never
does, so a numerical blow-up stands out in any colour system.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import NDArray
from rich.color import Color
from rich.style import Style
from rich.text import Text

STEPS = 5
"""Intensity steps per sign."""

_NEGATIVE = ("#172070", "#1c2f96", "#2848c4", "#4a6fe8", "#7090ff")
_POSITIVE = ("#701a16", "#9a231a", "#c8242a", "#e8483a", "#ff7060")
_ZERO = "#262626"
_NAN = "#ffff00"
_INF = "#ff00ff"

NAN_INDEX = 2 * STEPS + 1
"""Palette index of NaN; finite values use 0..2*STEPS with zero at STEPS."""
INF_INDEX = 2 * STEPS + 2
"""Palette index of +inf and -inf."""

BACKGROUNDS: tuple[Color, ...] = tuple(
    Color.parse(hex_) for hex_ in (*reversed(_NEGATIVE), _ZERO, *_POSITIVE, _NAN, _INF)
)
"""Background colour of each palette index (strongest negative first)."""


def _text_color(background: Color) -> Color:
    """Black or white, whichever reads better on `background` (WCAG luminance)."""
    r, g, b = (
        c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
        for c in (x / 255 for x in background.get_truecolor())
    )
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return Color.parse("#000000" if luminance > 0.179 else "#ffffff")


STYLES: tuple[Style, ...] = tuple(
    Style(
        color=_text_color(bg),
        bgcolor=bg,
        bold=True if i >= NAN_INDEX else None,
    )
    for i, bg in enumerate(BACKGROUNDS)
)
"""Cell style (text on background) of each palette index."""


def _safe_scale(scale: float) -> float:
    # A zero or non-finite scale would turn every finite value into NaN or 0.
    return scale if np.isfinite(scale) and scale > 0 else 1.0


def palette_index(values: NDArray[np.floating] | float, scale: float) -> NDArray[np.intp]:
    """Palette index (into `STYLES`/`BACKGROUNDS`) of each value, vectorised.

    `values` has any shape; the result has the same shape. Exact zero maps to
    the neutral index `STEPS`; any other finite value gets at least the
    faintest tint of its sign, so a dead unit (exactly 0) differs from a tiny
    gradient. Values beyond `scale` clip to the strongest step.
    """
    v = np.asarray(values, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        level = np.ceil(np.abs(v) / _safe_scale(scale) * STEPS)
        level = np.clip(np.nan_to_num(level, nan=0.0, posinf=STEPS), 0, STEPS)
        index = STEPS + np.sign(np.nan_to_num(v)) * level
    index = np.where(np.isnan(v), NAN_INDEX, np.where(np.isinf(v), INF_INDEX, index))
    return index.astype(np.intp)


@lru_cache(maxsize=256)
def half_block_style(upper: int, lower: int | None) -> Style:
    """Style of a "▀" drawing palette index `upper` over `lower` (None: no lower row)."""
    return Style(
        color=BACKGROUNDS[upper],
        bgcolor=None if lower is None else BACKGROUNDS[lower],
    )


def legend(scale: float | None = None) -> Text:
    """A one-line key to the scale: "-0.5 ▇▇▇▇▇ 0 ▇▇▇▇▇ 0.5  NaN  inf" (-max/+max with no scale).

    The blocks are the cell colours (as foreground), so the key reads the
    same as the cells in any colour system.
    """
    low, high = ("-max", "+max") if scale is None else (f"{-scale:.3g}", f"{scale:.3g}")
    text = Text(f"{low} ")
    for i in range(STEPS):
        text.append("▇", Style(color=BACKGROUNDS[i]))
    text.append(" 0 ", Style(color="#ffffff", bgcolor=BACKGROUNDS[STEPS]))
    for i in range(STEPS + 1, 2 * STEPS + 1):
        text.append("▇", Style(color=BACKGROUNDS[i]))
    text.append(f" {high}  ")
    text.append("NaN", STYLES[NAN_INDEX])
    text.append(" ")
    text.append("inf", STYLES[INF_INDEX])
    return text
