file(REMOVE_RECURSE
  "CMakeFiles/dirty_bitmap.dir/vm/dirty_bitmap.c.o"
  "CMakeFiles/dirty_bitmap.dir/vm/dirty_bitmap.c.o.d"
  "dirty_bitmap"
  "dirty_bitmap.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/dirty_bitmap.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
