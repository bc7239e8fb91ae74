# Empty dependencies file for owner_lifecycle.
# This may be replaced when dependencies are built.
