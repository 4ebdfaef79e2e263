"""Mutual information, the classifier Fréchet metric's classifier and the anomaly sets
read a split a batch at a time: a split that counts how many of the batches it gave out
are still alive sees a few at once, never the whole split."""
import weakref

import attrs
import torch

from vaereg.data.tensor_split import TensorSplit
from vaereg.evaluation import evaluate, mutual_information, train_feature_classifier
from vaereg.evaluation.anomaly_sets import held_out_classes
from vaereg.evaluation.run_evaluation import evaluate_run
from vaereg.evaluation.run_loading import load_run
from vaereg.testing import make_trainer, tiny_recipe

from contract_models import LinearGaussianVAE

BATCHES = 20


class CountingSplit(TensorSplit):
    """A split whose batches are fresh tensors; ``peak`` is the most of them alive at once."""

    def __init__(self, x, y):
        super().__init__(x, y)
        self.peak = 0

    def select(self, index):
        chosen = super().select(index)
        return CountingSplit(chosen.x, chosen.y)

    def batches(self, batch_size, generator=None, start=0):
        alive = []
        for batch in super().batches(batch_size, generator, start):
            fresh = attrs.evolve(batch, x=batch.x.clone(), target=None)
            fresh = attrs.evolve(fresh, target=fresh.x)
            alive = [ref for ref in alive if ref() is not None] + [weakref.ref(fresh.x)]
            self.peak = max(self.peak, len(alive))
            del batch
            yield fresh


def images(n, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 4, 4, generator=generator), torch.arange(n) % 4


def test_mutual_information_reads_one_batch_at_a_time_and_equals_the_tensor_form():
    x, y = images(10 * BATCHES)
    split = CountingSplit(x, y)
    model = LinearGaussianVAE((1, 4, 4), latent_dim=3).eval()
    streamed = evaluate(model, split, ["mutual_information"], batch_size=10).summary
    assert split.peak <= 2
    torch.manual_seed(0)
    assert streamed["test/mutual_information"] == mutual_information(model, x, batch_size=10)


def test_the_feature_classifier_trains_a_batch_at_a_time_as_from_tensors():
    x, y = images(8 * BATCHES)
    split = CountingSplit(x, y)
    streamed = train_feature_classifier(split, epochs=2, batch_size=8)
    assert split.peak <= 2
    in_memory = train_feature_classifier(TensorSplit(x, y), epochs=2, batch_size=8)
    assert all(torch.equal(p, q) for p, q in zip(streamed.parameters(), in_memory.parameters()))


def test_the_held_out_class_set_scores_the_test_split_a_batch_at_a_time(tmp_path):
    recipe = tiny_recipe(data={"classes": [0, 1, 2]})
    trainer = make_trainer(recipe, tmp_path)
    trainer.fit()
    run = load_run(trainer.run_dir, "last")
    test = run.splits.test
    counting = CountingSplit(test.x, test.y)
    run = attrs.evolve(run, splits=attrs.evolve(run.splits, test=counting))
    evaluation = evaluate_run(run, anomaly_set=held_out_classes(run), batch_size=2)
    assert counting.peak <= 2 and counting.num_batches(2) >= 10
    assert evaluation.is_anomaly.tolist() == (~torch.isin(test.y, torch.tensor([0, 1, 2]))).long().tolist()
    assert 0 <= evaluation.summary["anomaly/neg_elbo/auroc"] <= 1
