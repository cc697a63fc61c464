"""Data quality: Great Expectations suites (`expectations/`) run on frames read from the warehouse, and the
per-run quality summary."""
