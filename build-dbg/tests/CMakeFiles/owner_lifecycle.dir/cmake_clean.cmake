file(REMOVE_RECURSE
  "CMakeFiles/owner_lifecycle.dir/vm/owner_lifecycle.c.o"
  "CMakeFiles/owner_lifecycle.dir/vm/owner_lifecycle.c.o.d"
  "owner_lifecycle"
  "owner_lifecycle.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/owner_lifecycle.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
