# Empty dependencies file for dirty_handoff.
# This may be replaced when dependencies are built.
