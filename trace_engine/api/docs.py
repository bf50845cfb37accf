"""``/docs``: Swagger UI served from the package, so it works offline and loads nothing from a CDN.

The Swagger UI distribution comes from the PyPI package ``swagger-ui-bundle-v2`` (Apache-2.0, the license text
ships in its wheel): static files only, maintained alongside connexion, and a Swagger UI 5.x line, which is the
first to render OpenAPI 3.1. (``swagger-ui-bundle`` 1.1 ships Swagger UI 4.15, which cannot render 3.1;
``fastapi-offline`` ships the bundle without its license file and replaces the app object.) Only three of its files
are served: ``swagger-ui-bundle.js``, ``swagger-ui.css`` and the favicon. The page and its start-up script are
ours, and the page's Content-Security-Policy allows scripts from this origin only.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

ASSETS = {
    "swagger-ui-bundle.js": "application/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)

PAGE = b"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Trace API</title>
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
  <link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
"""

INIT = b"""window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  persistAuthorization: false
});
"""


@functools.cache
def swagger_dir() -> Path | None:
    """The Swagger UI ``dist`` directory inside the installed package, or ``None`` when it is missing."""
    try:
        vendor = Path(str(resources.files("swagger_ui_bundle") / "vendor"))
    except (ModuleNotFoundError, TypeError):
        return None
    found = sorted(p for p in vendor.glob("swagger-ui-*") if (p / "swagger-ui-bundle.js").is_file())
    return found[-1] if found else None


@functools.cache
def asset(name: str) -> bytes | None:
    """The bytes of a whitelisted asset (``None`` for any other name or when the package is missing)."""
    if name == "init.js":
        return INIT
    base = swagger_dir()
    if name not in ASSETS or base is None:
        return None
    return (base / name).read_bytes()
