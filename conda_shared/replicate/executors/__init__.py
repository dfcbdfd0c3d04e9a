"""Where `replicate --task RUN INDEX` runs: local subprocesses (Slurm arrays later)."""
