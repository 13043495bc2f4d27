"""Parsing policy texts into clauses, the award-cap table, chunking, embedding, Chroma + BM25 stores, index builds."""
