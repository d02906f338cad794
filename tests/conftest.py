"""Fixtures shared by every test folder."""

import pytest
import torch


@pytest.fixture
def one_thread():
    """One intra-op thread: on a shared, loaded CPU, OpenMP barriers across threads stall tiny
    ops by 10-100x. Restored afterwards so other tests are unaffected. Use it with
    `pytestmark = pytest.mark.usefixtures("one_thread")` or from an autouse fixture."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
