"""Custom Rasa graph components (see each module for why stock Rasa falls short)."""
