"""The install and build runs: stages in order (run.py), their report, and the dry-run description."""
