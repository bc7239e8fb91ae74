# Empty dependencies file for owner_mdev.
# This may be replaced when dependencies are built.
