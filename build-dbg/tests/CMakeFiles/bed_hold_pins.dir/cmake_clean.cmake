file(REMOVE_RECURSE
  "CMakeFiles/bed_hold_pins.dir/vm/bed_hold_pins.c.o"
  "CMakeFiles/bed_hold_pins.dir/vm/bed_hold_pins.c.o.d"
  "bed_hold_pins"
  "bed_hold_pins.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/bed_hold_pins.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
