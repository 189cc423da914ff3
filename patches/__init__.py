"""Fixes applied to Rasa's own code at run time: all of them in `patches.rasa36`."""
