"""Each process's slice of every global batch: the union over ranks is exactly the batch
one process draws (order and dynamic binarization alike), on the tensor and the streamed
path; what a torchrun job refuses (an uneven global batch, SyncBatchNorm on the CPU)."""
from __future__ import annotations

import pytest
import torch

from vaereg import VaeregError
from vaereg.core.scale.distributed import Job, check_global_batch
from vaereg.core.scale.shard import bounds, check_last_batch, shard_of
from vaereg.data.stream_split import StreamSplit, Transforms
from vaereg.data.tensor_split import TensorSplit
from vaereg.testing import make_trainer, tiny_recipe

RANKS = 2


def test_bounds_cover_a_batch_once_with_sizes_one_apart():
    for size, ranks in ((n, k) for n in range(1, 12) for k in (2, 3, 4)):
        spans = [bounds(size, rank, ranks) for rank in range(ranks)]
        assert [lo for lo, _ in spans[1:]] == [hi for _, hi in spans[:-1]]
        assert (spans[0][0], spans[-1][1]) == (0, size)
        assert max(hi - lo for lo, hi in spans) - min(hi - lo for lo, hi in spans) <= 1


def union_of_ranks(split, batch_size: int, start: int = 0):
    """Per global batch: the ranks' slices concatenated, and the shard weights."""
    per_rank = [list(shard_of(split, Job(rank, RANKS)).batches(
        batch_size, torch.Generator().manual_seed(5), start=start)) for rank in range(RANKS)]
    return ([torch.cat([batches[b].x for batches in per_rank]) for b in range(len(per_rank[0]))],
            [[batches[b].shard_weight for batches in per_rank] for b in range(len(per_rank[0]))])


@pytest.mark.parametrize("path", ["tensor", "stream"])
def test_the_ranks_slices_make_the_one_process_batches(path):
    images = torch.rand(21, 1, 4, 4)
    split = TensorSplit(images, None, binarize=True, seed=3) if path == "tensor" else \
        StreamSplit(lambda i: images[i], 21, None, transforms=Transforms(binarize=True))
    single = [b.x for b in split.batches(6, torch.Generator().manual_seed(5), start=1)]
    joined, weights = union_of_ranks(split, 6, start=1)
    assert len(joined) == len(single) == 3  # batches 2-4 of 6, 6, 6, 3 (mid-epoch resume)
    for mine, theirs in zip(joined, single):
        assert torch.equal(mine, theirs)
    assert weights == [[1.0, 1.0], [1.0, 1.0], [4 / 3, 2 / 3]]  # 2 and 1 of the last 3


def test_the_global_batch_must_split_evenly():
    check_global_batch(32, Job(0, 4))
    with pytest.raises(VaeregError, match="data.batch_size = 30 is the global batch.*not "
                                          "divisible by 4"):
        check_global_batch(30, Job(0, 4))
    with pytest.raises(VaeregError, match="last training batch of each epoch holds 1"):
        check_last_batch(65, 16, Job(1, 2))


def test_sync_batchnorm_is_refused_on_the_cpu(tmp_path):
    with pytest.raises(VaeregError, match="sync = true needs CUDA") as refused:
        make_trainer(tiny_recipe(run={"device": "cpu"},
                                 plugins={"batchnorm": {"sync": True}}), tmp_path)
    assert refused.value.exit_code == 2
