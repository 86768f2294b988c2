"""Learning to be a Turing machine (Williams & Zipser 1989, §3.4): the controller of a
machine that decides whether a string of parentheses is balanced.

The machine. Tape cells hold ``(``, ``)``, ``X`` (crossed out) or blank; the string sits
between two blanks and the head starts on its first symbol in state R. The controller
maps (state, symbol read) to an action and a next state:

    state  read   action                    next   (meaning)
    R      (      move right                R      scan right for a ')'
    R      X      move right                R
    R      )      write X, move left        L      found a ')': cross it out ...
    R      blank  move left                 C      no ')' left: check for a stray '('
    L      X      move left                 L      ... and look left for its '('
    L      (      write X, move right       R      matched: cross it out, scan right again
    L      blank  halt, reject              -      a ')' with no '(' before it
    C      X      move left                 C
    C      (      halt, reject              -      a '(' with no ')' after it
    C      blank  halt, accept              -      everything matched

(``L`` and ``C`` never read ``)``: every cell left of the head in L and every cell in C
holds ``(`` or ``X``.) After a halt the next tape starts.
"""
from __future__ import annotations

import numba as nb
import numpy as np

from rtrlbench.envs import _rng
from rtrlbench.envs.wz_supervised import SupervisedEnv, SupervisedStream
from rtrlbench.validation import positive_int, probability

OPEN, CLOSE, CROSSED, BLANK = 0, 1, 2, 3
SYMBOLS = "()X_"
R, L, C = 0, 1, 2
#: CONTROLLER[state, symbol] = (write X, move left, halt, accept, next state); -1 = never happens.
CONTROLLER = np.array([
    [[0, 0, 0, 0, R], [1, 1, 0, 0, L], [0, 0, 0, 0, R], [0, 1, 0, 0, C]],
    [[1, 0, 0, 0, R], [-1, -1, -1, -1, -1], [0, 1, 0, 0, L], [0, 0, 1, 0, R]],
    [[0, 0, 1, 0, R], [-1, -1, -1, -1, -1], [0, 1, 0, 0, C], [0, 0, 1, 1, R]],
], dtype=np.int64)
#: Targets: units 0-3 = write X, move left (vs right; none on a halt), halt, accept (on a halt only).
TARGET_NAMES = ("write_x", "move_left", "halt", "accept")
#: Observation: the symbol read (one-hot, 4 lines), then the previous action (4 lines).
OBS_NAMES = ("read_(", "read_)", "read_X", "read_blank", "wrote_x", "moved_left", "moved_right", "halted")


@nb.njit(cache=True)
def machine_step(tape, head, state):
    """Act on ``tape`` in place; return (write, left, halt, accept, new head, new state)."""
    write, left, halt, accept, new_state = CONTROLLER[state, tape[head]]
    if write < 0:
        raise ValueError("the controller read ')' in state L or C, which cannot happen")
    if write == 1:
        tape[head] = CROSSED
    if halt == 0:
        head += -1 if left == 1 else 1
    return write, left, halt, accept, head, new_state


@nb.njit(cache=True)
def run_machine(string):
    """Run the machine on ``string`` (int64 codes of ``(`` and ``)``); return (accepted, steps)."""
    tape = np.full(string.shape[0] + 2, BLANK, dtype=np.int64)
    tape[1:-1] = string
    head, state, steps = 1, R, 0
    while True:
        write, left, halt, accept, head, state = machine_step(tape, head, state)
        steps += 1
        if halt == 1:
            return accept == 1, steps


@nb.njit(cache=True)
def _new_tape(rng, tape, min_len, max_len, balanced_prob):
    """Write a fresh string into ``tape`` (blank-delimited); return its length."""
    if _rng.uniform(rng) < balanced_prob:
        pairs = _rng.randint(rng, max(1, (min_len + 1) // 2), max_len // 2)
        length = 0
        for _ in range(pairs):  # inserting "()" anywhere in a balanced string keeps it balanced
            at = _rng.randint(rng, 0, length)
            for k in range(length - 1, at - 1, -1):
                tape[1 + k + 2] = tape[1 + k]
            tape[1 + at], tape[2 + at] = OPEN, CLOSE
            length += 2
    else:
        length = _rng.randint(rng, min_len, max_len)
        for k in range(length):
            tape[1 + k] = _rng.randint(rng, OPEN, CLOSE)
    tape[0] = BLANK
    tape[length + 1] = BLANK
    return length


@nb.njit(cache=True)
def _generate(rng, clock, tape, min_len, max_len, balanced_prob, inputs, targets, mask):
    # clock: [t, head, state, write, left, halt, accept] (the last four: the previous action)
    t, head, state = clock[0], clock[1], clock[2]
    write, left, halt, accept = clock[3], clock[4], clock[5], clock[6]
    for i in range(inputs.shape[0]):
        if halt == 1:
            _new_tape(rng, tape, min_len, max_len, balanced_prob)
            head, state = 1, R
        inputs[i, tape[head]] = 1.0
        inputs[i, 4] = write
        inputs[i, 5] = left if halt == 0 else 0
        inputs[i, 6] = 1 - left if halt == 0 else 0
        inputs[i, 7] = halt
        if t > 0:
            targets[i, 0], targets[i, 1], targets[i, 2], targets[i, 3] = write, left, halt, accept
            mask[i, 0], mask[i, 1], mask[i, 2], mask[i, 3] = True, halt == 0, True, halt == 1
        write, left, halt, accept, head, state = machine_step(tape, head, state)
        t += 1
    clock[0], clock[1], clock[2] = t, head, state
    clock[3], clock[4], clock[5], clock[6] = write, left, halt, accept


class BalancedParenthesesStream(SupervisedStream):
    obs_dim = len(OBS_NAMES)
    n_targets = len(TARGET_NAMES)

    def __init__(self, min_len: int, max_len: int, balanced_prob: float, seed: int) -> None:
        super().__init__(seed)
        self.min_len, self.max_len, self.balanced_prob = min_len, max_len, balanced_prob
        self._tape = np.full(max_len + 2, BLANK, dtype=np.int64)
        # Start as if a halt had just happened, so that the first row loads a tape.
        self._clock = np.array([0, 1, R, 0, 0, 1, 0], dtype=np.int64)

    def _fill(self, inputs, targets, mask):
        _generate(self._rng, self._clock, self._tape, self.min_len, self.max_len, self.balanced_prob,
                  inputs, targets, mask)


class BalancedParenthesesEnv(SupervisedEnv):
    """Learning to be a Turing machine (Williams & Zipser 1989, §3.4).

    ## Description
    A Turing machine decides, tape after tape, whether a string of ``(`` and ``)`` is
    balanced (the machine is documented in this module's docstring). The network watches
    it run: it sees the symbol under the head and the action the controller took, but
    never the controller's state, and must output the controller's next action. Tapes
    are balanced strings (probability ``balanced_prob``; random insertions of ``()``) or
    uniformly random strings, of length ``min_len..max_len``.

    Rows follow W-Z time: row t shows the symbol read at machine step t and the action
    of step t - 1; its target is the action of step t - 1 (the network's output at t is
    computed from the inputs up to t - 1, so it must predict that action from the
    symbol read at t - 1 and what it remembers of the state).

    ## Observation
    ``Box(0, 1, (8,), float32)``: the symbol read, one-hot over ``(``, ``)``, ``X``,
    blank (lines 0-3), then the previous action: wrote X, moved left, moved right,
    halted (lines 4-7; "halted" also marks the first symbol of a new tape).

    ## Action
    ``Discrete(1)``: ignored (this is a prediction task).

    ## Rewards
    The reward is the cumulant ``c_t`` = the "write X" bit of the action of step t - 1;
    ``info["gamma"]`` is 0. ``info["targets"]`` (float64[4]: write X, move left, halt,
    accept) and ``info["target_mask"]`` (bool[4]) give the full supervised view: "move
    left" has no target on a halt, "accept" only on a halt. ``stream.next_supervised_chunk``
    gives the same rows in bulk.

    ## Episode end
    Never: the stream is continuing (tapes follow each other).

    ## Arguments
    * ``min_len`` (1), ``max_len`` (10): string lengths, 1 <= min_len <= max_len.
    * ``balanced_prob`` (0.5): probability that a tape is a random balanced string.

    ## Version History
    * v0: the controller of Williams & Zipser (1989) §3.4, tapes of 1-10 symbols, half of them balanced.
    """

    def __init__(self, min_len: int = 1, max_len: int = 10, balanced_prob: float = 0.5) -> None:
        positive_int("min_len", min_len)
        positive_int("max_len", max_len)
        if min_len > max_len:
            raise ValueError(f"min_len={min_len} > max_len={max_len}; write the range as min_len <= max_len")
        if max_len < 2 and balanced_prob > 0:
            raise ValueError("balanced strings need max_len >= 2; raise max_len or set balanced_prob=0")
        probability("balanced_prob", balanced_prob)
        super().__init__(BalancedParenthesesStream.obs_dim)
        self.min_len, self.max_len, self.balanced_prob = int(min_len), int(max_len), float(balanced_prob)

    def stream(self, seed: int) -> BalancedParenthesesStream:
        return BalancedParenthesesStream(self.min_len, self.max_len, self.balanced_prob, seed)
