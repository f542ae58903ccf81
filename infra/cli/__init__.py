"""invoke task collections. Keep module-level imports light: `invoke --list` must stay fast."""
