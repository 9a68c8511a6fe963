import numpy as np
import pytest

from infogauss.errors import InputError
from infogauss.stats._validate import samples, samples_torch


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
