"""A local OpenAI-compatible chat server on SmolLM2-135M-Instruct (Q4_1 GGUF on llama.cpp), for the local stack."""
