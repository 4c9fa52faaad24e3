"""Plugins: packages that add field types, expression functions, trigger actions, record hooks, API
routes and pages. ``plugins.api`` is what a plugin sees; ``plugins.loader`` finds and registers them
(called once, from ``crm_platform.startup``). Bundled plugins live in sub-packages of this folder.
"""
