import numpy as np
import pytest

from infogauss.errors import InputError
from infogauss.stats.validate import samples, samples_torch


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.array([[1.0, np.nan]] * 10), "NaN or Inf"),
        (np.array([[1.0, np.inf]] * 10), "NaN or Inf"),
        (np.ones((7, 3)), "at least 8 samples"),
        (np.ones((10, 0)), "zero columns"),
        (np.array(["a"] * 10), "numeric"),
        (np.float64(3.0), "scalar"),
    ],
)
def test_bad_input_one_line_error(bad, message):
    with pytest.raises(InputError, match=message) as info:
        samples(bad)
    assert "\n" not in str(info.value)


def test_axis_moves_samples_first(rng):
    x = rng.normal(size=(3, 20))
    assert samples(x, axis=1).shape == (20, 3)


def test_torch_path_keeps_values(rng):
    x = rng.normal(size=(20, 3))
    t = samples_torch(x)
    np.testing.assert_array_equal(t.numpy(), x)
    with pytest.raises(InputError, match="NaN"):
        samples_torch(t.clone().fill_(float("nan")))


def test_constant_columns_finds_exact_and_numerically_constant(rng):
    from infogauss.stats.validate import constant_columns

    x = rng.normal(size=(200, 6))
    x[:, 1] = 3.0  # exactly constant
    x[:, 4] = 0.5 + 1e-32 * rng.normal(size=200)  # rounding noise of a constant (as in all-MiniLM-L6-v2)
    x[:, 5] *= 1e-3  # small but real
    assert constant_columns(x.std(axis=0), x.mean(axis=0)).tolist() == [1, 4]
    assert constant_columns(np.ptp(x, axis=0), np.abs(x).max(axis=0)).tolist() == [1, 4]
    assert constant_columns(np.zeros(3), np.zeros(3)).tolist() == [0, 1, 2]


def test_report_and_model_share_the_dead_rule(rng):
    from infogauss import gaussianity_report
    from infogauss.gaussian import dead_coordinates

    x = rng.normal(size=(300, 8))
    x[:, 2] = 0.5 + 1e-30 * rng.normal(size=300)
    rep = gaussianity_report(x, projections=0, geometry=False, null_reps=50)
    assert rep.dead_coordinates.tolist() == [2] == dead_coordinates(x).tolist()
