"""Security headers on every response: a Content-Security-Policy, no sniffing, no framing, no referrer leaks.

The policy is strict on *sources*: scripts, styles, fonts, images and connections come from this site only
(every front-end library is vendored under /static/vendor), nothing may frame the pages, forms post only
here and plugins/objects are off. Within the site it is lenient on purpose, and each allowance says why:

- ``'unsafe-eval'`` in script-src: the vendored Alpine.js is its standard build, which evaluates
  directives with ``new Function``; htmx evaluates ``hx-on``/``js:`` values the same way. Drop it once
  Alpine's CSP build is vendored.
- ``'unsafe-inline'`` in script-src: pages are being built with inline handlers and small inline scripts;
  a nonce would make browsers ignore ``'unsafe-inline'`` and break them. With
  ``CRM_CSP_STRICT_SCRIPTS`` on, inline scripts must carry ``nonce="{{ csp_nonce() }}"`` instead and
  inline event handlers stop working (the stricter setting, for sites whose pages are ready for it).
- ``'unsafe-inline'`` in style-src: field presentations use ``style="--crm-badge: ..."`` attributes and
  htmx inserts its indicator ``<style>``; styles cannot run code.
- ``data:`` and ``blob:`` images: Tabler's CSS draws icons as data: SVGs; ECharts exports charts as blobs.
"""

from __future__ import annotations

import secrets

from flask import Flask, Response, g

from crm_platform.contextobjects import real_request

_FIXED = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}
_SOURCES = {
    "default-src": "'self'",
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data: blob:",
    "font-src": "'self' data:",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
HSTS = "max-age=31536000; includeSubDomains"


def init_app(app: Flask) -> None:
    """Add the security headers to every response of ``app`` and ``csp_nonce()`` to its templates."""
    strict = bool(app.config.get("CRM_CSP_STRICT_SCRIPTS"))  # a setting read at start, as all are

    def _headers(response: Response) -> Response:
        return _add_headers(response, strict)

    app.after_request(_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce


def csp_nonce() -> str:
    """Return this request's script nonce (the same for every call within one request)."""
    nonce = g.get("csp_nonce")
    if nonce is None:
        nonce = g.csp_nonce = secrets.token_urlsafe(18)
    return str(nonce)


def content_security_policy(strict_scripts: bool, nonce: str) -> str:
    """Return the Content-Security-Policy value (see the module docstring for each allowance)."""
    scripts = (
        f"'self' 'nonce-{nonce}' 'unsafe-eval'" if strict_scripts else "'self' 'unsafe-inline' 'unsafe-eval'"
    )
    directives = {"script-src": scripts, **_SOURCES}
    return "; ".join(f"{name} {value}" for name, value in directives.items())


_LENIENT = content_security_policy(False, "")


# Each fixed header with its lower-case name; the policy's own entry is added per response.
_FIXED_LOWER = [(name.lower(), name, value) for name, value in _FIXED.items()]
_CSP = "Content-Security-Policy"
_CSP_LOWER = _CSP.lower()


def _add_headers(response: Response, strict: bool) -> Response:
    # One pass over the response's headers: a "name in headers" test per header scans them all each time.
    headers = response.headers
    present = {name.lower() for name, _value in headers.to_wsgi_list()}
    missing = [(name, value) for lower, name, value in _FIXED_LOWER if lower not in present]
    if _CSP_LOWER not in present:
        # Without strict scripts the policy names no nonce: the same text for every response.
        missing.append((_CSP, content_security_policy(True, csp_nonce()) if strict else _LENIENT))
    if real_request().is_secure and "strict-transport-security" not in present:
        missing.append(("Strict-Transport-Security", HSTS))
    headers.extend(missing)
    return response
