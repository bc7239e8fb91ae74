# Empty compiler generated dependencies file for held_pages.
# This may be replaced when dependencies are built.
