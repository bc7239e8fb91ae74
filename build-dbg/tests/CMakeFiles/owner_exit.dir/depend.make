# Empty dependencies file for owner_exit.
# This may be replaced when dependencies are built.
