"""benchmarks/anomaly.py: what it refuses before training anything."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "anomaly.py"


def test_the_one_class_protocol_refuses_scores_fitted_on_two_classes(tmp_path):
    result = subprocess.run([sys.executable, str(SCRIPT), "--protocol", "one-class",
                             "--scores", "mse", "latent_class_energy", "--out", str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert ("latent_class_energy fit on the training labels of at least two classes, and the "
            "one-class protocol trains on one") in result.stderr
    assert "Traceback" not in result.stderr and not list(tmp_path.iterdir())
