"""Qdrant backup, restore and the RAG reindex fallback (seed 004 scenario 2, weekly backup).

Operations (`ops`, `backup`, `restore`, `reindex`) are plain functions on a `Qdrant` connection;
`backup_runbook` and `restore_runbook` turn them into framework runbooks (steps with rollbacks,
sharing `state.QdrantRun`). Nothing here deletes data before a verified copy of it exists outside
Qdrant.
"""
