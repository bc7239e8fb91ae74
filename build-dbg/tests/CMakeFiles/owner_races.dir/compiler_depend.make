# Empty compiler generated dependencies file for owner_races.
# This may be replaced when dependencies are built.
