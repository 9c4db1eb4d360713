"""Runs: one branch, a batch, warm kernels, review of sealed runs and the unit roll-up."""
