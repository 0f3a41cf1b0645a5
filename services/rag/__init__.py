"""Retrieval-augmented generation: parse and chunk documents, embed them through the serve gateway, store and search
the vectors (pgvector or OpenSearch), and build prompts with the chunks found."""
