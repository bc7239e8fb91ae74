file(REMOVE_RECURSE
  "CMakeFiles/owner_exit.dir/vm/owner_exit.c.o"
  "CMakeFiles/owner_exit.dir/vm/owner_exit.c.o.d"
  "owner_exit"
  "owner_exit.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/owner_exit.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
