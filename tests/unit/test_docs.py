"""The README's configuration table stays true to remediation.config."""

from pathlib import Path

from remediation.config import FUNCTION_APP_SETTINGS, SETTINGS

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def _row(name: str) -> str:
    return next(line for line in README.splitlines() if line.startswith(f"| `{name}` |"))


def test_every_setting_is_documented_with_its_default():
    for setting in (*SETTINGS, *FUNCTION_APP_SETTINGS):
        row = _row(setting.name)
        if setting.default:
            assert f"`{setting.default}`" in row, setting.name
        else:
            assert "*(" in row, setting.name


def test_readme_names_the_two_commands():
    assert "make demo" in README
    assert "make test" in README
