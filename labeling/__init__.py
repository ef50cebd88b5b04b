"""Label Studio integration: projects, tasks, quality control, exports as datasets."""
