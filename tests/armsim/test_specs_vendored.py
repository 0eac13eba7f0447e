"""The vendored specs are a verbatim copy of the shared reference folder."""

import hashlib
from pathlib import Path

from armsim.specs import VENDORED_SPECS, specs_dir

SHARED = Path(__file__).resolve().parents[3] / "shared" / "azure-specs"


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_vendored_specs_are_used_by_default(monkeypatch):
    monkeypatch.delenv("ARMSIM_SPECS_DIR", raising=False)
    assert specs_dir() == VENDORED_SPECS
    assert (VENDORED_SPECS / "Microsoft.ContainerService/managedClusters.json").is_file()


def test_vendored_specs_match_the_shared_folder_when_present():
    vendored = _digests(VENDORED_SPECS)
    assert len(vendored) >= 30
    if SHARED.is_dir():  # the shared folder exists on development machines, not necessarily in CI
        assert vendored == _digests(SHARED)
