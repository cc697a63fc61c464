"""The matcher: exact evidence, stewards' decisions and Splink's probabilistic links, clustered under
constraints, with lifelong ids."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.matching.evidence import PROBABILITY, STRENGTH, exact_edges, mobile_only_edges, resolve_vins
from pipelines.matching.graph import cluster_exact, edges_frame, merge_probabilistic, text_codes
from pipelines.matching.identity import assign_ids
from pipelines.matching.model import MatchingModel, ScoredState, input_hashes
from pipelines.matching.positions import key_positions, pair_positions
from pipelines.matching.probabilistic import (
    BLOCKING_COLUMNS,
    PAIR_COLUMNS,
    TrainedModel,
    choose_threshold,
    predict,
    splink_input,
    train,
    weight_to_probability,
)
from pipelines.memory import release_freed_memory
from pipelines.tables import Tables, plain_text

# Probabilistic merges may not grow a cluster past this many records (giant-cluster guard).
MAX_PROBABILISTIC_CLUSTER = 200
# Pairs Splink scores between this probability and the chosen threshold go to the stewards' review queue.
REVIEW_FLOOR_PROBABILITY = 0.5
CONFLICT_ID_KINDS = ("resident_id", "uscc")
# The columns of the conformed records that matching reads; the rest (addresses, landlines, ...) stay in the
# warehouse, which at 1M customers keeps about a third of the records' memory out of the matching step.
MATCH_COLUMNS = (
    "source_system",
    "source_record_id",
    "event_date",
    "party_type",
    "identifies_customer",
    "name",
    "name_key",
    "surname",
    "surname_key",
    "name_key_unordered",
    "is_full_name",
    "sex",
    "mobile",
    "email",
    "id_kind",
    "id_number",
    "id_is_valid",
    "vin",
    "vin_last6",
    "plate",
    "city",
)
# Those of them with a few hundred values at most, read as categoricals (`Tables.read`): at 1M customers
# they take 0.1 GB instead of 0.8 GB of the 8.9M records' memory. `match` takes them either way, and its xref
# keeps them (and the customer ids) coded; `Tables` stores categoricals as text.
MATCH_CATEGORICAL = ("source_system", "party_type", "surname", "surname_key", "sex", "id_kind", "city")
KEY = ("source_system", "source_record_id")


@dataclass(frozen=True)
class MatchResult:
    xref: pd.DataFrame
    review_pairs: pd.DataFrame
    id_events: pd.DataFrame
    parameters: pd.DataFrame
    stats: dict
    model: MatchingModel
    state: ScoredState


def record_keys(frame: pd.DataFrame, prefix: str = "") -> pd.Series:
    """`source_system:source_record_id` per row, joined by Arrow (half the time of pandas' `+`)."""
    system, record = (
        pa.array(plain_text(frame[f"{prefix}{column}"])).cast(pa.large_string()) for column in KEY
    )
    keys = pc.binary_join_element_wise(system, record, pa.scalar(":", pa.large_string()))
    return pd.Series(pd.array(keys, dtype="str"), index=frame.index)


def _keys(frame: pd.DataFrame) -> pa.Table:
    """The key columns as Arrow, in text order: a coded system as its categories' rank (null where
    missing), which compares like the text and costs no text made of millions of codes."""
    system = frame["source_system"]
    if isinstance(system.dtype, pd.CategoricalDtype):
        categories = system.cat.categories
        rank = np.empty(len(categories), dtype=np.int16)
        rank[np.argsort(np.asarray(categories, dtype=object), kind="stable")] = np.arange(len(categories))
        codes = system.cat.codes.to_numpy()
        system_key = pa.array(rank[codes], mask=codes < 0)
    else:
        system_key = pa.array(system)
    return pa.table({"system": system_key, "record": pa.array(frame["source_record_id"])})


def in_key_order(frame: pd.DataFrame) -> bool:
    """Whether `frame`'s rows are in (source_system, source_record_id) order, as the warehouse stores them."""
    if len(frame) < 2:
        return True
    keys = _keys(frame)
    system, record = keys["system"], keys["record"]
    same_system = pc.equal(system[:-1], system[1:])
    ordered = pc.or_(
        pc.less(system[:-1], system[1:]), pc.and_(same_system, pc.less_equal(record[:-1], record[1:]))
    )
    return bool(pc.all(ordered, skip_nulls=False).as_py())


def put_in_key_order(frame: pd.DataFrame) -> None:
    """Reorder `frame`'s rows by key in place, one column at a time: the rows are held about once, where
    a sort of the whole frame (or the engine's, at read) holds them twice."""
    order = pc.sort_indices(_keys(frame), sort_keys=[("system", "ascending"), ("record", "ascending")])
    positions = order.to_numpy()
    for column in frame.columns:
        frame[column] = frame[column].array.take(positions)


def read_match_records(tables: Tables) -> pd.DataFrame:
    """The conformed records that identify a customer, with the columns matching uses (the few-valued ones
    as categoricals), in key order, as the matching asset reads them. A full build stores them in key order;
    after an incremental day (rows deleted and inserted) they are put in order here, column by column, and
    the memory of the columns replaced is handed back. Sorting the whole frame or reading it sorted held
    the records twice: the day's matching step at 1M customers peaked at 10.7 GB."""
    records = tables.read(
        "intermediate",
        "int_party_records_conformed",
        where={"identifies_customer": True},
        columns=MATCH_COLUMNS,
        categorical=MATCH_CATEGORICAL,
    )
    if not in_key_order(records):
        put_in_key_order(records)
        release_freed_memory()
    return records


def identifying_records(conformed: pd.DataFrame) -> pd.DataFrame:
    """The records that identify a customer, in key order and numbered from 0: the positions edges use."""
    identifying = conformed["identifies_customer"]
    records = conformed if identifying.all() else conformed[identifying]
    if not in_key_order(records):
        records = records.sort_values(list(KEY), key=plain_text)
    return records.reset_index(drop=True)


def resident_id_codes(records: pd.DataFrame) -> np.ndarray:
    """Each record's valid resident id or credit code as an integer code, -1 where it has none: records
    with two different ones are never joined."""
    return text_codes(
        records["id_number"].where(records["id_is_valid"] & records["id_kind"].isin(CONFLICT_ID_KINDS))
    )


def _positions(pairs: pd.DataFrame, keys: pd.Series) -> pd.DataFrame:
    """Steward pairs (a_/b_ source_system, source_record_id) as record positions; unknown records dropped."""
    if pairs.empty:
        return pd.DataFrame({"left": np.array([], dtype=np.int64), "right": np.array([], dtype=np.int64)})
    left, right = pair_positions(keys, record_keys(pairs, "a_"), record_keys(pairs, "b_"))
    known = (left >= 0) & (right >= 0)
    return pd.DataFrame({"left": left[known], "right": right[known]})


def splink_candidates(records: pd.DataFrame, following: pd.Index) -> pd.DataFrame:
    person = records["party_type"].eq("person") & ~records.index.isin(following)
    identity = (
        records["is_full_name"]
        | records["mobile"].notna()
        | records["email"].notna()
        | records["id_is_valid"]
    )
    return records[person & identity]


def match(
    conformed: pd.DataFrame,
    previous: pd.DataFrame | None = None,
    must_link: pd.DataFrame | None = None,
    cannot_link: pd.DataFrame | None = None,
    threads: int = 2,
    model: MatchingModel | None = None,
    state: ScoredState | None = None,
) -> MatchResult:
    """Match every record that identifies a customer; `previous` maps last run's record_key to customer_id.

    With a `model`, pairs are scored with it (and `state`, scored under the same model, spares the pairs
    of unchanged records); without one, a model is trained on these records first."""
    records = identifying_records(conformed)
    n = len(records)
    keys = record_keys(records)
    vehicle_vin = resolve_vins(records)
    exact, following = exact_edges(records, vehicle_vin)
    empty = pd.DataFrame(
        columns=["a_source_system", "a_source_record_id", "b_source_system", "b_source_record_id"]
    )
    must = _positions(must_link if must_link is not None else empty, keys)
    cannot = _positions(cannot_link if cannot_link is not None else empty, keys)
    exact = pd.concat(
        [
            exact,
            edges_frame(must["left"], must["right"], "manual_must_link", 1.0, STRENGTH["manual_must_link"]),
        ],
        ignore_index=True,
    )
    id_codes = resident_id_codes(records)
    first_labels, _ = cluster_exact(n, exact, id_codes, cannot)
    exact = pd.concat([exact, mobile_only_edges(records, first_labels, following)], ignore_index=True)
    exact_labels, exact_stats = cluster_exact(n, exact, id_codes, cannot)

    candidates = splink_candidates(records, following)
    trained = model is None
    splink_model = train(candidates, threads=threads) if model is None else model.splink
    frame = splink_input(candidates, splink_model.common_names())
    candidate_count = len(candidates)
    del candidates  # 0.8 GB at 1M customers, not needed past here: freed before Splink scores
    hashes = input_hashes(frame)
    frame_keys = keys.take(frame["unique_id"].to_numpy()).reset_index(drop=True)
    same_model = model is not None and state is not None and state.model_version == model.version
    usable = state if same_model else None
    pairs, parameters, scored_now = _score(frame, frame_keys, hashes, splink_model, usable, threads)
    del frame
    undecided = _crossing(pairs, exact_labels)
    if model is None:
        threshold = choose_threshold(undecided["match_weight"].to_numpy())
        model = MatchingModel.trained(splink_model, threshold, candidate_count)
    threshold_weight = model.threshold_match_weight
    threshold_probability = weight_to_probability(threshold_weight)
    linked = undecided[undecided["match_weight"] >= threshold_weight]
    probabilistic = edges_frame(
        linked["unique_id_l"],
        linked["unique_id_r"],
        "probabilistic",
        linked["match_probability"],
        linked["match_weight"],
    )
    labels, merge_stats = merge_probabilistic(
        exact_labels, exact_stats, probabilistic, id_codes, cannot, MAX_PROBABILISTIC_CLUSTER
    )

    reason, probability = _link_reasons(n, labels, [exact, probabilistic])
    exact_count = len(exact)
    del exact
    customer_ids, id_events = assign_ids(keys, labels, previous)
    xref = pd.DataFrame(
        {
            "source_system": records["source_system"],
            "source_record_id": records["source_record_id"],
            "customer_id": customer_ids,
            "match_probability": probability,
            "match_reason": reason,
            "party_type": records["party_type"],
            "vehicle_vin": vehicle_vin,
            "event_date": records["event_date"],
        }
    )
    review = _review_pairs(records, pairs, labels, threshold_probability)
    sizes = pd.Series(labels).value_counts()
    stats = {
        "records_in": n,
        "customers_out": int(len(sizes)),
        "exact_edges": exact_count,
        "splink_candidate_records": candidate_count,
        "splink_scored_pairs": int(len(pairs)),
        "splink_pairs_scored_this_run": scored_now,
        "splink_pairs_reused": int(len(pairs)) - scored_now,
        "model_version": model.version,
        "model_trained_this_run": trained,
        "model_trained_at": model.trained_at,
        "splink_pairs_above_threshold": int(len(linked)),
        "splink_pairs_undecided_by_exact_evidence": int(len(undecided)),
        "threshold_match_weight": round(threshold_weight, 3),
        "threshold_match_probability": round(threshold_probability, 5),
        "largest_cluster": int(sizes.max()) if len(sizes) else 0,
        "review_queue_pairs": int(len(review)),
        **{k: v for k, v in asdict(merge_stats).items() if k != "refused_pairs"},
    }
    new_state = ScoredState(
        model.version,
        pd.DataFrame({"record_key": frame_keys, "input_hash": hashes.to_numpy()}),
        pd.DataFrame(
            {
                "a_record_key": keys.take(pairs["unique_id_l"].to_numpy()).reset_index(drop=True),
                "b_record_key": keys.take(pairs["unique_id_r"].to_numpy()).reset_index(drop=True),
                "match_weight": pairs["match_weight"].to_numpy(),
                "match_probability": pairs["match_probability"].to_numpy(),
            }
        ),
    )
    return MatchResult(xref, review, id_events, parameters, stats, model, new_state)


def _score(
    frame: pd.DataFrame,
    frame_keys: pd.Series,
    hashes: pd.Series,
    model: TrainedModel,
    state: ScoredState | None,
    threads: int,
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Every blocked pair's score, ordered by position: scored now where a side is new or changed since
    `state`, taken from `state` otherwise. Also the model's parameters and how many pairs were scored now."""
    if state is None:
        scored = predict(frame, model, threads=threads)
        return _ordered(scored.pairs), scored.parameters, len(scored.pairs)
    found = key_positions(state.records["record_key"], frame_keys)
    stored = state.records["input_hash"].to_numpy()[found]
    unchanged = (found >= 0) & (stored == hashes.to_numpy())
    changed = frame.loc[~unchanged, "unique_id"]
    # Only records sharing a blocking value with a changed record can pair with it.
    touched = ~unchanged
    for column in BLOCKING_COLUMNS:
        touched |= frame[column].isin(frame.loc[~unchanged, column].dropna()).to_numpy()
    scored = predict(frame[touched], model, threads=threads)
    fresh = scored.pairs
    fresh = fresh[fresh["unique_id_l"].isin(changed) | fresh["unique_id_r"].isin(changed)]
    # The stored pairs of two unchanged records, at those records' positions now.
    unchanged_ids = frame["unique_id"].to_numpy()[unchanged]
    left, right = pair_positions(
        frame_keys[unchanged], state.pairs["a_record_key"], state.pairs["b_record_key"]
    )
    both = (left >= 0) & (right >= 0)
    left, right = unchanged_ids[left[both]], unchanged_ids[right[both]]
    kept = pd.DataFrame(
        {
            "unique_id_l": np.minimum(left, right).astype("int64"),
            "unique_id_r": np.maximum(left, right).astype("int64"),
            "match_weight": state.pairs["match_weight"].to_numpy()[both],
            "match_probability": state.pairs["match_probability"].to_numpy()[both],
        }
    )
    return _ordered(pd.concat([kept, fresh], ignore_index=True)), scored.parameters, len(fresh)


def _ordered(pairs: pd.DataFrame) -> pd.DataFrame:
    """Pairs as (smaller, larger) positions in one order, so clustering sees them the same way every run."""
    return (
        pairs[PAIR_COLUMNS]
        .astype({"unique_id_l": "int64", "unique_id_r": "int64"})
        .sort_values(["unique_id_l", "unique_id_r"])
        .reset_index(drop=True)
    )


def _crossing(pairs: pd.DataFrame, labels: np.ndarray) -> pd.DataFrame:
    """Pairs whose records exact evidence left in different clusters: the ones Splink must decide."""
    return pairs[labels[pairs["unique_id_l"].to_numpy()] != labels[pairs["unique_id_r"].to_numpy()]]


def _link_reasons(n: int, labels: np.ndarray, edges: Sequence[pd.DataFrame]) -> tuple[np.ndarray, np.ndarray]:
    """Per record, the strongest accepted edge that touches it: why it is in its cluster, and how surely.

    Ties in strength and probability go to the first such edge, counting every edge's left end before any
    right end (the order of `edges` concatenated). The ends are ranked one side of one frame at a time, each
    block's best kept where it beats the blocks before it, so only one block's ends are copied at once
    (1M customers: 11M exact edges)."""
    names = pd.Index(
        pd.unique(pd.concat([pd.Series(frame["reason"].unique(), dtype=object) for frame in edges]))
    )
    name_rank = names.map(STRENGTH).fillna(0.0).to_numpy()
    accepted, codes = [], []
    for frame in edges:
        kept = labels[frame["left"].to_numpy()] == labels[frame["right"].to_numpy()]
        frame_codes, reasons = pd.factorize(frame["reason"])
        accepted.append(kept)
        codes.append(names.get_indexer(reasons).astype(np.int16)[frame_codes[kept]])
    best_rank, best_p = np.full(n, -np.inf), np.full(n, -np.inf)
    best_code = np.full(n, -1, dtype=np.int16)
    for side in ("left", "right"):
        for frame, kept, edge_code in zip(edges, accepted, codes, strict=True):
            ends = frame[side].to_numpy()[kept]
            edge_p = frame["probability"].to_numpy()[kept]
            edge_rank = name_rank[edge_code]
            # Each record's ends in this block ordered by strength, then probability, both descending.
            order = np.lexsort((-edge_p, -edge_rank, ends))
            ordered = ends[order]
            first = order[np.r_[True, ordered[1:] != ordered[:-1]]] if len(order) else order
            at = ends[first]
            better = (edge_rank[first] > best_rank[at]) | (
                (edge_rank[first] == best_rank[at]) & (edge_p[first] > best_p[at])
            )
            first, at = first[better], at[better]
            best_rank[at], best_p[at], best_code[at] = edge_rank[first], edge_p[first], edge_code[first]
    linked = best_code >= 0
    reason = np.full(n, "singleton", dtype=object)
    reason[linked] = np.asarray(names, dtype=object)[best_code[linked]]
    return reason, np.where(linked, best_p, 1.0).round(6)


def _review_pairs(
    records: pd.DataFrame, pairs: pd.DataFrame, labels: np.ndarray, threshold_probability: float
) -> pd.DataFrame:
    """Uncertain pairs left apart: Splink probability in the grey band below the threshold."""
    grey = pairs[
        (pairs["match_probability"] >= REVIEW_FLOOR_PROBABILITY)
        & (pairs["match_probability"] < threshold_probability)
    ]
    grey = grey[labels[grey["unique_id_l"].to_numpy()] != labels[grey["unique_id_r"].to_numpy()]]
    left = records.loc[grey["unique_id_l"], ["source_system", "source_record_id"]].reset_index(drop=True)
    right = records.loc[grey["unique_id_r"], ["source_system", "source_record_id"]].reset_index(drop=True)
    return pd.DataFrame(
        {
            "a_source_system": plain_text(left["source_system"]),
            "a_source_record_id": left["source_record_id"],
            "b_source_system": plain_text(right["source_system"]),
            "b_source_record_id": right["source_record_id"],
            "match_probability": grey["match_probability"].to_numpy(),
            "match_weight": grey["match_weight"].to_numpy(),
        }
    )


MATCH_REASONS = (*PROBABILITY, "probabilistic", "singleton")
