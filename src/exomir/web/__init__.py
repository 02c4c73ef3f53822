"""exomir in the browser: a local web workbench and a JSON API (``exomir serve``).

A thin layer over the Python API: ``create_app(settings)`` in :mod:`exomir.web.app`; nothing
in exomir imports this package.
"""
