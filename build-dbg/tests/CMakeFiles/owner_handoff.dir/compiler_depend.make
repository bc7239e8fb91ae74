# Empty compiler generated dependencies file for owner_handoff.
# This may be replaced when dependencies are built.
