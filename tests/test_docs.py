"""The docs stay true to the code: docs/configuration.md's table to remediation.config.settings; the README stays short."""

from pathlib import Path

from remediation.config.settings import FUNCTION_APP_SETTINGS, SETTINGS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
CONFIGURATION = (ROOT / "docs" / "configuration.md").read_text()


def _row(name: str) -> str:
    return next(line for line in CONFIGURATION.splitlines() if line.startswith(f"| `{name}` |"))


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


def test_readme_is_short_and_maps_the_docs():
    assert len(README.encode()) <= 10_000, "details go in docs/*.md; the README keeps a one-line pointer"
    for page in sorted((ROOT / "docs").glob("*.md")):
        assert f"](docs/{page.name})" in README, f"docs/{page.name} is missing from the README's docs map"
