"""Internals of ``npx2020 view`` (extra ``[gui]``); the public entry points are in :mod:`intake_npx2020.apps.view`.

Plain numpy/pandas, tested without a browser: ``data`` (table, filters, geometry, spikes, peaks, drift),
``traces`` (trace windows and their layout) and ``links`` (deep links). Panel/HoloViews: ``context`` (what
sessions share), ``plots`` and ``page`` (what pages share), one module per tab (``catalog_page``,
``recording_page``, ``sorting_page``, ``drift_page``) and ``app``, which assembles the tabs by name.
"""
