file(REMOVE_RECURSE
  "CMakeFiles/conformance_mdev.dir/vm/conformance_mdev.c.o"
  "CMakeFiles/conformance_mdev.dir/vm/conformance_mdev.c.o.d"
  "conformance_mdev"
  "conformance_mdev.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/conformance_mdev.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
