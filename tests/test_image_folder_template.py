"""recipes/image_folder.toml fits the images it finds, and `validate` refuses (with what to
change) a model its images do not fit, before any training. Run as a user would."""
from pathlib import Path

import pytest

from cli_process import vaereg
from image_fixtures import class_folders

TEMPLATE = Path(__file__).resolve().parents[1] / "recipes" / "image_folder.toml"


def folder_of(tmp_path: Path, size: int) -> str:
    class_folders(tmp_path / "images", {"coat": 24, "shirt": 24}, size=size, mode="L")
    return f"data.root='{tmp_path / 'images'}'"


def test_template_validates_and_trains_on_28x28_images(tmp_path):
    root = folder_of(tmp_path, 28)
    valid = vaereg("validate", str(TEMPLATE), "--set", root, cwd=tmp_path)
    assert valid.returncode == 0, valid.stderr
    assert "data image_folder 1x28x28" in valid.stdout
    run = vaereg("run", str(TEMPLATE), "--set", root, "--set", "run.epochs=1",
                 "--set", "data.num_workers=0", "--set", f"run.out_dir='{tmp_path / 'runs'}'",
                 "--quiet", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "runs" / "image_folder" / "version_0" / "checkpoints" / "best.pt").is_file()


@pytest.mark.parametrize("size, hidden_dims, advice", [
    (28, "[32, 64, 128, 256]", "give hidden_dims at most 2 entries (28x28 halves exactly 2 "
                               "times), or resize the data to a multiple of 16 "
                               "(image_folder, nifti: data.size = 32)"),
    (30, "[32, 64]", "give hidden_dims at most 1 entry (30x30 halves exactly 1 time), or "
                     "resize the data to a multiple of 4 (image_folder, nifti: data.size = 32)"),
])
def test_validate_refuses_a_model_the_images_do_not_fit(tmp_path, size, hidden_dims, advice):
    result = vaereg("validate", str(TEMPLATE), "--set", folder_of(tmp_path, size),
                    "--set", f"model.hidden_dims={hidden_dims}", cwd=tmp_path)
    assert result.returncode == 2, result.stdout
    assert f"model 'vanilla' on the 1x{size}x{size} images of data 'image_folder'" \
        in result.stderr
    assert advice in result.stderr and "Traceback" not in result.stderr
