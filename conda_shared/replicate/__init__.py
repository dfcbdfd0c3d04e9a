"""Replicate environments into another installation: plan, build, classify, smoke-test, report."""
