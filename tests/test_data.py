"""Data: the generators, turning labels into targets, and CSV files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bpdebug.scenario import MAX_DATA_VALUES, MAX_EXAMPLES, InputError, datatable, load_scenario
from bpdebug.scenario import data as gen

PLAYGROUND = list(gen.PLAYGROUND_GENERATORS)


# ---------------------------------------------------------------- generators


@pytest.mark.parametrize("name", PLAYGROUND)
def test_playground_sets_are_deterministic_for_a_seed(name: str) -> None:
    points, labels = gen.generate(name, 120, 0.2, seed=7)
    again_points, again_labels = gen.generate(name, 120, 0.2, seed=7)
    np.testing.assert_array_equal(points, again_points)
    np.testing.assert_array_equal(labels, again_labels)
    other, _ = gen.generate(name, 120, 0.2, seed=8)
    assert not np.array_equal(points, other)


@pytest.mark.parametrize("name", PLAYGROUND)
@pytest.mark.parametrize("n", [1, 2, 7, 200])
def test_playground_sets_have_the_right_shapes(name: str, n: int) -> None:
    points, labels = gen.generate(name, n, 0.0, seed=0)
    assert points.shape == (n, 2)
    assert labels.shape == (n,)
    assert points.dtype == np.float64
    assert set(np.unique(labels)) <= {0, 1}


@pytest.mark.parametrize("name", PLAYGROUND)
def test_playground_sets_hold_both_classes_in_the_playground_range(name: str) -> None:
    points, labels = gen.generate(name, 200, 0.0, seed=0)
    counts = np.bincount(labels, minlength=2)
    assert counts.min() >= 40, counts  # both classes, neither swamped
    if name != "gauss":  # Gaussian tails are unbounded
        assert np.abs(points).max() <= 6.0


def test_circle_puts_class_1_inside_and_class_0_outside() -> None:
    points, labels = gen.circle(300, 0.0, seed=1)
    radius = np.hypot(points[:, 0], points[:, 1])
    assert radius[labels == 1].max() <= 2.5
    assert radius[labels == 0].min() >= 3.5
    assert np.bincount(labels).tolist() == [150, 150]


def test_xor_labels_follow_the_quadrant_without_noise() -> None:
    points, labels = gen.xor(300, 0.0, seed=2)
    np.testing.assert_array_equal(labels, (points[:, 0] * points[:, 1] >= 0).astype(int))
    assert np.abs(points).min() >= 0.3  # the Playground's padding off the axes


def test_gauss_blobs_sit_at_plus_and_minus_two() -> None:
    points, labels = gen.gauss(2000, 0.0, seed=3)
    np.testing.assert_allclose(points[labels == 1].mean(axis=0), [2, 2], atol=0.1)
    np.testing.assert_allclose(points[labels == 0].mean(axis=0), [-2, -2], atol=0.1)


def test_spiral_radius_grows_to_five() -> None:
    points, _ = gen.spiral(200, 0.0, seed=0)
    radius = np.hypot(points[:, 0], points[:, 1])
    assert radius.min() == 0.0
    assert 4.9 < radius.max() < 5.0


@pytest.mark.parametrize("name", PLAYGROUND)
def test_noise_changes_the_playground_sets(name: str) -> None:
    clean = gen.generate(name, 200, 0.0, seed=0)
    noisy = gen.generate(name, 200, 0.5, seed=0)
    changed = not np.array_equal(clean[0], noisy[0]) or not np.array_equal(clean[1], noisy[1])
    assert changed


@pytest.mark.parametrize("size", [8, 28])
def test_digits_shapes_range_and_classes(size: int) -> None:
    points, labels = gen.digits(100, 0.2, seed=0, size=size)
    assert points.shape == (100, size * size)
    assert labels.shape == (100,)
    assert points.min() >= 0.0 and points.max() <= 1.0
    assert np.bincount(labels, minlength=10).tolist() == [10] * 10


def test_digits_are_deterministic_for_a_seed() -> None:
    first = gen.digits(50, 0.1, seed=4)
    second = gen.digits(50, 0.1, seed=4)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert not np.array_equal(first[0], gen.digits(50, 0.1, seed=5)[0])


def test_noise_free_digits_are_their_glyph_shifted_by_at_most_one_pixel() -> None:
    points, labels = gen.digits(60, 0.0, seed=0)
    glyphs = gen.glyphs()
    for image, label in zip(points.reshape(-1, 8, 8), labels, strict=True):
        ink = image.max()
        assert 0.7 <= ink <= 1.0
        shifts = [
            np.roll(np.roll(glyphs[label], dy, axis=0), dx, axis=1)
            for dy in (-1, 0, 1)
            for dx in (-1, 0, 1)
        ]
        assert any(np.allclose(image, ink * shifted) for shifted in shifts)


def test_digit_glyphs_are_distinct() -> None:
    glyphs = gen.glyphs().reshape(10, -1)
    assert glyphs.shape == (10, 64)
    assert len({tuple(g) for g in glyphs}) == 10


def test_digits_28_is_the_8x8_image_upscaled() -> None:
    small, labels_small = gen.digits(5, 0.0, seed=9, size=8)
    large, labels_large = gen.digits(5, 0.0, seed=9, size=28)
    np.testing.assert_array_equal(labels_small, labels_large)
    inner = large.reshape(5, 28, 28)[:, 2:26:3, 2:26:3]
    np.testing.assert_allclose(inner, small.reshape(5, 8, 8))


def test_labels_to_targets() -> None:
    labels = np.array([0, 1, 1, 0])
    np.testing.assert_array_equal(gen.labels_to_targets(labels, 1, 2), [[0, 1, 1, 0]])
    np.testing.assert_array_equal(gen.labels_to_targets(labels, 2, 2), [[1, 0, 0, 1], [0, 1, 1, 0]])
    digits = np.array([3, 0, 9])
    one_hot = gen.labels_to_targets(digits, 10, 10)
    assert one_hot.shape == (10, 3)
    np.testing.assert_array_equal(one_hot.argmax(axis=0), digits)
    np.testing.assert_array_equal(one_hot.sum(axis=0), [1, 1, 1])
    with pytest.raises(ValueError):
        gen.labels_to_targets(digits, 1, 10)


# ---------------------------------------------------------------- generators through the loader


def scenario_text(layers: str, data: str, output: str = "sigmoid") -> str:
    return f"""\
seed = 5
[network]
layers = {layers}
output = "{output}"
[data]
{data}
"""


def load_text(tmp_path: Path, text: str, name: str = "s.toml") -> object:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return load_scenario(path)


def error_text(tmp_path: Path, text: str) -> str:
    path = tmp_path / "s.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_scenario(path)
    prefix = f"{path}: "
    assert str(info.value).startswith(prefix)
    return str(info.value)[len(prefix) :]


def test_generator_gives_columns_and_a_0_1_target_row(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(scenario_text("[2, 4, 1]", 'generator = "spiral"\nn = 50'), encoding="utf-8")
    data = load_scenario(path).data
    assert data.inputs.shape == (2, 50)
    assert data.targets.shape == (1, 50)
    assert data.source == "generator spiral"
    assert not data.inputs.flags.writeable and not data.targets.flags.writeable
    points, labels = gen.spiral(50, 0.0, seed=5)  # the scenario's seed by default
    np.testing.assert_array_equal(data.inputs, points.T)
    np.testing.assert_array_equal(data.targets[0], labels)


def test_generator_defaults_and_own_seed(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(scenario_text("[2, 2]", 'generator = "xor"\nseed = 11', "softmax"), "utf-8")
    data = load_scenario(path).data
    assert data.inputs.shape == (2, 200)  # n defaults to 200
    points, labels = gen.xor(200, 0.0, seed=11)
    np.testing.assert_array_equal(data.inputs, points.T)
    np.testing.assert_array_equal(data.targets, gen.labels_to_targets(labels, 2, 2))


def test_digits_generator_gives_one_hot_targets(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    text = scenario_text("[784, 10]", 'generator = "digits"\nsize = 28\nn = 30', "softmax")
    path.write_text(text, encoding="utf-8")
    data = load_scenario(path).data
    assert data.inputs.shape == (784, 30)
    assert data.targets.shape == (10, 30)
    np.testing.assert_array_equal(data.targets.sum(axis=0), np.ones(30))


GENERATOR_ERRORS = [
    pytest.param(
        "[2, 3]",
        'generator = "circle"',
        "network.layers[1]: expected 1 (a 0/1 column) or 2 (one-hot) output units to fit"
        " generator circle (2 classes), got 3",
        id="two-class-width",
    ),
    pytest.param(
        "[64, 1]",
        'generator = "digits"',
        "network.layers[1]: expected 10 (one-hot) output units to fit generator digits"
        " (10 classes), got 1",
        id="digits-width",
    ),
    pytest.param(
        "[3, 1]",
        'generator = "gauss"',
        "network.layers[0]: expected 2 inputs to fit generator gauss (x, y), got 3",
        id="playground-input-width",
    ),
    pytest.param(
        "[64, 10]",
        'generator = "digits"\nsize = 28',
        "network.layers[0]: expected 784 inputs to fit generator digits (28x28 pixels), got 64",
        id="digits-input-width",
    ),
    pytest.param(
        "[2, 1]",
        'generator = "moons"',
        "data.generator: expected one of xor, circle, gauss, spiral, digits, got 'moons'",
        id="unknown-generator",
    ),
    pytest.param(
        "[2, 1]",
        'generator = "xor"\nn = 0',
        "data.n: expected a positive integer, got 0",
        id="zero-examples",
    ),
    pytest.param(
        "[2, 1]",
        f'generator = "xor"\nn = {MAX_EXAMPLES + 1}',
        f"data.n: expected at most {MAX_EXAMPLES} examples (the limit; set"
        f" BPDEBUG_MAX_EXAMPLES to lift it), got {MAX_EXAMPLES + 1}",
        id="too-many-examples",
    ),
    pytest.param(
        "[784, 10]",
        'generator = "digits"\nsize = 28\nn = 1000000',
        f"data.n: expected at most {MAX_DATA_VALUES // 784} examples of 784 inputs"
        f" ({MAX_DATA_VALUES} numbers, the limit; set BPDEBUG_MAX_DATA_VALUES to lift it),"
        " got 1000000",
        id="too-much-data",
    ),
    pytest.param(
        "[2, 1]",
        'generator = "xor"\nnoise = -0.1',
        "data.noise: expected a finite number >= 0 and <= 10, got -0.1",
        id="negative-noise",
    ),
    pytest.param(
        "[2, 1]",
        'generator = "gauss"\nnoise = 1e308',
        "data.noise: expected a finite number >= 0 and <= 10, got 1e+308",
        id="huge-noise",
    ),
    pytest.param(
        "[64, 10]",
        'generator = "digits"\nsize = 16',
        "data.size: expected 8 or 28, got 16",
        id="digit-size",
    ),
    pytest.param(
        "[2, 1]",
        'generator = "xor"\nsize = 8',
        "data.size: only used by generator digits, not xor",
        id="size-for-playground",
    ),
    pytest.param(
        "[2, 1]",
        'generator = "xor"\ninputs = [[1, 2]]',
        "data: expected exactly one of inputs + targets, generator, or csv,"
        " got inputs + targets and generator",
        id="two-forms",
    ),
    pytest.param(
        "[2, 1]",
        "n = 5",
        "data: expected exactly one of inputs + targets, generator, or csv, got none of them",
        id="no-form",
    ),
    pytest.param(
        "[2, 1]",
        'generator = "xor"\ntarget_columns = [0]',
        "data.target_columns: unknown key; the keys allowed in [data] are"
        " generator, n, noise, seed, size",
        id="key-of-another-form",
    ),
]


@pytest.mark.parametrize(("layers", "data", "message"), GENERATOR_ERRORS)
def test_generator_errors(tmp_path: Path, layers: str, data: str, message: str) -> None:
    output = "softmax" if layers.endswith(", 10]") or layers.endswith(", 3]") else "sigmoid"
    assert error_text(tmp_path, scenario_text(layers, data, output)) == message


# ---------------------------------------------------------------- CSV files

POINTS = "x,y,label\n0.5,1.5,1\n-2,0,0\n\n3,4e-1,1\n"


def csv_scenario(tmp_path: Path, data: str, layers: str = "[2, 1]") -> Path:
    """A scenario in tmp_path/scenarios that reads data/points.csv beside it."""
    folder = tmp_path / "scenarios"
    (folder / "data").mkdir(parents=True, exist_ok=True)
    path = folder / "s.toml"
    path.write_text(scenario_text(layers, data), encoding="utf-8")
    return path


def write_points(tmp_path: Path, text: str = POINTS) -> Path:
    path = tmp_path / "scenarios" / "data" / "points.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def csv_error(path: Path) -> str:
    with pytest.raises(InputError) as info:
        load_scenario(path)
    assert "\n" not in str(info.value)
    return str(info.value)


def test_csv_path_is_relative_to_the_scenario_not_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = csv_scenario(tmp_path, 'csv = "data/points.csv"\ntarget_columns = ["label"]')
    write_points(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    data = load_scenario(path).data
    np.testing.assert_array_equal(data.inputs, [[0.5, -2, 3], [1.5, 0, 0.4]])
    np.testing.assert_array_equal(data.targets, [[1, 0, 1]])
    assert data.source == "csv data/points.csv"
    assert not data.inputs.flags.writeable


def test_csv_columns_by_index_and_explicit_inputs(tmp_path: Path) -> None:
    text = 'csv = "data/points.csv"\ntarget_columns = [0]\ninput_columns = ["label", 1]'
    path = csv_scenario(tmp_path, text)
    write_points(tmp_path)
    data = load_scenario(path).data
    np.testing.assert_array_equal(data.inputs, [[1, 0, 1], [1.5, 0, 0.4]])
    np.testing.assert_array_equal(data.targets, [[0.5, -2, 3]])


def test_missing_csv_file_names_the_csv_path(tmp_path: Path) -> None:
    path = csv_scenario(tmp_path, 'csv = "data/gone.csv"\ntarget_columns = ["label"]')
    shown = tmp_path / "scenarios" / "data" / "gone.csv"
    assert csv_error(path) == f"{path}: data.csv: no such file: {shown}"


@pytest.mark.parametrize(
    ("contents", "where", "message"),
    [
        pytest.param(
            "x,y,label\n1,2,1\n1,oops,0\n",
            "row 3, column 'y'",
            "expected a finite number, got 'oops'",
            id="not-a-number",
        ),
        pytest.param(
            "x,y,label\n1,2,1\n1,2,nan\n",
            "row 3, column 'label'",
            "expected a finite number, got 'nan'",
            id="nan-cell",
        ),
        pytest.param(
            "x,y,label\n1,2,1\n1,,1\n",
            "row 3, column 'y'",
            "expected a finite number, got ''",
            id="empty-cell",
        ),
        pytest.param(
            "x,y,label\n1,2,1\n\n1,2\n",
            "row 4",
            "expected 3 cells like the header, got 2",
            id="short-row",
        ),
        pytest.param("", "", "expected a header row, got an empty file", id="empty-file"),
        pytest.param(
            "x,y,label\n",
            "",
            "expected at least one row of data after the header, got none",
            id="header-only",
        ),
    ],
)
def test_bad_csv_contents_name_the_csv_file_row_and_column(
    tmp_path: Path, contents: str, where: str, message: str
) -> None:
    path = csv_scenario(tmp_path, 'csv = "data/points.csv"\ntarget_columns = ["label"]')
    csv_path = write_points(tmp_path, contents)
    location = f"{csv_path}: {where}: " if where else f"{csv_path}: "
    assert csv_error(path) == location + message


def test_csv_that_is_not_utf8(tmp_path: Path) -> None:
    path = csv_scenario(tmp_path, 'csv = "data/points.csv"\ntarget_columns = ["label"]')
    csv_path = write_points(tmp_path)
    csv_path.write_bytes(b"x,y,label\n1,2,\xff\n")
    assert csv_error(path) == f"{csv_path}: expected UTF-8 text, got byte 0xff at offset 14"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(
            'csv = "data/points.csv"\ntarget_columns = ["lbl"]',
            "data.target_columns[0]: expected a column index or one of 'x', 'y', 'label',"
            " got 'lbl'",
            id="unknown-column-name",
        ),
        pytest.param(
            'csv = "data/points.csv"\ntarget_columns = [3]',
            "data.target_columns[0]: expected a column index from 0 to 2 or a header name, got 3",
            id="column-index-out-of-range",
        ),
        pytest.param(
            'csv = "data/points.csv"',
            "data.target_columns: missing required key; expected an array of header names"
            " or 0-based column indexes",
            id="missing-target-columns",
        ),
        pytest.param(
            'csv = "data/points.csv"\ntarget_columns = ["label"]\ninput_columns = ["x", "label"]',
            "data.input_columns[1]: column 'label' is also a target column",
            id="overlap",
        ),
        pytest.param(
            'csv = "data/points.csv"\ntarget_columns = ["y", "label"]',
            "data.target_columns: expected 1 column (network.layers[1] = 1), got 2: 'y', 'label'",
            id="target-width",
        ),
        pytest.param(
            'csv = "data/points.csv"\ntarget_columns = ["label"]\ninput_columns = ["x"]',
            "data.input_columns: expected 2 columns (network.layers[0] = 2), got 1: 'x'",
            id="input-width",
        ),
        pytest.param(
            'csv = "data/points.csv"\ntarget_columns = ["label", "label"]',
            "data.target_columns[1]: column 'label' is listed twice",
            id="listed-twice",
        ),
        pytest.param(
            "csv = 3\ntarget_columns = [0]",
            "data.csv: expected a string, got 3",
            id="csv-not-a-string",
        ),
    ],
)
def test_bad_csv_keys(tmp_path: Path, data: str, message: str) -> None:
    path = csv_scenario(tmp_path, data)
    write_points(tmp_path)
    assert csv_error(path) == f"{path}: {message}"


GOOD_CELLS = ("1", " 2.5 ", "1e3", "+1", "-0", "0.1", "1e-320", '"3"', "7\t", "-4.25e+02")
BAD_CELLS = ("nan", "inf", "1e400", "1_0", "abc", "", "0x1")
"""CSV cells both parsers must agree on: numbers written many ways, and some that are not."""
cell = st.one_of(*[st.sampled_from(GOOD_CELLS)] * 4, st.sampled_from(BAD_CELLS))
row = st.one_of(*[st.lists(cell, min_size=3, max_size=3)] * 4, st.lists(cell, max_size=4))


@settings(derandomize=True, database=None, deadline=None, max_examples=300)
@given(
    rows=st.lists(row, min_size=0, max_size=6),
    ending=st.sampled_from(["\n", "\r\n"]),
    blank=st.booleans(),
)
def test_the_fast_csv_reader_agrees_with_the_slow_one(
    tmp_path_factory: pytest.TempPathFactory, rows: list[list[str]], ending: str, blank: bool
) -> None:
    """numpy's reader gives the same numbers bit for bit, or hands over to the csv module."""
    folder = tmp_path_factory.mktemp("csv")
    lines = ["x,y,label", *(",".join(row) for row in rows)]
    if blank:
        lines.insert(len(lines) // 2 + 1, "")
    write_points(folder, "")
    points = folder / "scenarios" / "data" / "points.csv"
    points.write_text(ending.join(lines) + ending, encoding="utf-8", newline="")
    path = csv_scenario(folder, 'csv = "data/points.csv"\ntarget_columns = ["label"]')

    def outcome() -> tuple[np.ndarray, np.ndarray] | str:
        try:
            data = load_scenario(path).data
        except InputError as error:
            return str(error)
        return data.inputs, data.targets

    fast = outcome()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(datatable, "_fast_columns", lambda *args: None)
        slow = outcome()
    if isinstance(slow, str):
        assert fast == slow
        assert "no such file" not in slow
    else:
        assert not isinstance(fast, str), fast
        for a, b in zip(fast, slow, strict=True):
            assert a.shape == b.shape and a.tobytes() == b.tobytes()


def test_the_fast_csv_reader_takes_a_big_file(tmp_path: Path) -> None:
    """The path most real files take: every number kept, the same as the csv module's."""
    rng = np.random.default_rng(0)
    values = rng.normal(size=(5000, 3))
    text = "x,y,label\n" + "".join(f"{a!r},{b!r},{c!r}\n" for a, b, c in values.tolist())
    write_points(tmp_path, text)
    path = csv_scenario(tmp_path, 'csv = "data/points.csv"\ntarget_columns = ["label"]')
    assert datatable._fast_columns(text, 3, [0, 1], [2], 10**6, 10**7) is not None
    data = load_scenario(path).data
    np.testing.assert_array_equal(data.inputs, values[:, :2].T)
    np.testing.assert_array_equal(data.targets, values[:, 2:].T)
