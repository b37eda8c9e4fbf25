"""The `zhengban` command: run, migrate, demo and benchmark the processes."""
