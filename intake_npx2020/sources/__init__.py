"""Intake sources: the drivers (``npx_recording``, ``npx_sorting``, ``npx_drift``), the catalog and the shipped YAML,
and the 2020 package's ``load_recording`` / ``load_sorting``."""
