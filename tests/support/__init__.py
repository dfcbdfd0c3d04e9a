"""Builders and runners for the tests: a local conda channel, and real conda run offline."""
