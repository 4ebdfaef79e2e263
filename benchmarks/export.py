"""Images per second of an exported scorer in onnxruntime against the eager PyTorch
scorer it was exported from, at batch sizes 1 and 64, on real Fashion-MNIST test images,
both limited to the same number of CPU threads (2: this machine's cores), alternated in
one run; the ratio is onnxruntime's speed over PyTorch's.

The eager side runs the same :class:`ScorerGraph` (the scores and maps the graph holds;
`vaereg score` adds the gradient-based maps on top, which the graph cannot hold). The
model is a freshly initialized vanilla VAE of the default size for each backbone (speed
does not depend on the weights).

    python benchmarks/export.py [--threads 2] [--images 512] [--rounds 3]
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import click
import onnxruntime
import torch

from vaereg.data.fashion_mnist import FashionMNIST
from vaereg.data.tensor_split import TensorSplit
from vaereg.evaluation.baseline_maps import PixelGaussian
from vaereg.evaluation.scorer_export import INPUT_NAME, save_scorer
from vaereg.evaluation.scorer_graph import ScorerGraph
from vaereg.models.vanilla import VanillaOptions, VanillaVAE


def images_per_second(score, x: torch.Tensor, batch_size: int) -> float:
    start = time.perf_counter()
    for first in range(0, len(x), batch_size):
        score(x[first:first + batch_size])
    return len(x) / (time.perf_counter() - start)


@click.command()
@click.option("--threads", default=2, show_default=True)
@click.option("--images", default=512, show_default=True)
@click.option("--rounds", default=3, show_default=True, help="Best of this many passes.")
def main(threads: int, images: int, rounds: int) -> None:
    torch.set_num_threads(threads)
    splits = FashionMNIST(FashionMNIST.Options(download=False)).load(seed=0)
    x = splits.test.x[:images]
    gaussian = PixelGaussian.fit(TensorSplit(splits.train.x[:5000], None))
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    print("| backbone | batch | PyTorch images/s | onnxruntime images/s | ratio |\n"
          "| --- | --- | --- | --- | --- |")
    for backbone in ("mlp", "conv"):
        torch.manual_seed(0)
        graph = ScorerGraph(VanillaVAE(VanillaOptions(backbone=backbone), (1, 28, 28)),
                            gaussian).eval()
        with tempfile.TemporaryDirectory() as folder:
            save_scorer(graph, (1, 28, 28), "onnx", {}, Path(folder) / "scorer.onnx")
            session = onnxruntime.InferenceSession(str(Path(folder) / "scorer.onnx"), options,
                                                   providers=["CPUExecutionProvider"])

        def eager(batch: torch.Tensor) -> None:
            with torch.no_grad():
                graph(batch)

        def exported(batch: torch.Tensor) -> None:
            session.run(None, {INPUT_NAME: batch.numpy()})

        for batch_size in (1, 64):
            best = {"eager": 0.0, "onnx": 0.0}
            for _ in range(rounds):  # alternated, so load on the machine hits both alike
                best["eager"] = max(best["eager"], images_per_second(eager, x, batch_size))
                best["onnx"] = max(best["onnx"], images_per_second(exported, x, batch_size))
            print(f"| {backbone} | {batch_size} | {best['eager']:.0f} | {best['onnx']:.0f} | "
                  f"{best['onnx'] / best['eager']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
