"""What users run: the ``npx2020`` CLI, export, the demo, cluster helpers and the viewer."""
