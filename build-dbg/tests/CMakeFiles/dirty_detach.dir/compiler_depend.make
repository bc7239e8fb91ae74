# Empty compiler generated dependencies file for dirty_detach.
# This may be replaced when dependencies are built.
