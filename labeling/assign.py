"""Who labels what: each task to ``overlap`` different annotators, balanced, with a share of
gold tasks mixed in blind (each queue shuffled, gold tasks unmarked)."""

from __future__ import annotations

import random

from hub.errors import TrustlabError


def assign(
    tasks: list[str],
    annotators: list[str],
    overlap: int,
    gold: list[str],
    gold_share: float,
    seed: int,
) -> dict[str, list[str]]:
    """annotator → their queue of task keys.

    Regular tasks, in a shuffled order, fill ``overlap`` consecutive slots each of a
    round-robin over the annotators (task ``i`` to ``i·k … i·k+k-1`` mod n): every task gets
    ``overlap`` distinct people and the loads differ by at most one. Each annotator then
    gets gold tasks so that about ``gold_share`` of their queue is gold
    (at most the whole gold pool, each gold task once per person).
    """
    people = list(dict.fromkeys(annotators))
    if len(people) != len(annotators):
        raise TrustlabError("name each annotator once")
    if not 1 <= overlap <= len(people):
        raise TrustlabError(
            f"an overlap of {overlap} needs at least {overlap} annotators (have {len(people)})"
        )
    if not 0 <= gold_share < 1:
        raise TrustlabError("--gold-share is a fraction of each queue: at least 0, below 1")
    if gold_share > 0 and not gold:
        raise TrustlabError("a --gold-share needs gold tasks (--gold FILE with known answers)")
    rng = random.Random(seed)
    regular = [t for t in tasks if t not in set(gold)]
    rng.shuffle(regular)
    queues: dict[str, list[str]] = {p: [] for p in people}
    for i, key in enumerate(regular):
        for j in range(overlap):
            queues[people[(i * overlap + j) % len(people)]].append(key)
    for person, queue in queues.items():
        want = round(gold_share * len(queue) / (1 - gold_share)) if gold_share else 0
        if gold_share and want == 0:
            want = 1
        queue.extend(rng.sample(gold, min(want, len(gold))))
        rng.shuffle(queue)
        queues[person] = queue
    return queues
