"""What the Dagster UI shows at a glance: match statistics, plots and small tables as asset metadata.

Pure functions, values in and `dg.MetadataValue`s out. Plots are PNGs drawn with matplotlib's object API
(no pyplot state) and embedded in markdown as base64, which the UI renders inline.
"""

from __future__ import annotations

import base64
import io
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import dagster as dg
import numpy as np
from matplotlib.figure import Figure

# Cluster sizes above this are drawn as one "N+" bar so a few giant clusters don't flatten the chart.
CLUSTER_SIZE_TAIL = 10
DBT_DOCS_URL = "http://127.0.0.1:8580"


def png_markdown(png: bytes, alt: str) -> dg.MetadataValue:
    """A PNG as markdown the UI shows inline."""
    encoded = base64.b64encode(png).decode("ascii")
    return dg.MetadataValue.md(f"![{alt}](data:image/png;base64,{encoded})")


def _render(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=96, bbox_inches="tight")
    return buffer.getvalue()


def cluster_size_counts(sizes: Iterable[int], tail: int = CLUSTER_SIZE_TAIL) -> dict[str, int]:
    """Customers per cluster size ("1", "2", ..., "10+"), in size order, every size up to the tail shown."""
    counts = Counter(min(int(size), tail) for size in sizes)
    top = max(counts, default=0)
    return {(f"{size}+" if size == tail else str(size)): counts.get(size, 0) for size in range(1, top + 1)}


def cluster_size_plot(sizes: Iterable[int], tail: int = CLUSTER_SIZE_TAIL) -> dg.MetadataValue:
    """Bar chart of records per customer, each bar labelled with its count."""
    counts = cluster_size_counts(sizes, tail)
    figure = Figure(figsize=(6, 3))
    axes = figure.add_subplot()
    bars = axes.bar(list(counts), list(counts.values()), color="#4c72b0")
    axes.bar_label(bars, fontsize=7)
    axes.set_xlabel("source records per customer")
    axes.set_ylabel("customers")
    axes.set_title("Cluster sizes")
    return png_markdown(_render(figure), "cluster sizes")


def match_metadata(
    cluster_sizes: Sequence[int], review_queue_size: int | None = None
) -> dict[str, dg.MetadataValue]:
    """Records in, customers out, merge rate, largest cluster and the cluster-size plot, from the number
    of matched records of each customer."""
    sizes = np.asarray(cluster_sizes, dtype=np.int64)
    records = int(sizes.sum())
    metadata = {
        "records_in": dg.MetadataValue.int(records),
        "customers_out": dg.MetadataValue.int(len(sizes)),
        "merge_rate": dg.MetadataValue.float(round(1 - len(sizes) / records, 4) if records else 0.0),
        "largest_cluster": dg.MetadataValue.int(int(sizes.max(initial=0))),
        "singletons": dg.MetadataValue.int(int((sizes == 1).sum())),
        "cluster_size_plot": cluster_size_plot(sizes.tolist()),
    }
    if review_queue_size is not None:
        metadata["review_queue_size"] = dg.MetadataValue.int(review_queue_size)
    return metadata


def bar_plot(counts: Mapping[str, int], title: str, xlabel: str) -> dg.MetadataValue:
    """Horizontal bars, largest first: segment sizes, quarantined rows per feed and the like."""
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    figure = Figure(figsize=(6, 0.6 + 0.3 * max(len(ordered), 1)))
    axes = figure.add_subplot()
    bars = axes.barh([label for label, _ in ordered], [value for _, value in ordered], color="#55a868")
    axes.bar_label(bars, fontsize=7, padding=2)
    axes.invert_yaxis()
    axes.margins(x=0.12)  # room for the labels
    axes.set_xlabel(xlabel)
    axes.set_title(title)
    return png_markdown(_render(figure), title)


def segment_grid_plot(
    counts: Mapping[tuple[str, str], int],
    rows: Sequence[str],
    columns: Sequence[str],
    title: str = "Customers per segment",
) -> dg.MetadataValue:
    """A heat map of customers per (row, column) cell, e.g. service loyalty x annual spend, each cell
    labelled with its count."""
    grid = [[counts.get((row, column), 0) for column in columns] for row in rows]
    figure = Figure(figsize=(1.6 + 1.3 * len(columns), 0.9 + 0.7 * len(rows)))
    axes = figure.add_subplot()
    image = axes.imshow(grid, cmap="Blues", aspect="auto")
    peak = max((value for line in grid for value in line), default=0)
    for i, line in enumerate(grid):
        for j, value in enumerate(line):
            colour = "white" if peak and value > peak / 2 else "black"
            axes.text(j, i, f"{value:,}", ha="center", va="center", color=colour, fontsize=9)
    axes.set_xticks(range(len(columns)), labels=list(columns))
    axes.set_yticks(range(len(rows)), labels=list(rows))
    axes.set_title(title)
    figure.colorbar(image, ax=axes, shrink=0.8)
    return png_markdown(_render(figure), title)


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> dg.MetadataValue:
    """A small markdown table; numbers right-aligned with thousands separators."""
    lines = [list(rows_) for rows_ in rows]
    numeric = [all(isinstance(line[i], int | float) for line in lines) for i in range(len(header))]
    align = ["---:" if is_number else "---" for is_number in numeric]
    text = [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join(align) + " |",
        *(
            "| " + " | ".join(f"{v:,}" if isinstance(v, int) else str(v) for v in line) + " |"
            for line in lines
        ),
    ]
    return dg.MetadataValue.md("\n".join(text))


def dbt_docs_link(spec: dg.AssetSpec, base_url: str = DBT_DOCS_URL) -> dg.AssetSpec:
    """Link a dbt model's asset to its page in the generated dbt docs (`make docs` serves them)."""
    unique_id = (spec.metadata.get("dagster_dbt/unique_id") if spec.metadata else None) or (
        f"model.crm.{spec.key.path[-1]}"
    )
    if not str(unique_id).startswith("model."):
        return spec
    url = f"{base_url.rstrip('/')}/#!/model/{unique_id}"
    return spec.merge_attributes(metadata={"dbt_docs": dg.MetadataValue.url(url)})
