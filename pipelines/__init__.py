"""Pipeline format and ctx SDK, risk scanner, dry run, review and promotion, Airflow."""
