"""Internals of ``npx2020 view`` (extra ``[gui]``); the public entry points are in :mod:`intake_npx2020.apps.view`.

``data`` needs only numpy/pandas (tables, filters, windows, peaks); ``app`` builds the panel/HoloViews pages.
"""
