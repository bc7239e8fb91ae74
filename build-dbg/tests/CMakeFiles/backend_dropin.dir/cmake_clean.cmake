file(REMOVE_RECURSE
  "CMakeFiles/backend_dropin.dir/vm/backend_dropin.c.o"
  "CMakeFiles/backend_dropin.dir/vm/backend_dropin.c.o.d"
  "backend_dropin"
  "backend_dropin.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/backend_dropin.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
