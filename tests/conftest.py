"""Settings shared by the whole test suite."""
import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """Test models are tiny: threads buy nothing, and on a loaded 2-core machine two
    intra-op threads per process thrash (measured: a training step 50-100x slower)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
