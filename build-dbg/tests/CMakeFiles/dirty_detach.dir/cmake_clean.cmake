file(REMOVE_RECURSE
  "CMakeFiles/dirty_detach.dir/vm/dirty_detach.c.o"
  "CMakeFiles/dirty_detach.dir/vm/dirty_detach.c.o.d"
  "dirty_detach"
  "dirty_detach.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/dirty_detach.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
