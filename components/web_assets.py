"""What the chat UI bucket holds (the built assets of web/dist; its config.json is components/web_config.py) and the
security headers every answer of the UI carries. No Pulumi here."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import urlsplit

RUNTIME_CONFIG_KEY = "config.json"
_IMMUTABLE = "public, max-age=31536000, immutable"
_TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css", ".json": "application/json",
          ".svg": "image/svg+xml", ".wasm": "application/wasm", ".map": "application/json",
          ".woff2": "font/woff2", ".ico": "image/x-icon", ".webmanifest": "application/manifest+json"}


@dataclass(frozen=True)
class Asset:
    key: str
    path: Path
    content_type: str
    cache_control: str


def content_type(path: Path) -> str:
    return _TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def cache_control(key: str) -> str:
    # Vite puts content-hashed files under assets/: cache them forever; HTML must always be revalidated.
    if key.startswith("assets/"):
        return _IMMUTABLE
    if key.endswith(".html"):
        return "no-cache"
    return "public, max-age=300"


def plan_assets(dist: Path | None) -> list[Asset]:
    """Every file of the build, sorted by key; empty when there is no build. config.json is ours, never the build's."""
    if dist is None or not dist.is_dir():
        return []
    assets = []
    for path in sorted(p for p in dist.rglob("*") if p.is_file()):
        key = path.relative_to(dist).as_posix()
        if key == RUNTIME_CONFIG_KEY:
            continue
        assets.append(Asset(key, path, content_type(path), cache_control(key)))
    return assets


def origin(url: str) -> str:
    """scheme://host[:port] of a URL: CSP sources name origins (a source with a path matches only that path)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not an http(s) URL: {url!r}")
    return f"{parts.scheme}://{parts.netloc}"


def connect_sources(urls: Iterable[str | None]) -> list[str]:
    """The origins of `urls` (None skipped), sorted: what a CSP's connect-src lists."""
    return sorted({origin(u) for u in urls if u})


def content_security_policy(connect: list[str]) -> str:
    """Scripts, styles and fonts from the UI's own origin only; images also as data: URIs and blob: URLs (the UI's
    own copies of images it fetched from the api; never from a host a model's answer names); requests only to `connect`; no framing, plugins or foreign form targets."""
    return "; ".join([
        "default-src 'self'", "img-src 'self' data: blob:", f"connect-src 'self' {' '.join(connect)}".rstrip(),
        "frame-ancestors 'none'", "object-src 'none'", "base-uri 'self'", "form-action 'self'",
    ])


def security_headers(connect: list[str]) -> dict[str, str]:
    """What every answer of the UI carries, locally (services/local/web.py) and from CloudFront (ChatUi)."""
    return {
        "Content-Security-Policy": content_security_policy(connect),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "strict-origin-when-cross-origin",
    }


def cloudfront_security_headers(connect: list[str]) -> dict[str, Any]:
    """security_headers as a CloudFront response headers policy's `security_headers_config`, overriding whatever
    an origin sends."""
    headers = security_headers(connect)
    return {
        "content_security_policy": {"content_security_policy": headers["Content-Security-Policy"], "override": True},
        "content_type_options": {"override": True},  # X-Content-Type-Options: nosniff
        "frame_options": {"frame_option": headers["X-Frame-Options"], "override": True},
        "referrer_policy": {"referrer_policy": headers["Referrer-Policy"], "override": True},
        "strict_transport_security": {"access_control_max_age_sec": 63_072_000, "include_subdomains": True,
                                      "override": True},
    }
