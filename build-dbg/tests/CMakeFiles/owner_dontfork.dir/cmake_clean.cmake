file(REMOVE_RECURSE
  "CMakeFiles/owner_dontfork.dir/vm/owner_dontfork.c.o"
  "CMakeFiles/owner_dontfork.dir/vm/owner_dontfork.c.o.d"
  "owner_dontfork"
  "owner_dontfork.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/owner_dontfork.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
