file(REMOVE_RECURSE
  "CMakeFiles/owner_races.dir/vm/owner_races.c.o"
  "CMakeFiles/owner_races.dir/vm/owner_races.c.o.d"
  "owner_races"
  "owner_races.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/owner_races.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
