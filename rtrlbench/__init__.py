"""rtrl-bench: Gymnasium benchmark suite for online recurrent learning.

``import rtrlbench`` registers every task with Gymnasium, so that
``gym.make("TracePatterning-v0")`` works (or, without the import,
``gym.make("rtrlbench:TracePatterning-v0")``).
"""
__version__ = "0.1.0"

from rtrlbench.envs.registration import register_all as _register_all

_register_all()
