"""Notebook widgets that render, play, search, classify and caption scores."""
