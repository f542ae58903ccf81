"""The schemas beside the repository are part of the test setup: one that is missing is an error
that names it, never a skip (a double bound to nothing would pass without checking anything)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.doubles.nodeclaim_crd import crd_file
from tests.doubles.openapi_binding import load_spec
from tests.support.shared_schemas import SCHEMAS, SchemaMissing


def test_the_schemas_are_beside_the_repository() -> None:
    assert (SCHEMAS / "qdrant").is_dir() and (SCHEMAS / "crds").is_dir(), f"no ../shared/schemas at {SCHEMAS}"


@pytest.mark.parametrize("load", [load_spec, crd_file], ids=["qdrant-openapi", "crd"])
def test_a_missing_schema_is_an_error_naming_its_path(load, tmp_path: Path) -> None:
    missing = tmp_path / "absent.json"
    with pytest.raises(SchemaMissing, match=r"the tests need \.\./shared/schemas") as info:
        load(missing)
    assert str(missing) in str(info.value)
