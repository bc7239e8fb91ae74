# Empty dependencies file for dirty_races.
# This may be replaced when dependencies are built.
