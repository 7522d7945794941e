"""Bulk imports of leads from CSV and XLSX files (see `services` for the API).

For the UI and the command line:

- `inspect_file(path, encoding=None, delimiter=None)` → `FileInfo` (columns, sample rows,
  detected encoding and delimiter, suggested mapping);
- `preview_import(path, options, now=…, limit=100)` → `RowOutcome` per row (line, action
  create / update / merge / reject, reason, normalised values), writing nothing;
- `plan_import(path, options, now=…)` → `ImportSummary` of a dry run;
- `create_import_job(path, options, now=…, by=…)` → a queued `ImportJob`, then
  `run_import(job, now=…, progress=callback)` → `ImportSummary` (or the Celery task
  `imports.tasks.run_import_task(job_id)`).
"""
