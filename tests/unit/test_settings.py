"""Settings read strictly from INCIDENTS_* variables: unknown names and bad values refused."""

from __future__ import annotations

import msgspec
import pytest

from incidents.settings import Settings, SettingsError


def test_variables_set_their_fields_and_others_keep_their_defaults() -> None:
    settings = Settings.from_env(
        {"INCIDENTS_REPLY_WINDOW_DAYS": "12", "INCIDENTS_BATCH_WAIT": "0.002", "HOME": "/root"}
    )
    assert settings.reply_window_days == 12
    assert settings.batch_wait == 0.002
    assert settings.max_batch == Settings().max_batch


def test_an_override_wins_over_its_variable_and_none_leaves_it() -> None:
    env = {"INCIDENTS_DATABASE_URL": "memory://"}
    assert Settings.from_env(env, database_url="sqlite:///x.db").database_url == "sqlite:///x.db"
    assert Settings.from_env(env, database_url=None).database_url == "memory://"


def test_a_misspelt_variable_is_refused_naming_the_nearest_known_one() -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"INCIDENTS_REPLY_WINDOWS_DAYS": "3"})
    assert str(raised.value) == (
        "unknown setting INCIDENTS_REPLY_WINDOWS_DAYS: did you mean INCIDENTS_REPLY_WINDOW_DAYS?"
    )


def test_an_unknown_variable_like_no_setting_lists_the_known_ones() -> None:
    with pytest.raises(SettingsError, match="unknown setting INCIDENTS_ZZZ: known: ") as raised:
        Settings.from_env({"INCIDENTS_ZZZ": "1"})
    assert "INCIDENTS_DATABASE_URL" in str(raised.value)


def test_the_test_suites_own_variable_is_not_a_setting_and_not_refused() -> None:
    Settings.from_env({"INCIDENTS_TEST_POSTGRES_URL": "postgresql://x@y/z"})


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("INCIDENTS_REPLY_WINDOW_DAYS", "abc"),
        ("INCIDENTS_REPLY_WINDOW_DAYS", "0"),
        ("INCIDENTS_MAX_BATCH", "-1"),
        ("INCIDENTS_BUSY_TIMEOUT", "soon"),
        ("INCIDENTS_BATCH_WAIT", "-0.5"),
        ("INCIDENTS_DATABASE_URL", "mysql://db/log"),
        ("INCIDENTS_DATABASE_URL", "incidents.db"),
    ],
)
def test_a_bad_value_is_refused_naming_its_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({variable: value, "INCIDENTS_MAX_BODY_BYTES": "2048"})
    assert str(raised.value).startswith(f"{variable}={value!r} is not valid: ")


def test_an_unknown_database_scheme_says_which_ones_are_known() -> None:
    with pytest.raises(SettingsError, match="unknown database URL scheme 'mysql': use sqlite"):
        Settings.from_env({}, database_url="mysql://db/log")


def test_settings_are_frozen() -> None:
    settings = Settings.from_env({})
    with pytest.raises(AttributeError):
        settings.reply_window_days = 3  # type: ignore[misc]


def test_every_field_is_set_by_its_variable() -> None:
    # A field added to Settings is read from INCIDENTS_<NAME> with nothing else to change.
    defaults = msgspec.structs.asdict(Settings())
    for name, default in defaults.items():
        if isinstance(default, bool):
            changed = Settings.from_env({f"INCIDENTS_{name.upper()}": str(not default).lower()})
            assert getattr(changed, name) is (not default), name
        elif isinstance(default, int | float):
            changed = Settings.from_env({f"INCIDENTS_{name.upper()}": str(default + 1)})
            assert getattr(changed, name) == default + 1, name
