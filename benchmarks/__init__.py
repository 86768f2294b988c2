"""Benchmarks, by job: :mod:`.speed` (speed and memory measurements), :mod:`.reproductions`
(paper reproductions run as scripts) and :mod:`.experiments` (the sweep experiment definitions
and their figures)."""
