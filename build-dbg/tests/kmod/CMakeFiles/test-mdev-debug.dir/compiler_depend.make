# Empty custom commands generated dependencies file for test-mdev-debug.
# This may be replaced when dependencies are built.
