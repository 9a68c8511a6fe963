"""The induction decision rule (infogauss.verdict) on known inputs."""

import pytest

from infogauss.errors import InputError
from infogauss.verdict import AD_FLOOR, induction_verdict, paired_change

T, F = [True] * 3, [False] * 3


def test_gaussian_before_and_after_is_not_induced():
    v = induction_verdict([0.40, 0.41, 0.39], [0.39, 0.40, 0.40], T, T, ad_control_after=[0.41, 0.40, 0.42])
    assert v.code == "already_gaussian" and "not induced" in v.text


def test_non_gaussian_to_gaussian_with_unchanged_control_is_induced():
    v = induction_verdict([1.6, 1.7, 1.65], [0.41, 0.42, 0.40], F, T, ad_control_after=[1.6, 1.72, 1.66])
    assert v.code == "induced" and v.beats_control and v.delta_significant
    assert v.delta_mean == pytest.approx((0.41 + 0.42 + 0.40 - 1.6 - 1.7 - 1.65) / 3)


def test_control_that_does_as_well_is_not_specific():
    v = induction_verdict([1.6, 1.7, 1.65], [0.41, 0.42, 0.40], F, T, ad_control_after=[0.40, 0.43, 0.41])
    assert v.code == "not_specific" and v.beats_control is False


def test_no_control_still_decides():
    assert induction_verdict([1.6, 1.7, 1.65], [0.41, 0.42, 0.40], F, T).code == "induced"


def test_within_seed_noise_is_no_change():
    # big mean change but a seed spread that swamps it (paired t-test does not reject)
    v = induction_verdict([5.0, 1.0, 9.0], [1.0, 6.0, 2.0], F, F)
    assert v.code == "no_change" and not v.delta_significant


def test_rise_is_less_gaussian_and_fall_short_is_partly():
    assert induction_verdict([33.0, 30.0, 35.0], [72.0, 70.0, 75.0], F, F).code == "less_gaussian"
    assert induction_verdict([80.0, 82.0, 79.0], [30.0, 29.0, 31.0], F, F).code == "partly"


def test_lost_and_floor():
    assert induction_verdict([0.4, 0.4, 0.41], [1.0, 1.1, 1.05], T, F).code == "lost"
    # a perfectly consistent change below the floor does not count
    mean, _, sign = paired_change([0.40, 0.41, 0.42], [0.40 - AD_FLOOR / 2, 0.41 - AD_FLOOR / 2, 0.42 - AD_FLOOR / 2])
    assert sign == 0 and mean == pytest.approx(-AD_FLOOR / 2)
    # one seed: only the floor applies
    assert paired_change([2.0], [0.4])[2] == -1


def test_majority_of_seeds_decides_gaussian():
    v = induction_verdict([1.6, 1.7, 1.65], [0.41, 0.42, 0.40], F, [True, True, False])
    assert v.gaussian_after and v.code == "induced"


def test_bad_inputs():
    with pytest.raises(InputError, match="equal"):
        paired_change([1.0, 2.0], [1.0])
    with pytest.raises(InputError, match="finite"):
        paired_change([1.0, float("nan")], [1.0, 2.0])
    with pytest.raises(InputError, match="one boolean per seed"):
        induction_verdict([1.0, 2.0], [1.0, 2.0], [True], [True, True])
