"""Balanced, compact grid proposals built from whole transformer areas.

A planner asks for K grids (or for one grid member per N households) and gets
a draft plan: every grid a contiguous set of whole transformer areas
(:mod:`gridservice.spatial.units`), workloads as equal as the units allow,
shapes compact, locked grids untouched, station boundaries kept on request and
a households cap met whenever it can be. The draft goes through plan check,
preview and commit like a hand-drawn plan.

How it works
------------
1. **Units.** Transformer areas tile the territory less the locked grids;
   areas whose customers interleave are grouped into one *atom* so that no
   grid gets an exclave (:func:`~gridservice.spatial.units.transformer_areas`).
2. **Workload.** Each unit's workload is a weighted sum of its shares of the
   criteria (``households=1, work_orders=0.3, area=0.1`` by default): every
   criterion is first divided by its total, so weights compare like with like,
   and the workloads add up to 1.
3. **Pieces.** Units that cannot share a grid (different stations with
   ``within_stations``, or parts of the area that do not touch) form
   separate pieces. The K grids are shared out among pieces by the greedy
   rule that minimises Σ k·(W/k − T)² — at least one grid per piece and at
   least ⌈households / cap⌉ under a cap.
4. **Start.** Recursive bisection: the piece is cut by the straight line
   (among 12 directions, turned by the seed) that splits the workload
   k₁ : k₂ with the shortest shared boundary across it, and so on down to
   single grids; detached bits of a grid go to the neighbour they share most
   boundary with.
5. **Local search.** Each round scores, with numpy over all border units at
   once, moving a unit to a neighbouring grid and swapping two units across
   a border: the change in Σ ((L − T)/T)² + λ·Σ (1 − Polsby-Popper) +
   μ·Σ over-cap share (plus a steep penalty beyond a balance tolerance in the
   last phases). The best improving moves touching disjoint grids are
   applied, each only if its old grid stays connected (a breadth-first
   search on that grid). Grid perimeters are updated exactly from shared
   boundary lengths, so no geometry is touched in the loop, and after the
   first round only moves touching a changed grid are scored. λ falls over
   phases: shapes first, then balance.
6. **Kicks.** Iterated local search: a few random border moves, descend
   again, keep the plan if it is better (4 kicks per grid, at most 150).
   Pieces of more than 2,000 units are polished in blocks of neighbouring
   grids (bisection subtrees, then tiles across their borders).

Same seed, same plan: every random choice comes from ``numpy.random.default_rng(seed)``.

Scores (:func:`score_plan`, the same for the current plan and a proposal)
--------------------------------------------------------------------------
- ``balance``: 100 × (1 − CV) of grid workloads, clipped to 0–100; per grid,
  100 × (1 − |L/mean − 1|). CV is the population standard deviation over the
  mean.
- ``compactness``: 100 × mean Polsby-Popper (4πA/P²) of the grids; per grid,
  100 × its Polsby-Popper. A disc scores 100, a square 78.5.
- ``households_per_member``: households over the grid members
  (``grid_staff`` role ``grid_member``) of the grid, and of the plan.

Modules
-------
:mod:`.workload` (weights and shares), :mod:`.partition` (pieces and the
search over them), :mod:`.engine` (bisection, repair and local search on one
piece's arrays), :mod:`.scores` (:func:`score_plan`), :mod:`.proposal`
(:func:`propose_plan`: units in, named grids out).
"""

from gridservice.spatial.propose.partition import Partition, partition_units
from gridservice.spatial.propose.proposal import Proposal, members_per_grid, propose_plan
from gridservice.spatial.propose.scores import PlanScores, score_plan
from gridservice.spatial.propose.workload import DEFAULT_WEIGHTS, parse_weights, workload
from gridservice.spatial.units import UnitSet

__all__ = [
    "DEFAULT_WEIGHTS",
    "Partition",
    "PlanScores",
    "Proposal",
    "UnitSet",
    "members_per_grid",
    "parse_weights",
    "partition_units",
    "propose_plan",
    "score_plan",
    "workload",
]
