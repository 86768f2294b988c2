"""Reference online learners; ``rtrlbench.agents.registry`` lists them by name."""
