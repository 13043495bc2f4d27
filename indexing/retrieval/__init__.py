"""Retrievers behind one interface: BM25, dense, and their calibrated fusion to clauses."""
