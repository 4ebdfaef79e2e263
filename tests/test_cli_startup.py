"""`vaereg --help` and `--version` answer without importing torch (issue 8 §4: they took
3.3 s when they did); the public names of `vaereg` still import on first use."""
import subprocess
import sys


def modules_after(code: str) -> str:
    script = (f"import sys\n{code}\n"
              f"print('torch' in sys.modules, 'vaereg.core.loop.trainer' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_importing_the_cli_does_not_import_torch():
    assert modules_after("import vaereg.cli") == "False False"


def test_help_and_version_do_not_import_torch():
    for flag in ("--help", "--version"):
        code = ("from vaereg.cli import main\n"
                f"try:\n    main(['{flag}'])\nexcept SystemExit as end:\n    assert end.code == 0")
        assert modules_after(code) == "False False"


def test_public_names_import_on_first_use():
    assert modules_after("import vaereg\nvaereg.Trainer") == "True True"
