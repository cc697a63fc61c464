"""The matching peers the customer master is measured against, on the same conformed records.

(a) ``exact_keys``: union of records sharing a mobile, a valid resident id or credit code, or a full VIN.
(b) ``splink``: Splink on DuckDB with the standard set-up a generic user would write.

``python -m pipelines.peers --warehouse PATH`` writes ``peers.<peer>_xref`` (source_system,
source_record_id, customer_id) for ``python -m pipelines.evaluate --table`` and ``peers.runs`` (size and
wall seconds of each run). Not part of the nightly job.
"""
