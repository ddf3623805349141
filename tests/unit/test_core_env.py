import pytest

from core.env import env_bool, env_header, env_int, env_json, env_list


def test_env_readers_parse_and_default(monkeypatch):
    monkeypatch.setenv("FLAG", "On")
    monkeypatch.setenv("NUMBER", "42")
    monkeypatch.setenv("ITEMS", " a, b ,,c ")
    monkeypatch.setenv("DOC", '{"dev": {"client_id": "x"}}')
    assert env_bool("FLAG", False) is True
    assert env_int("NUMBER", 0) == 42
    assert env_list("ITEMS", []) == ["a", "b", "c"]
    assert env_json("DOC", {}) == {"dev": {"client_id": "x"}}
    assert env_json("MISSING", {"default": True}) == {"default": True}


@pytest.mark.parametrize(("reader", "raw"), [(env_bool, "maybe"), (env_int, "ten"), (env_json, "{not json")])
def test_env_readers_name_the_variable_on_bad_input(monkeypatch, reader, raw):
    monkeypatch.setenv("BROKEN", raw)
    with pytest.raises(ValueError, match="BROKEN"):
        reader("BROKEN", None)


@pytest.mark.parametrize(("raw", "expected"), [("1", True), (" yes ", True), ("Off", False), ("0", False), ("", False)])
def test_env_bool_reads_the_spellings_of_true_and_false(monkeypatch, raw, expected):
    monkeypatch.setenv("FLAG", raw)
    assert env_bool("FLAG", not expected) is expected


def test_env_header_gives_the_meta_key_and_value(monkeypatch):
    monkeypatch.setenv("PROXY_HEADER", " X-Forwarded-Proto :  https ")
    assert env_header("PROXY_HEADER") == ("HTTP_X_FORWARDED_PROTO", "https")
    assert env_header("MISSING") is None


@pytest.mark.parametrize("raw", ["X-Forwarded-Proto", "X-Forwarded-Proto:", ": https"])
def test_env_header_names_the_variable_on_bad_input(monkeypatch, raw):
    monkeypatch.setenv("PROXY_HEADER", raw)
    with pytest.raises(ValueError, match="PROXY_HEADER"):
        env_header("PROXY_HEADER")
