"""Build the search index: chunk, embed, write a Chroma generation, switch."""
