file(REMOVE_RECURSE
  "CMakeFiles/dirty_races.dir/vm/dirty_races.c.o"
  "CMakeFiles/dirty_races.dir/vm/dirty_races.c.o.d"
  "dirty_races"
  "dirty_races.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/dirty_races.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
