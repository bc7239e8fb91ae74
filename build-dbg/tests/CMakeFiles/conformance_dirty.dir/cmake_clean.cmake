file(REMOVE_RECURSE
  "CMakeFiles/conformance_dirty.dir/vm/conformance_dirty.c.o"
  "CMakeFiles/conformance_dirty.dir/vm/conformance_dirty.c.o.d"
  "conformance_dirty"
  "conformance_dirty.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/conformance_dirty.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
