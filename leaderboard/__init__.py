"""The public leaderboard (``rtrlbench leaderboard ...``); scoring a stream is
:mod:`rtrlbench.evaluation`, below it.

* :mod:`.env_identity` - env version and dataset checksum; :mod:`.references` - reference T-BPTT numbers.
* :mod:`.submission` (+ ``submission.schema.json``) - read and check a submission; :mod:`.scoring`,
  :mod:`.stats` - normalised errors and their aggregates; :mod:`.entry_flops` - FLOPs of the suite's learners.
* :mod:`.database` - SQLite store with migrations; :mod:`.submit`, :mod:`.verify`, :mod:`.convert`,
  :mod:`.seed_table` - the commands; :mod:`.tables`, :mod:`.render_markdown`, :mod:`.render_html`,
  :mod:`.leaderboard_plots`, :mod:`.render` - the published table. :mod:`.leaderboard_commands` - the CLI.
"""
