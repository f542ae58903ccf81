"""Qdrant backup, restore and the RAG reindex fallback (seed 004 scenario 2, weekly backup).

Operations (`ops`, `backup`, `restore`, `reindex`) are plain functions on a `Qdrant` connection;
`runbooks.qdrant.runbooks` turns them into framework runbooks (steps with rollbacks). Nothing here
deletes data before a verified copy of it exists outside Qdrant.
"""
