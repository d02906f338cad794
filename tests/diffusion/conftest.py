"""One intra-op thread for these tests: on a shared, loaded CPU, OpenMP barriers across
threads stall tiny ops by 10-100x. Restored afterwards so other folders are unaffected."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
