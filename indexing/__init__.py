"""Parsing policy texts into clauses, chunking, embedding, Chroma + BM25 stores, and index builds."""
