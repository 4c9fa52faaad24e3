"""Importing CSV and XLSX files through the record runtime: read, map, plan, dry run, run, undo."""
