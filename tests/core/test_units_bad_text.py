"""Regression (found by schemathesis through the web API): unbalanced brackets in a unit
string raised tokenize.TokenError (a server error) instead of InputError."""

from __future__ import annotations

import pytest

from exomir.core import InputError
from exomir.core.units import parse_unit


@pytest.mark.parametrize("text", ["(", "mg/(kg", "particles)(", "'", '"'])
def test_bad_unit_text_is_input_error(text: str) -> None:
    with pytest.raises(InputError) as e:
        parse_unit(text, field="unit")
    assert e.value.field == "unit" and e.value.value == text
