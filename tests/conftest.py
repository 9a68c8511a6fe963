import numpy as np
import pytest
import torch

# The suite runs as two pytest workers on two cores: a second torch thread per worker only contends with the other
# worker (small torch ops ran ~16x slower with two threads each), so every test process uses one.
torch.set_num_threads(1)


@pytest.fixture
def rng():
    return np.random.default_rng(20260227)
