"""The docs stay true to the code: docs/configuration.md's table to remediation.config.settings; the README stays short."""

from pathlib import Path

from remediation.config.settings import BY_NAME, FUNCTION_APP_SETTINGS, SETTINGS

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


def _table() -> dict[str, list[str]]:
    """docs/configuration.md's settings table: variable -> its cells (default, allowed, meaning)."""
    rows = {}
    for line in CONFIGURATION.splitlines():
        if line.startswith("| `"):
            cells = [cell.strip() for cell in line.strip("|").split(" | ")]
            rows[cells[0].strip("`")] = cells[1:]
    return rows


def test_the_table_rows_match_the_catalogue_name_default_and_allowed_values():
    table = _table()
    for setting in (*SETTINGS, *FUNCTION_APP_SETTINGS):
        default, allowed, _meaning = table[setting.name]
        assert default == f"`{setting.default}`" if setting.default else default.startswith("*("), setting.name
        assert allowed == (setting.allowed or "—"), setting.name
    documented = {name for name in table if name.startswith("REMEDIATION_")}
    assert documented == set(BY_NAME), (
        "every REMEDIATION_ row is a setting of the catalogue, and every setting has a row"
    )


def test_readme_names_the_two_commands():
    assert "make demo" in README
    assert "make test" in README


def test_readme_is_short_and_maps_the_docs():
    assert len(README.encode()) <= 10_000, "details go in docs/*.md; the README keeps a one-line pointer"
    for page in sorted((ROOT / "docs").glob("*.md")):
        assert f"](docs/{page.name})" in README, f"docs/{page.name} is missing from the README's docs map"
