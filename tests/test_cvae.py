"""The conditional VAE draws the class it is asked for, as an independent judge sees it."""
import pytest
import torch
from torch import nn

from vaereg import VaeregError
from vaereg.models.cvae import ConditionalVAE
from vaereg.models.vanilla import VanillaOptions
from vaereg.testing import make_trainer, tiny_recipe


def test_needs_labels():
    with pytest.raises(ValueError, match="labelled dataset"):
        ConditionalVAE(VanillaOptions(), (1, 28, 28), 0)
    model = ConditionalVAE(VanillaOptions(hidden_dims=(8,), latent_dim=2), (1, 28, 28), 10)
    with pytest.raises(ValueError, match="needs labels"):
        model(torch.rand(2, 1, 28, 28))


def test_a_dataset_without_classes_is_refused_with_the_model_named(tmp_path, monkeypatch):
    from vaereg.testing import SyntheticImages
    monkeypatch.setattr(SyntheticImages, "num_classes", 0)
    with pytest.raises(VaeregError, match="model 'cvae'.*labelled dataset"):
        make_trainer(tiny_recipe(model={"name": "cvae"}), tmp_path)


def test_the_label_changes_the_decoded_image():
    torch.manual_seed(0)
    model = ConditionalVAE(VanillaOptions(hidden_dims=(8,), latent_dim=2), (1, 28, 28), 10)
    z = torch.randn(1, 2)
    assert not torch.equal(model.decode(z, torch.tensor([1])), model.decode(z, torch.tensor([2])))
    assert torch.equal(model.decode(z.expand(3, 2), 4), model.decode(z.expand(3, 2),
                                                                        torch.tensor([4] * 3)))


def train_classifier(x, y, epochs=3):
    """A small MLP classifier of real Fashion-MNIST images, the judge of the samples."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    for _ in range(epochs):
        for index in torch.randperm(len(x)).split(100):
            optimizer.zero_grad()
            nn.functional.cross_entropy(net(x[index]), y[index]).backward()
            optimizer.step()
    return net.eval()


def accuracy(net, x, y):
    with torch.no_grad():
        return float((net(x).argmax(1) == y).float().mean())


def test_samples_of_a_chosen_class_are_recognized_as_that_class(tmp_path):
    # 10,000 real images, 5 epochs; a 2-d code leaves the class to the label
    table = tiny_recipe(
        run={"epochs": 5}, data={"name": "fashion_mnist", "train_size": 10000, "val_size": 500,
                                 "batch_size": 100},
        optimizer={"lr": 3e-3}, logging={"images": False},
        model={"name": "cvae", "hidden_dims": [256], "latent_dim": 2})
    trainer = make_trainer(table, tmp_path)
    trainer.fit()
    train, test = trainer.splits.train, trainer.splits.test
    judge = train_classifier(train.x, train.y)
    assert accuracy(judge, test.x[:2000], test.y[:2000]) > 0.8  # it knows real images
    per_class = 100
    labels = torch.arange(10).repeat_interleave(per_class)
    generator = torch.Generator().manual_seed(0)
    samples = trainer.model.sample(len(labels), y=labels, generator=generator)
    recognized = accuracy(judge, samples, labels)
    print(f"CVAE samples recognized as their class: {recognized:.1%} (chance 10%)")
    assert recognized >= 0.6
