# Empty dependencies file for dirty_bitmap.
# This may be replaced when dependencies are built.
