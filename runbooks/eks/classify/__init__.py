"""The four classifiers: pure functions from Evidence (and the stack's settings) to a Diagnosis."""
