"""Returns, return error, the scorer and the leaderboard."""
