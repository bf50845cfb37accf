"""The compliance dashboard ``trace serve`` serves at ``/``: server-rendered pages over the same reads as the API.

:mod:`~trace_engine.web.pages` (routes, mounted by :func:`trace_engine.api.app.create_app`), :mod:`~.session`
(sign-in cookie, CSRF), :mod:`~.charts` (SVG drawn on the server), :mod:`~.diffjob` (a draft pack against recent
calls), ``templates/`` (Jinja2) and ``static/`` (one stylesheet, one small script; nothing external).
"""
