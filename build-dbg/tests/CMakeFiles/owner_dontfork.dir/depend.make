# Empty dependencies file for owner_dontfork.
# This may be replaced when dependencies are built.
