"""Mining the customer master: lifetime value (lifetimes) and behaviour clusters (scikit-learn).

Pure functions on pandas frames; the Dagster assets in `pipelines.assets.mining` read and write the warehouse.
"""
