"""Paper reproductions as scripts: trace floors, trace learning at the paper's length, Williams-Zipser §3."""
