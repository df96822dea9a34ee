"""Files in and out: paper-form import, export, posters, the report, the demo."""
