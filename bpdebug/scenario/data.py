"""Data set generators: TensorFlow Playground's four 2-D sets and toy digit glyphs.

Every generator takes a seed and returns the same examples for the same
seed (numpy's `default_rng`). Each returns `(points, labels)`: `points` has
one row per example, shape (N, n_0), and `labels` holds class indexes, shape
(N,). For the Playground sets class 1 is the Playground's "positive" (blue)
and class 0 its "negative" (orange). The loader turns labels into targets.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

PLAYGROUND_GENERATORS = ("xor", "circle", "gauss", "spiral")
"""The Playground's classification sets: 2 inputs (x, y), 2 classes."""

GENERATORS = (*PLAYGROUND_GENERATORS, "digits")
"""Every generator name a scenario may use."""

DIGIT_SIZES = (8, 28)
"""Side lengths `digits` can draw: 8 (64 inputs) or 28 (784 inputs, MNIST-sized)."""

Generated = tuple[np.ndarray, np.ndarray]
"""(points (N, n_0) float64, labels (N,) int64)."""

# The Playground draws its noise slider as 0..50 and divides by 100, so the
# `noise` option here uses the same 0..0.5 scale.


def _shuffled(rng: np.random.Generator, points: np.ndarray, labels: np.ndarray) -> Generated:
    # The Playground shuffles after generating; without it a minibatch of an
    # unshuffled run would hold one class only.
    order = rng.permutation(len(labels))
    return points[order], labels[order]


def _halves(n: int) -> tuple[int, int]:
    """Positives and negatives for n examples: the extra one of an odd n is positive."""
    return n - n // 2, n // 2


def xor(n: int, noise: float, seed: int) -> Generated:
    """Four quadrants: positive where x and y have the same sign (after noise)."""
    rng = np.random.default_rng(seed)
    padding = 0.3
    x = rng.uniform(-5, 5, n)
    x += np.where(x > 0, padding, -padding)
    y = rng.uniform(-5, 5, n)
    y += np.where(y > 0, padding, -padding)
    noisy_x = x + rng.uniform(-5, 5, n) * noise
    noisy_y = y + rng.uniform(-5, 5, n) * noise
    labels = (noisy_x * noisy_y >= 0).astype(np.int64)
    return _shuffled(rng, np.column_stack([x, y]), labels)


def circle(n: int, noise: float, seed: int) -> Generated:
    """Positives in a disc of radius 2.5, negatives in a ring from 3.5 to 5."""
    rng = np.random.default_rng(seed)
    radius = 5.0
    n_pos, n_neg = _halves(n)
    r = np.concatenate(
        [rng.uniform(0, radius * 0.5, n_pos), rng.uniform(radius * 0.7, radius, n_neg)]
    )
    angle = rng.uniform(0, 2 * np.pi, n)
    x, y = r * np.sin(angle), r * np.cos(angle)
    # As in the Playground, noise moves the point used for the label, not the point.
    noisy_x = x + rng.uniform(-radius, radius, n) * noise
    noisy_y = y + rng.uniform(-radius, radius, n) * noise
    labels = (np.hypot(noisy_x, noisy_y) < radius * 0.5).astype(np.int64)
    return _shuffled(rng, np.column_stack([x, y]), labels)


def gauss(n: int, noise: float, seed: int) -> Generated:
    """Two Gaussian blobs at (2, 2) (positive) and (-2, -2); noise widens them."""
    rng = np.random.default_rng(seed)
    variance = 0.5 + 3.5 * (noise / 0.5)  # the Playground's linear map [0, 0.5] -> [0.5, 4]
    n_pos, n_neg = _halves(n)
    centers = np.concatenate([np.full(n_pos, 2.0), np.full(n_neg, -2.0)])
    x = centers + rng.normal(0.0, np.sqrt(variance), n)
    y = centers + rng.normal(0.0, np.sqrt(variance), n)
    labels = np.concatenate([np.ones(n_pos, np.int64), np.zeros(n_neg, np.int64)])
    return _shuffled(rng, np.column_stack([x, y]), labels)


def spiral(n: int, noise: float, seed: int) -> Generated:
    """Two interleaved spirals of radius 5, 1.75 turns each, half a turn apart."""
    rng = np.random.default_rng(seed)
    parts = []
    for count, delta_t in zip(_halves(n), (0.0, np.pi), strict=True):
        i = np.arange(count)
        r = i / max(count, 1) * 5
        t = 1.75 * i / max(count, 1) * 2 * np.pi + delta_t
        x = r * np.sin(t) + rng.uniform(-1, 1, count) * noise
        y = r * np.cos(t) + rng.uniform(-1, 1, count) * noise
        parts.append(np.column_stack([x, y]))
    n_pos, n_neg = _halves(n)
    labels = np.concatenate([np.ones(n_pos, np.int64), np.zeros(n_neg, np.int64)])
    return _shuffled(rng, np.concatenate(parts), labels)


_GLYPHS = (
    # Each glyph leaves a 1-pixel margin so that a 1-pixel shift keeps it whole.
    """
    ........
    ..###...
    .#...#..
    .#...#..
    .#...#..
    .#...#..
    ..###...
    ........
    """,
    """
    ........
    ...#....
    ..##....
    ...#....
    ...#....
    ...#....
    ..###...
    ........
    """,
    """
    ........
    ..###...
    .#...#..
    .....#..
    ...##...
    ..#.....
    .#####..
    ........
    """,
    """
    ........
    .####...
    .....#..
    ..###...
    .....#..
    .....#..
    .####...
    ........
    """,
    """
    ........
    ....#...
    ...##...
    ..#.#...
    .#..#...
    .#####..
    ....#...
    ........
    """,
    """
    ........
    .#####..
    .#......
    .####...
    .....#..
    .....#..
    .####...
    ........
    """,
    """
    ........
    ..###...
    .#......
    .####...
    .#...#..
    .#...#..
    ..###...
    ........
    """,
    """
    ........
    .#####..
    .....#..
    ....#...
    ...#....
    ...#....
    ...#....
    ........
    """,
    """
    ........
    ..###...
    .#...#..
    ..###...
    .#...#..
    .#...#..
    ..###...
    ........
    """,
    """
    ........
    ..###...
    .#...#..
    .#...#..
    ..####..
    .....#..
    ..###...
    ........
    """,
)


def glyphs() -> np.ndarray:
    """The ten 8x8 digit bitmaps, shape (10, 8, 8), values 0 or 1."""
    rows = [[line.strip() for line in glyph.strip().splitlines()] for glyph in _GLYPHS]
    return np.array([[[c == "#" for c in line] for line in g] for g in rows], dtype=np.float64)


def digits(n: int, noise: float, seed: int, size: int = 8) -> Generated:
    """Toy handwritten digits: glyphs shifted up to 1 pixel, varied in ink, with noise.

    `size` 8 gives 64 inputs; 28 upscales each 8x8 image 3x and pads it to
    28x28 (784 inputs), an MNIST-sized toy. Pixels are row-major, in [0, 1];
    `noise` is the standard deviation of Gaussian pixel noise (then clipped).
    """
    if size not in DIGIT_SIZES:
        raise ValueError(f"size must be one of {DIGIT_SIZES}, got {size}")
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n, dtype=np.int64) % 10)
    shifts = rng.integers(-1, 2, size=(n, 2))
    ink = rng.uniform(0.7, 1.0, n)
    # A 1-pixel frame of zeros around each glyph lets a shift be a plain slice.
    framed = np.pad(glyphs(), ((0, 0), (1, 1), (1, 1)))
    images: np.ndarray = np.zeros((n, 8, 8))
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            moved = (shifts[:, 0] == dy) & (shifts[:, 1] == dx)
            images[moved] = framed[labels[moved], 1 - dy : 9 - dy, 1 - dx : 9 - dx]
    images *= ink[:, None, None]
    if size == 28:
        images = np.kron(images, np.ones((1, 3, 3)))
        images = np.pad(images, ((0, 0), (2, 2), (2, 2)))
    images += rng.normal(0.0, 1.0, images.shape) * noise
    np.clip(images, 0.0, 1.0, out=images)
    return images.reshape(n, size * size), labels


PLAYGROUND: dict[str, Callable[[int, float, int], Generated]] = {
    "xor": xor,
    "circle": circle,
    "gauss": gauss,
    "spiral": spiral,
}
"""The Playground generators by name."""


def generate(name: str, n: int, noise: float, seed: int, size: int = 8) -> Generated:
    """Run generator `name` (one of GENERATORS)."""
    if name == "digits":
        return digits(n, noise, seed, size)
    return PLAYGROUND[name](n, noise, seed)


def class_count(name: str) -> int:
    """How many classes generator `name` draws from."""
    return 10 if name == "digits" else 2


def input_width(name: str, size: int = 8) -> int:
    """n_0 for generator `name`: 2 for the Playground sets, size*size for digits."""
    return size * size if name == "digits" else 2


def labels_to_targets(labels: np.ndarray, width: int, classes: int) -> np.ndarray:
    """Targets as columns, shape (width, N).

    Width 1 with two classes gives one 0/1 row (class 1 -> 1); width equal
    to `classes` gives one-hot columns. Other widths raise ValueError.
    """
    if width == 1 and classes == 2:
        return labels[None, :].astype(np.float64)
    if width == classes:
        targets = np.zeros((classes, len(labels)))
        targets[labels, np.arange(len(labels))] = 1.0
        return targets
    raise ValueError(f"width {width} does not fit {classes} classes")
