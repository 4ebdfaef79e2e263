#!/usr/bin/env bash
# GPU check, run on a lent GPU machine (the `device` tool) from the repository root.
# Needs, carried in .gpu/: the tomli-w wheel and Fashion-MNIST's four .gz files.
# 1. the tests on CUDA (VAEREG_TEST_DEVICE=cuda), 2. the default job on CUDA,
# 3. the overhead benchmark on that machine's quiet CPUs, 4. one epoch in bf16, compiled,
# 5. vaereg against a plain loop on the GPU, fp32 and bf16 (benchmarks/gpu_overhead.py;
# GPU_BENCH= skips it).
set -uo pipefail
python3 -m pip install -q --no-deps .gpu/wheels/*.whl
python3 -m pip install -q --no-deps --no-build-isolation -e . >/dev/null
python3 -m pip install -q --no-deps --no-build-isolation ./examples/vaereg-maxnorm >/dev/null
mkdir -p /usr/share/datasets/fashion-mnist && cp .gpu/*.gz /usr/share/datasets/fashion-mnist/
raw=/tmp/fm/FashionMNIST/raw && mkdir -p $raw
for f in .gpu/*.gz; do gunzip -c "$f" > "$raw/$(basename "$f" .gz)"; done
nvidia-smi -L; python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())"
VAEREG_TEST_DEVICE=cuda timeout ${TEST_TIMEOUT:-240} python3 -m pytest -q -p no:cacheprovider ${TESTS:-tests} 2>&1 | tail -25
SECONDS=0
python3 -m vaereg run recipes/vanilla_dropout.toml --quiet --set data.root=/tmp/fm \
  --set run.out_dir=/tmp/runs --set run.epochs=${EPOCHS:-3}
echo "default job on cuda, ${EPOCHS:-3} epochs: ${SECONDS} s wall, including start-up and evaluation"
python3 -c "
import torch, json
ck = torch.load('/tmp/runs/vanilla_dropout/version_0/checkpoints/last.pt', map_location='cpu', weights_only=True)
print('checkpoint loads on cpu:', sorted(ck)[:5], 'cuda rng saved:', 'cuda' in ck['rng'])
print('train_seconds', json.load(open('/tmp/runs/vanilla_dropout/version_0/metrics.json'))['train_seconds'])"
[ -n "${BENCH:-1}" ] && CUDA_VISIBLE_DEVICES= timeout 300 python3 benchmarks/overhead.py --data-root /tmp/fm --repeats 3
python3 -m vaereg run recipes/vanilla_dropout.toml --quiet --set data.root=/tmp/fm \
  --set run.out_dir=/tmp/runs_bf16 --set run.epochs=1 --set run.precision=bf16 --set run.compile=true \
  && echo "default job on cuda in bf16, compiled: done"
[ -n "${GPU_BENCH:-1}" ] && timeout ${GPU_BENCH_TIMEOUT:-300} python3 benchmarks/gpu_overhead.py --repeats ${GPU_REPEATS:-3}
