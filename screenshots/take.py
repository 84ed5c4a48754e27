"""Take the README's screenshots again: `python screenshots/take.py` from the repository root.

Each picture is the app driven headless by Textual's Pilot, as a user would
press the keys, then saved as SVG (convert one to PNG with `rsvg-convert`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from tempfile import TemporaryDirectory

from bpdebug.tui import build_app

HERE = Path(__file__).resolve().parent

SHOTS = {
    # A trained spiral: step 3000, layer 2's backward phase with its four operands.
    "spiral-160x50.svg": ("spiral", (160, 50), ["g", *"3000", "enter", *"sssss"]),
    # xor at 80x24 in the middle of the backward pass: delta^(1) = (W^(2)^T delta^(2)) ⊙ σ'(z^(1)).
    "xor-backward-80x24.svg": ("xor", (80, 24), ["n", *"sssss"]),
}
"""File name: (bundled scenario, terminal size, keys)."""


async def take(name: str, scenario: str, size: tuple[int, int], keys: list[str]) -> None:
    with TemporaryDirectory() as exports:
        app = build_app(scenario, export_dir=Path(exports))
        async with app.run_test(size=size) as pilot:
            await pilot.press(*keys)
            await app.workers.wait_for_complete()
            await pilot.pause(0.5)
            app.save_screenshot(str(HERE / name))


async def main() -> None:
    for name, (scenario, size, keys) in SHOTS.items():
        await take(name, scenario, size, keys)
        print(f"wrote {HERE / name}")


if __name__ == "__main__":
    asyncio.run(main())
