# Empty dependencies file for bed_hold_pins.
# This may be replaced when dependencies are built.
