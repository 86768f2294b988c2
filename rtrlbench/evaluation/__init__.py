"""Scoring a stream of predictions: exact returns, the streaming return-error tracker and the
Gymnasium recorder. Core, below both the run engine and the leaderboard."""
