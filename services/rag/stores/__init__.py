"""Vector stores behind one interface (`base.VectorStore`): pgvector and OpenSearch."""
