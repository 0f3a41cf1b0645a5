"""A local OpenAI-compatible embedding server on all-MiniLM-L6-v2 (int8 ONNX), for the local stack and CPU hosts."""
