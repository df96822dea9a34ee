"""Numbered-text adapter (Zalo, the terminal): typed lines in, messages out."""
