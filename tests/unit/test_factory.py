"""Database URLs: a PostgreSQL URL's ``schema`` is taken out for the store; the rest of the
URL goes to the driver as it was."""

from __future__ import annotations

import pytest

from incidents.store.factory import postgres_schema


@pytest.mark.parametrize(
    ("url", "driver_url", "schema"),
    [
        ("postgresql://u@h:5432/db", "postgresql://u@h:5432/db", None),
        ("postgresql://u@h/db?schema=desk_fr", "postgresql://u@h/db", "desk_fr"),
        (
            "postgresql://u@h/db?sslmode=require&schema=desk_fr&application_name=x",
            "postgresql://u@h/db?sslmode=require&application_name=x",
            "desk_fr",
        ),
    ],
)
def test_the_schema_is_taken_out_of_the_url_and_the_rest_kept(
    url: str, driver_url: str, schema: str | None
) -> None:
    assert postgres_schema(url) == (driver_url, schema)


@pytest.mark.parametrize(
    "url", ["postgresql://h/db?schema=", "postgresql://h/db?schema=a&schema=b"]
)
def test_an_empty_or_repeated_schema_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="one schema"):
        postgres_schema(url)
