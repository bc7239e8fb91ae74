file(REMOVE_RECURSE
  "CMakeFiles/conformance_map.dir/vm/conformance_map.c.o"
  "CMakeFiles/conformance_map.dir/vm/conformance_map.c.o.d"
  "conformance_map"
  "conformance_map.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/conformance_map.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
