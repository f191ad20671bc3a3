"""The rescue password policy and the generator, as properties."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zomro_rescue_mcp.core.errors import InvalidRequestError
from zomro_rescue_mcp.operations.passwords import FORBIDDEN, check_password, generate_password

NOTES_FORBIDDEN = set("\"#%&'()*;<>?@|")  # as Zomro's panel lists them


def test_the_forbidden_characters_are_exactly_the_panels() -> None:
    assert set(FORBIDDEN) == NOTES_FORBIDDEN


@given(st.integers(min_value=8, max_value=48))
def test_generated_passwords_always_meet_the_policy(length: int) -> None:
    password = generate_password(length)
    assert len(password) == length
    check_password(password)
    assert not set(password) & FORBIDDEN


def test_generated_passwords_differ() -> None:
    assert len({generate_password() for _ in range(50)}) == 50


def _twin(password: str) -> str:
    """Another password breaking exactly the same rules: each letter and digit swapped within its class."""
    swap = str.maketrans(
        string.ascii_lowercase + string.ascii_uppercase + string.digits,
        string.ascii_lowercase[1:] + "a" + string.ascii_uppercase[1:] + "A" + string.digits[1:] + "0",
    )
    return password.translate(swap)


@given(st.text(alphabet=string.printable, max_size=60))
def test_check_accepts_exactly_the_policy(password: str) -> None:
    meets = (
        8 <= len(password) <= 48
        and any(c.isupper() for c in password)
        and any(c.islower() for c in password)
        and any(c.isdigit() for c in password)
        and all(c.isprintable() and not c.isspace() for c in password)
        and not set(password) & NOTES_FORBIDDEN
    )
    if meets:
        check_password(password)
    else:
        with pytest.raises(InvalidRequestError) as refused:
            check_password(password)
        with pytest.raises(InvalidRequestError) as refused_twin:
            check_password(_twin(password))
        assert str(refused.value) == str(refused_twin.value)  # the sentence depends on the rules, never the text
