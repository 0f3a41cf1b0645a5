"""The api app's settings as the environment gives them."""

from __future__ import annotations

from services.api.settings import ApiSettings


def test_cors_origins_are_a_comma_separated_list(monkeypatch):
    monkeypatch.setenv("LISA_CORS_ORIGINS", "http://localhost:5173/, https://chat.example.com")
    assert ApiSettings().cors_origins == ["http://localhost:5173", "https://chat.example.com"]


def test_the_passphrase_is_read_from_pulumis_own_variable(monkeypatch):
    monkeypatch.delenv("LISA_PULUMI_CONFIG_PASSPHRASE", raising=False)
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "from-pulumi")
    assert ApiSettings().pulumi_config_passphrase.get_secret_value() == "from-pulumi"


def test_the_passphrase_never_shows_in_the_settings_repr(monkeypatch):
    monkeypatch.setenv("LISA_PULUMI_CONFIG_PASSPHRASE", "very-secret-phrase")
    assert "very-secret-phrase" not in repr(ApiSettings())
