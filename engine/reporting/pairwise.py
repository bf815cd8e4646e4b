"""The side-by-side votes of a selection: wins, ties and losses, and Bradley-Terry strengths.

The current vote is the latest per (problem, reviewer, pair of generations), read from
``vote_current`` (kept by the schema's trigger); ``tie`` and ``both_bad`` count as ties
(both are listed apart in the tables). With ``--combine adjudicated`` a pair of answers
that has a vote adjudication counts once, as its latest settlement, instead of the
reviewers' votes on it.
"""

from __future__ import annotations

import sqlite3

import numpy as np

from gradebench.engine.reporting import stats
from gradebench.engine.reporting.loading import Table
from gradebench.engine.reporting.model import (
    PairRecord,
    Pairwise,
    Selection,
    Standing,
)
from gradebench.engine.reporting.selection import resolve_contenders
from gradebench.engine.store.report_reads import current_vote_rows


def pairwise_votes(
    conn: sqlite3.Connection, selection: Selection, table: Table, resamples: int
) -> Pairwise:
    contender_ids = None
    if selection.contenders:
        _, chosen = resolve_contenders(conn, selection.contenders)
        contender_ids = [c.id for c in chosen]
    votes = current_vote_rows(
        conn,
        reviewers=selection.reviewers,
        suite=selection.suite,
        problem_ids=selection.problem_ids,
        contender_ids=contender_ids,
        adjudicated=selection.combine == "adjudicated",
    )
    index = {c.id: i for i, c in enumerate(table.contenders)}
    m = len(table.contenders)
    wins = np.zeros((m, m), dtype=np.int64)
    ties = np.zeros((m, m), dtype=np.int64)
    both_bad = np.zeros((m, m), dtype=np.int64)
    pairs: list[tuple[int, int]] = []
    outcomes: list[float] = []
    for a_id, b_id, outcome in votes:
        a, b = index[a_id], index[b_id]
        if outcome == "a":
            wins[a, b] += 1
            outcomes.append(1.0)
        elif outcome == "b":
            wins[b, a] += 1
            outcomes.append(0.0)
        else:
            target = both_bad if outcome == "both_bad" else ties
            target[a, b] += 1
            target[b, a] += 1
            outcomes.append(0.5)
        pairs.append((a, b))
    played = sorted({i for pair in pairs for i in pair}, key=lambda i: table.contenders[i].label)
    records = []
    for x, i in enumerate(played):
        for j in played[x + 1 :]:
            if wins[i, j] + wins[j, i] + ties[i, j] + both_bad[i, j] == 0:
                continue
            records.append(
                PairRecord(
                    first=table.contenders[i].label,
                    second=table.contenders[j].label,
                    first_wins=int(wins[i, j]),
                    second_wins=int(wins[j, i]),
                    ties=int(ties[i, j]),
                    both_bad=int(both_bad[i, j]),
                )
            )
    strengths: dict[int, stats.Rating] = {}
    if len(played) >= 3:
        local = {i: x for x, i in enumerate(played)}
        local_pairs = np.array([(local[a], local[b]) for a, b in pairs], dtype=np.int64)
        ratings = stats.bradley_terry_with_ci(
            local_pairs,
            np.array(outcomes),
            len(played),
            resamples=resamples,
            seed=selection.seed,
        )
        strengths = {played[r.index]: r for r in ratings}
    standings = []
    for i in played:
        rating = strengths.get(i)
        standings.append(
            Standing(
                contender=table.contenders[i].label,
                wins=int(wins[i].sum()),
                ties=int(ties[i].sum() + both_bad[i].sum()),
                losses=int(wins[:, i].sum()),
                strength=rating.strength if rating else None,
                low=rating.low if rating else None,
                high=rating.high if rating else None,
            )
        )
    standings.sort(
        key=lambda s: (-(s.strength or 0.0), -(s.wins + 0.5 * s.ties), s.losses, s.contender)
    )
    return Pairwise(votes=len(votes), pairs=tuple(records), standings=tuple(standings))
