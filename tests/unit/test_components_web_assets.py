"""The chat UI bucket's contents: the build's files with cache headers (its config.json: test_components_web_config)."""

from __future__ import annotations

from pathlib import Path

from components import web_assets


def _build(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    for name, text in {"index.html": "<html>", "assets/app-1a2b.js": "js", "assets/app-1a2b.css": "css",
                       "favicon.svg": "<svg/>", "config.json": "{}"}.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def test_every_built_file_is_planned_except_the_runtime_config(tmp_path):
    assert [a.key for a in web_assets.plan_assets(_build(tmp_path))] == [
        "assets/app-1a2b.css", "assets/app-1a2b.js", "favicon.svg", "index.html"]


def test_hashed_assets_are_cached_forever_and_html_is_revalidated(tmp_path):
    plan = {a.key: a for a in web_assets.plan_assets(_build(tmp_path))}
    assert plan["assets/app-1a2b.js"].cache_control == "public, max-age=31536000, immutable"
    assert plan["index.html"].cache_control == "no-cache"
    assert plan["favicon.svg"].cache_control == "public, max-age=300"


def test_content_types_match_what_browsers_expect(tmp_path):
    plan = {a.key: a.content_type for a in web_assets.plan_assets(_build(tmp_path))}
    assert plan == {"assets/app-1a2b.css": "text/css", "assets/app-1a2b.js": "text/javascript",
                    "favicon.svg": "image/svg+xml", "index.html": "text/html"}


def test_no_build_means_no_assets(tmp_path):
    assert web_assets.plan_assets(tmp_path / "missing") == []
    assert web_assets.plan_assets(None) == []

