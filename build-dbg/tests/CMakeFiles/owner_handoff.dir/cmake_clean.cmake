file(REMOVE_RECURSE
  "CMakeFiles/owner_handoff.dir/vm/owner_handoff.c.o"
  "CMakeFiles/owner_handoff.dir/vm/owner_handoff.c.o.d"
  "owner_handoff"
  "owner_handoff.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/owner_handoff.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
