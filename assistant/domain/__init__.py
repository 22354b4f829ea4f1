"""Plain typed models shared by every layer; no I/O."""
