file(REMOVE_RECURSE
  "CMakeFiles/conformance_edu.dir/vm/conformance_edu.c.o"
  "CMakeFiles/conformance_edu.dir/vm/conformance_edu.c.o.d"
  "conformance_edu"
  "conformance_edu.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/conformance_edu.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
