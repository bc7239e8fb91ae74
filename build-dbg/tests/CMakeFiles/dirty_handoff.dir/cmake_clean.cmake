file(REMOVE_RECURSE
  "CMakeFiles/dirty_handoff.dir/vm/dirty_handoff.c.o"
  "CMakeFiles/dirty_handoff.dir/vm/dirty_handoff.c.o.d"
  "dirty_handoff"
  "dirty_handoff.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/dirty_handoff.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
